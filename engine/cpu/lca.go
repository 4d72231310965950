package cpu

import "github.com/gazeml/gaze/engine"

// GradDelta is the LCA product with per-segment float64 sums. The products are rounded to
// float32 once (they are what is stored); the sums add the float64 products, so a segment's sum
// does not depend on float32 rounding of its terms.
func (d *Device) GradDelta(g, delta, out engine.Buffer, bounds []int, sums []float64) {
	gs, ds, os := Data(g), Data(delta), Data(out)
	for s := range sums {
		lo, hi := bounds[s], bounds[s+1]
		var acc float64
		for i := lo; i < hi; i++ {
			p := float64(gs[i]) * float64(ds[i])
			acc += p
			os[i] = float32(p)
		}
		sums[s] = acc
	}
	// Elements outside every segment still get their product.
	if len(bounds) == 0 {
		for i := range os {
			os[i] = gs[i] * ds[i]
		}
		return
	}
	for i := 0; i < bounds[0]; i++ {
		os[i] = gs[i] * ds[i]
	}
	for i := bounds[len(bounds)-1]; i < len(os); i++ {
		os[i] = gs[i] * ds[i]
	}
}
