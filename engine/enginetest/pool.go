package enginetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/gazeml/gaze/engine"
)

type poolCase struct {
	name string
	g    engine.PoolGeom
}

// poolSym is a floor-mode pooling window with symmetric padding, so every window lies inside the
// padded input and the "padding counts in the divisor" rule is unambiguous.
func poolSym(n, c, h, w, kh, kw, sh, sw, ph, pw int) poolCase {
	g := engine.PoolGeom{N: n, C: c, H: h, W: w, KH: kh, KW: kw, StrideH: sh, StrideW: sw, PadH: ph, PadW: pw,
		OutH: engine.ConvOutSize(h, kh, sh, ph, ph), OutW: engine.ConvOutSize(w, kw, sw, pw, pw)}
	return poolCase{fmt.Sprintf("N%d_C%d_%dx%d_k%dx%d_s%dx%d_p%dx%d", n, c, h, w, kh, kw, sh, sw, ph, pw), g}
}

var poolCases = []poolCase{
	poolSym(2, 6, 24, 24, 2, 2, 2, 2, 0, 0), // lenet5 pool after conv1
	poolSym(2, 16, 8, 8, 2, 2, 2, 2, 0, 0),  // lenet5 pool after conv2
	poolSym(1, 3, 17, 17, 2, 2, 2, 2, 0, 0), // odd: the last row and column are dropped
	poolSym(2, 4, 16, 16, 3, 3, 2, 2, 1, 1), // resnet-style 3×3 stride 2 pad 1 (overlapping windows)
	poolSym(1, 3, 17, 17, 3, 3, 2, 2, 1, 1), // same on an odd input: windows at both borders are padded
	poolSym(1, 2, 5, 5, 3, 3, 1, 1, 1, 1),   // stride 1: every input in up to nine windows
	poolSym(1, 2, 6, 7, 2, 3, 2, 1, 0, 1),   // rectangular window, different stride and padding per axis
	poolSym(1, 1, 1, 1, 1, 1, 1, 1, 0, 0),   // degenerate
	poolSym(8, 128, 8, 8, 2, 2, 2, 2, 0, 0), // 1024 planes: large enough to be split across blocks and cores
	poolSym(4, 64, 9, 9, 3, 3, 2, 2, 1, 1),
}

// maxPoolInputs: distinct values; a constant input (every window is a tie, so MaxPool must pick
// and MaxPoolBackward must route to the first in-range element); few distinct values (many
// ties); all negative (padding, if it were treated as a zero, would win).
var maxPoolInputs = []string{"random", "constant", "quantized", "negative"}

func (h *harness) poolInput(kind string, n int) []float32 {
	switch kind {
	case "constant":
		return constant(n, 0.625)
	case "quantized":
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(h.rnd.IntN(3))
		}
		return x
	case "negative":
		x := h.randn(n)
		for i := range x {
			x[i] = -1 - float32(math.Abs(float64(x[i])))
		}
		return x
	}
	return h.randn(n)
}

