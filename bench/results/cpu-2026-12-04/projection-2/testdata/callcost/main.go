// Command callcost times cpu.Gemv on the cheapest products that still fan out over two
// goroutines (4 × 8,224), to bound the per-call cost of the fan-out:
//
//	GOMAXPROCS=1 go run ./bench/results/cpu-2026-12-04/projection-2/testdata/callcost
//	GOMAXPROCS=2 go run ./bench/results/cpu-2026-12-04/projection-2/testdata/callcost
package main

import (
	"fmt"
	"sort"
	"time"

	"github.com/gazeml/gaze/engine/cpu"
)

func main() {
	d := cpu.New()
	// The cheapest call that still fans out over two goroutines: work m·n/4 just above 2·4096.
	const m, n = 4, 8224
	a, _ := d.Alloc(m * n)
	x, _ := d.Alloc(n)
	y, _ := d.Alloc(m)
	xt, _ := d.Alloc(m)
	yt, _ := d.Alloc(n)
	var ts, tt []float64
	for range 20000 {
		t0 := time.Now()
		d.Gemv(false, m, n, 1, a, n, x, 0, y)
		t1 := time.Now()
		d.Gemv(true, m, n, 1, a, n, xt, 0, yt)
		t2 := time.Now()
		ts = append(ts, t1.Sub(t0).Seconds()*1e6)
		tt = append(tt, t2.Sub(t1).Seconds()*1e6)
	}
	sort.Float64s(ts)
	sort.Float64s(tt)
	fmt.Printf("dots (4 x 8224): median %.2f us, p10 %.2f; cols: median %.2f us, p10 %.2f\n", ts[len(ts)/2], ts[len(ts)/10], tt[len(tt)/2], tt[len(tt)/10])
}
