package enginetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/gazeml/gaze/engine"
)

// testGradDelta: the product is one rounding of the exact product (the float64 product of two
// float32 values is exact), so it must match float32(g·δ) exactly; the segment sums must be
// float64 sums of exact products, so their error is float64 rounding only.
func testGradDelta(t *testing.T, dev engine.Device) {
	for _, c := range []struct {
		n      int
		bounds []int
	}{
		{1, []int{0, 1}},
		{17, []int{0, 5, 5, 17}},    // an empty segment
		{1001, []int{3, 500, 1000}}, // elements outside the segments
		{131075, []int{0, 78400, 78500, 83500, 131075}},
		{64, nil},
	} {
		for _, alias := range []bool{false, true} {
			name := fmt.Sprintf("GradDelta/n%d_seg%d", c.n, max(len(c.bounds)-1, 0))
			if alias {
				name += "_inplace"
			}
			run(t, name, dev, func(h *harness) {
				g, d := h.randn(c.n), h.randn(c.n)
				gb, db := h.buf(g), h.buf(d)
				out := gb
				if !alias {
					out = h.nans(c.n)
				}
				sums := make([]float64, max(len(c.bounds)-1, 0))
				for i := range sums {
					sums[i] = math.NaN() // overwritten, not accumulated
				}
				h.dev.GradDelta(gb, db, out, c.bounds, sums)
				want := make([]float32, c.n)
				for i := range want {
					want[i] = float32(float64(g[i]) * float64(d[i]))
				}
				h.exact("out", h.get(out), want)
				for s := range sums {
					var ref, mag float64
					for i := c.bounds[s]; i < c.bounds[s+1]; i++ {
						p := float64(g[i]) * float64(d[i])
						ref += p
						mag += math.Abs(p)
					}
					if math.Abs(sums[s]-ref) > 1e-12*mag+1e-300 {
						h.t.Errorf("segment %d: sum %v, want %v", s, sums[s], ref)
					}
				}
			})
		}
	}
}