func testPool(t *testing.T, dev engine.Device) {
	for _, c := range poolCases {
		if err := c.g.Validate(); err != nil {
			t.Fatalf("bad test geometry: %v", err)
		}
		for _, in := range maxPoolInputs {
			run(t, "MaxPool/"+c.name+"_"+in, dev, func(h *harness) {
				g := c.g
				x := h.poolInput(in, g.InputLen())
				y := h.nans(g.OutputLen())
				h.dev.MaxPool(g, h.buf(x), y)
				want, _ := refMaxPool(g, f64(x))
				// The maximum is one of the inputs: exact.
				h.close("y", h.get(y), want, nil, tol{0, 0})
			})
			run(t, "MaxPoolBackward/"+c.name+"_"+in, dev, func(h *harness) {
				g := c.g
				x, dy := h.poolInput(in, g.InputLen()), h.randn(g.OutputLen())
				dx := h.nans(g.InputLen())
				h.dev.MaxPoolBackward(g, h.buf(x), h.buf(dy), dx)
				want := refMaxPoolBackward(g, f64(x), f64(dy))
				mag := refMaxPoolBackward(g, f64(x), abs64(f64(dy)))
				// Overlapping windows add up to KH·KW gradients into one cell.
				h.close("dx", h.get(dx), want, mag, tol{0, accumRtol(g.KH * g.KW)})
			})
		}
		run(t, "AvgPool/"+c.name, dev, func(h *harness) {
			g := c.g
			x := h.randn(g.InputLen())
			y := h.nans(g.OutputLen())
			h.dev.AvgPool(g, h.buf(x), y)
			h.close("y", h.get(y), refAvgPool(g, f64(x)), refAvgPool(g, abs64(f64(x))), tol{0, accumRtol(g.KH*g.KW + 1)})
		})
		run(t, "AvgPoolBackward/"+c.name, dev, func(h *harness) {
			g := c.g
			dy := h.randn(g.OutputLen())
			dx := h.nans(g.InputLen())
			h.dev.AvgPoolBackward(g, h.buf(dy), dx)
			h.close("dx", h.get(dx), refAvgPoolBackward(g, f64(dy)), refAvgPoolBackward(g, abs64(f64(dy))), tol{0, accumRtol(g.KH*g.KW + 1)})
		})
	}
	for _, s := range [][3]int{{1, 1, 1}, {3, 5, 1}, {1, 3, 17}, {2, 16, 64}, {1, 2, 1001}, {64, 32, 64}} {
		n, c, hw := s[0], s[1], s[2]
		name := fmt.Sprintf("n%d_c%d_hw%d", n, c, hw)
		run(t, "GlobalAvgPool/"+name, dev, func(h *harness) {
			x := h.randn(n * c * hw)
			y := h.nans(n * c)
			h.dev.GlobalAvgPool(h.buf(x), y, n, c, hw)
			want, mag := make([]float64, n*c), make([]float64, n*c)
			for i := 0; i < n*c; i++ {
				for j := 0; j < hw; j++ {
					want[i] += float64(x[i*hw+j]) / float64(hw)
					mag[i] += abs32(x[i*hw+j]) / float64(hw)
				}
			}
			h.close("y", h.get(y), want, mag, tol{0, accumRtol(hw + 1)})
		})
		run(t, "GlobalAvgPoolBackward/"+name, dev, func(h *harness) {
			dy := h.randn(n * c)
			dx := h.nans(n * c * hw)
			h.dev.GlobalAvgPoolBackward(h.buf(dy), dx, n, c, hw)
			want := make([]float64, n*c*hw)
			for i := range want {
				want[i] = float64(dy[i/hw]) / float64(hw)
			}
			// dy/hw or dy·(1/hw): one or two roundings.
			h.close("dx", h.get(dx), want, nil, tol{0, 2 * u32})
		})
	}
}

// ---- the float64 references (see the package comment) ----

// poolWindows calls f for every output element with the input indices of its window that lie
// inside the input, in row-major window order (the order that defines the "first" maximum).
// It also passes the window's full size KH·KW, the AvgPool divisor (padding counts as zeros).
func poolWindows(g engine.PoolGeom, f func(yi int, xs []int)) {
	xs := make([]int, 0, g.KH*g.KW)
	for nc := 0; nc < g.N*g.C; nc++ {
		for oh := 0; oh < g.OutH; oh++ {
			for ow := 0; ow < g.OutW; ow++ {
				xs = xs[:0]
				for r := 0; r < g.KH; r++ {
					h := oh*g.StrideH - g.PadH + r
					if h < 0 || h >= g.H {
						continue
					}
					for s := 0; s < g.KW; s++ {
						w := ow*g.StrideW - g.PadW + s
						if w < 0 || w >= g.W {
							continue
						}
						xs = append(xs, (nc*g.H+h)*g.W+w)
					}
				}
				f((nc*g.OutH+oh)*g.OutW+ow, xs)
			}
		}
	}
}

// refMaxPool returns y and, for every output, the input index of the first maximum.
func refMaxPool(g engine.PoolGeom, x []float64) (y []float64, arg []int) {
	y = make([]float64, g.OutputLen())
	arg = make([]int, len(y))
	poolWindows(g, func(yi int, xs []int) {
		best := xs[0]
		for _, xi := range xs[1:] {
			if x[xi] > x[best] {
				best = xi
			}
		}
		y[yi], arg[yi] = x[best], best
	})
	return y, arg
}

func refMaxPoolBackward(g engine.PoolGeom, x, dy []float64) []float64 {
	dx := make([]float64, g.InputLen())
	_, arg := refMaxPool(g, x)
	for yi, xi := range arg {
		dx[xi] += dy[yi]
	}
	return dx
}

func refAvgPool(g engine.PoolGeom, x []float64) []float64 {
	y := make([]float64, g.OutputLen())
	div := float64(g.KH * g.KW)
	poolWindows(g, func(yi int, xs []int) {
		for _, xi := range xs {
			y[yi] += x[xi]
		}
		y[yi] /= div
	})
	return y
}

func refAvgPoolBackward(g engine.PoolGeom, dy []float64) []float64 {
	dx := make([]float64, g.InputLen())
	div := float64(g.KH * g.KW)
	poolWindows(g, func(yi int, xs []int) {
		for _, xi := range xs {
			dx[xi] += dy[yi] / div
		}
	})
	return dx
}
