package main

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"time"

	"github.com/gazeml/gaze/engine/cpu"
)

// abRun: old algorithm (8192-column tiles split by whole tiles, kernels without prefetch) against
// the cpu device's Gemv, interleaved rep by rep; prints medians, minima and the median of the
// per-rep ratios new/old.
func abRun(shapes string, reps, oldpf int) {
	T := runtime.GOMAXPROCS(0)
	r := rand.New(rand.NewPCG(1, 2))
	dev := cpu.New()
	for _, shs := range strings.Split(shapes, ",") {
		var D, d int
		fmt.Sscanf(shs, "%dx%d", &D, &d)
		a := make([]float32, D*d)
		for i := range a {
			a[i] = float32(r.NormFloat64())
		}
		x, g, y, out := make([]float32, d), make([]float32, D), make([]float32, D), make([]float32, d)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		for i := range g {
			g[i] = float32(r.NormFloat64())
		}
		const tile = 8192
		tiles := (D + tile - 1) / tile
		accs := make([][]float32, T)
		for k := range accs {
			accs[k] = make([]float32, tile)
		}
		oldF := func() {
			split(tiles, T, 1, func(lo, hi int) {
				fwd(lo*tile, min(hi*tile, D), d, D, a, x, y, tile, 4, oldpf, accs[lo*T/tiles])
			})
		}
		oldT := func() { split(d, T, 1, func(lo, hi int) { dots(lo, hi, D, a, g, out, 4, oldpf) }) }
		A, _ := dev.Alloc(D * d)
		copy(cpu.Data(A), a)
		X, Y, G, O := cpu.Wrap(x), cpu.Wrap(y), cpu.Wrap(g), cpu.Wrap(out)
		newF := func() { dev.Gemv(true, d, D, 1, A, D, X, 1, Y) }
		newT := func() { dev.Gemv(false, d, D, 1, A, D, G, 0, O) }
		fs := []func(){oldF, newF, oldT, newT}
		names := []string{"old fwd", "new fwd", "old tr", "new tr"}
		ts := make([][]float64, 4)
		for _, f := range fs {
			f()
		}
		for k := range reps {
			for j, f := range fs {
				jj := j
				if k%2 == 1 { // alternate which of a pair goes first
					jj = j ^ 1
				}
				t0 := time.Now()
				fs[jj]()
				ts[jj] = append(ts[jj], time.Since(t0).Seconds())
				_ = f
			}
		}
		for j := range fs {
			med, mn := median(ts[j]), minOf(ts[j])
			fmt.Printf("T%d %6d x %4d %-8s median %7.3f ms (%5.1f GB/s)  min %7.3f ms (%5.1f GB/s)\n", T, D, d, names[j],
				med*1e3, 4*float64(D)*float64(d)/med/1e9, mn*1e3, 4*float64(D)*float64(d)/mn/1e9)
		}
		for _, p := range [][2]int{{0, 1}, {2, 3}} {
			var rs, ss []float64
			for k := range ts[p[0]] {
				rs = append(rs, ts[p[1]][k]/ts[p[0]][k])
			}
			for k := range ts[0] {
				ss = append(ss, (ts[1][k]+ts[3][k])/(ts[0][k]+ts[2][k]))
			}
			fmt.Printf("T%d %6d x %4d %s new/old: median of per-rep ratios %.3f; step new/old %.3f\n", T, D, d, names[p[0]][4:], median(rs), median(ss))
		}
	}
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}
