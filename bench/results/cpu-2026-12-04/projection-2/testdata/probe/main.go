// Command probe is the throwaway measurement behind this folder's per-cause numbers (kept under
// testdata so that ./... skips it; build it by path). It interleaves variants rep by rep in one
// process, so that on a shared machine they see the same load, and prints medians:
//
//	go run ./bench/results/cpu-2026-12-04/projection-2/testdata/probe [-threads 1] -v d4,d4pf512,f8192,f8192pf512,f32768pf512
//	    the kernels of ../kern (the previous commit's loops, with PREFETCHT0 pf bytes ahead
//	    when pf > 0): dN = dot products N rows per pass, f<tile> = forward with that tile width
//	GOMAXPROCS=1 go run ./…/probe -ab [-oldpf 512]
//	    the previous code's algorithm (8,192-column tiles split by whole tiles, kernels without
//	    prefetch or with -oldpf, P in 4 KB pages) against the cpu device's Gemv on an Alloc'd P;
//	    prints the median of the per-rep ratios new/old
//	PROBE_MAKE=1 go run ./…/probe -huge
//	    the same kernels on P in 4 KB pages and on a copy madvised into huge pages
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gazeml/gaze/bench/results/cpu-2026-12-04/projection-2/testdata/kern"
	"github.com/gazeml/gaze/internal/sgemm"
)

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// split: chunk c gets [lo, hi) with boundaries multiples of q.
func split(n, chunks, q int, f func(lo, hi int)) {
	if chunks == 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	lo := 0
	for c := 0; c < chunks; c++ {
		hi := lo + ((n-lo)/(chunks-c)+q-1)/q*q
		if c == chunks-1 || hi > n {
			hi = n
		}
		if c == chunks-1 {
			f(lo, hi)
			break
		}
		wg.Add(1)
		go func(lo, hi int) { defer wg.Done(); f(lo, hi) }(lo, hi)
		lo = hi
	}
	wg.Wait()
}

func dots(lo, hi, D int, a []float32, g, out []float32, rows, pf int) {
	nv := D &^ 31
	var l4 [64]float32
	var l8 [128]float32
	i := lo
	if rows == 8 {
		for ; i+8 <= hi; i += 8 {
			kern.Dot8(nv, &a[i*D], D, &g[0], &l8)
			for r := range 8 {
				var s float32
				for _, v := range l8[16*r : 16*r+16] {
					s += v
				}
				out[i+r] = s
			}
		}
	}
	for ; i+4 <= hi; i += 4 {
		kern.Dot4(nv, &a[i*D], D, &g[0], &l4, pf)
		for r := range 4 {
			var s float32
			for _, v := range l4[16*r : 16*r+16] {
				s += v
			}
			out[i+r] = s
		}
	}
}

func fwd(lo, hi, d, D int, a, x, y []float32, tile, rows, pf int, acc []float32) {
	for j0 := lo; j0 < hi; j0 += tile {
		w := min(tile, hi-j0) &^ 31
		if w == 0 {
			break
		}
		s := acc[:w]
		clear(s)
		i := 0
		if rows == 8 {
			for ; i+8 <= d; i += 8 {
				c := [8]float32(x[i : i+8])
				kern.Acc8(w, &a[i*D+j0], D, &c, &s[0])
			}
		}
		for ; i+4 <= d; i += 4 {
			c := [4]float32(x[i : i+4])
			kern.Acc4(w, &a[i*D+j0], D, &c, &s[0], pf)
		}
		copy(y[j0:j0+w], s)
	}
}

func main() {
	reps := flag.Int("reps", 20, "")
	threads := flag.Int("threads", 1, "")
	shapes := flag.String("shapes", "44426x300,44426x1000,44426x2000,199210x750", "")
	variants := flag.String("v", "cur,d4,d4pf1024,d8,f8192,f8192pf1024,f8192r8,f16384,f32768,fall", "")
	ab := flag.Bool("ab", false, "")
	huge := flag.Bool("huge", false, "")
	oldpf := flag.Int("oldpf", 0, "")
	flag.Parse()
	if *huge {
		hugeRun(*shapes, *reps)
		return
	}
	if *ab {
		abRun(*shapes, *reps, *oldpf)
		return
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, shs := range strings.Split(*shapes, ",") {
		var D, d int
		fmt.Sscanf(shs, "%dx%d", &D, &d)
		a := make([]float32, D*d)
		for i := range a {
			a[i] = float32(r.NormFloat64())
		}
		x := make([]float32, d)
		g := make([]float32, D)
		y := make([]float32, D)
		out := make([]float32, d)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		for i := range g {
			g[i] = float32(r.NormFloat64())
		}
		T := *threads
		accs := make([][]float32, T)
		for k := range accs {
			accs[k] = make([]float32, D)
		}
		tiles := (D + 8191) / 8192
		var names []string
		var fs []func()
		for _, v := range strings.Split(*variants, ",") {
			v := v
			var f func()
			switch {
			case v == "cur":
				f = func() {
					split(tiles, T, 1, func(lo, hi int) { sgemm.GemvAccCols(lo*8192, min(hi*8192, D), d, D, 1, a, D, x, 1, y) })
				}
				names, fs = append(names, "curfwd"), append(fs, f)
				f = func() { split(d, T, 1, func(lo, hi int) { sgemm.GemvDots(lo, hi, D, 1, a, D, g, 0, out) }) }
				v = "curtr"
			case v[0] == 'd':
				var rows, pf int
				if strings.HasPrefix(v, "d8") {
					rows = 8
				} else {
					rows = 4
				}
				fmt.Sscanf(strings.TrimPrefix(v[2:], "pf"), "%d", &pf)
				q := rows
				f = func() { split(d, T, q, func(lo, hi int) { dots(lo, hi, D, a, g, out, rows, pf) }) }
			case v[0] == 'f':
				tile, rows, pf := 0, 4, 0
				rest := v[1:]
				if strings.HasPrefix(rest, "all") {
					tile = 1 << 30
					rest = rest[3:]
				} else {
					n, _ := fmt.Sscanf(rest, "%d", &tile)
					_ = n
					rest = strings.TrimLeft(rest, "0123456789")
				}
				if strings.HasPrefix(rest, "pf") {
					fmt.Sscanf(rest[2:], "%d", &pf)
				}
				if strings.HasSuffix(rest, "r8") {
					rows = 8
				}
				f = func() {
					split(D, T, 32, func(lo, hi int) {
						k := lo * T / D
						fwd(lo, hi, d, D, a, x, y, tile, rows, pf, accs[k])
					})
				}
			}
			names, fs = append(names, v), append(fs, f)
		}
		ts := make([][]float64, len(fs))
		for _, f := range fs {
			f()
		}
		for range *reps {
			for k, f := range fs {
				t0 := time.Now()
				f()
				ts[k] = append(ts[k], time.Since(t0).Seconds())
			}
		}
		for k := range fs {
			m := median(ts[k])
			fmt.Printf("T%d %6d x %4d %-14s %8.3f ms %6.1f GB/s\n", T, D, d, names[k], m*1e3, 4*float64(D)*float64(d)/m/1e9)
		}
	}
}
