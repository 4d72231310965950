// Command hugek times the dot-product kernel (prefetching) on k separate huge-page copies of P
// from the cpu device's Alloc and on one in 4 KB pages, interleaved rep by rep, to see whether
// where a copy's huge pages land makes some copies slower (it did not):
//
//	go run ./bench/results/cpu-2026-12-04/projection-2/testdata/hugek -k 5 -reps 15
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/gazeml/gaze/bench/results/cpu-2026-12-04/projection-2/testdata/kern"
	"github.com/gazeml/gaze/engine/cpu"
)

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func main() {
	K := flag.Int("k", 5, "huge-page copies")
	reps := flag.Int("reps", 15, "")
	D := flag.Int("D", 44426, "")
	d := flag.Int("d", 1000, "")
	flag.Parse()
	r := rand.New(rand.NewPCG(1, 2))
	dev := cpu.New()
	src := make([]float32, *D**d)
	for i := range src {
		src[i] = float32(r.NormFloat64())
	}
	var ps [][]float32
	for range *K {
		b, _ := dev.Alloc(*D * *d)
		copy(cpu.Data(b), src)
		ps = append(ps, cpu.Data(b))
	}
	ps = append(ps, src) // last: 4 KB pages
	g := make([]float32, *D)
	for i := range g {
		g[i] = float32(r.NormFloat64())
	}
	var l [64]float32
	nv := *D &^ 31
	ts := make([][]float64, len(ps))
	for range *reps {
		for k, a := range ps {
			t0 := time.Now()
			for i := 0; i+4 <= *d; i += 4 {
				kern.Dot4(nv, &a[i**D], *D, &g[0], &l, 512)
			}
			ts[k] = append(ts[k], time.Since(t0).Seconds())
		}
	}
	for k := range ps {
		name := fmt.Sprintf("huge copy %d", k)
		if k == len(ps)-1 {
			name = "4 KB pages"
		}
		m := median(ts[k])
		fmt.Printf("%-12s %7.3f ms %5.1f GB/s\n", name, m*1e3, 4*float64(*D)*float64(*d)/m/1e9)
	}
}
