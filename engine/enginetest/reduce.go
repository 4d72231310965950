package enginetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/gazeml/gaze/engine"
)

// reduceSizes add 1000001 to elemSizes: long enough that a float32 accumulator (sequential,
// blocked or pairwise) errs by far more than the tolerance below.
var reduceSizes = append(append([]int{}, elemSizes...), 1000001)

// reduceLim is the tolerance of a float64-accumulated reduction: 1e-9 relative to Σ|term| (a
// float64 sum of 10^6 terms errs by ~1e-13 relative; a float32 one by ~1e-7 on these inputs),
// plus 4u·√(Σterm²), which lets the device form each product or square in float32 before
// adding it in float64 (independent roundings of u·|term| each).
func reduceLim(terms []float64) float64 {
	var sa, s2 float64
	for _, v := range terms {
		sa += math.Abs(v)
		s2 += v * v
	}
	return 1e-9*sa + 4*u32*math.Sqrt(s2)
}

func testReduce(t *testing.T, dev engine.Device) {
	for _, n := range reduceSizes {
		sz := fmt.Sprintf("n%d", n)
		// Inputs 1 + N(0,1): a mean of 1 makes the running sum grow like n, which is where a
		// float32 accumulator loses its low bits.
		input := func(h *harness) []float32 {
			x := h.randn(n)
			for i := range x {
				x[i]++
			}
			return x
		}
		check := func(h *harness, what string, got float64, terms []float64) {
			h.sync()
			var want float64
			for _, v := range terms {
				want += v
			}
			if lim := reduceLim(terms); !(math.Abs(got-want) <= lim) {
				h.t.Errorf("%s = %.17g, want %.17g (|diff| %.3g > tol %.3g)", what, got, want, math.Abs(got-want), lim)
			}
		}
		run(t, "Sum/"+sz, dev, func(h *harness) {
			x := input(h)
			check(h, "Sum", h.dev.Sum(h.buf(x)), f64(x))
		})
		run(t, "SumSquares/"+sz, dev, func(h *harness) {
			x := input(h)
			terms := f64(x)
			for i := range terms {
				terms[i] *= terms[i]
			}
			check(h, "SumSquares", h.dev.SumSquares(h.buf(x)), terms)
		})
		run(t, "Dot/"+sz, dev, func(h *harness) {
			x, y := input(h), input(h)
			terms := f64(x)
			for i := range terms {
				terms[i] *= float64(y[i])
			}
			check(h, "Dot", h.dev.Dot(h.buf(x), h.buf(y)), terms)
		})
	}
}
