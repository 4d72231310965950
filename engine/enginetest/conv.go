package enginetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/gazeml/gaze/engine"
)

// convAtol absorbs outputs whose terms cancel to almost nothing; accumRtol(terms) against the
// magnitude Σ|x·w| is the real bound (float32 accumulation over C·R·S, K·R·S or N·OutH·OutW
// terms for forward, data and filter gradients).
const convAtol = 1e-6

type convCase struct {
	name string
	g    engine.ConvGeom
}

// convSym is a convolution with the same padding on both sides of each axis (floor mode).
func convSym(n, c, h, w, k, r, s, stride, pad int) convCase {
	g := engine.ConvGeom{N: n, C: c, H: h, W: w, K: k, R: r, S: s,
		StrideH: stride, StrideW: stride, PadH: pad, PadW: pad,
		OutH: engine.ConvOutSize(h, r, stride, pad, pad), OutW: engine.ConvOutSize(w, s, stride, pad, pad)}
	return convCase{fmt.Sprintf("N%d_C%d_%dx%d_K%d_%dx%d_s%d_p%d", n, c, h, w, k, r, s, stride, pad), g}
}

// convSame is TensorFlow's "same" convolution: padding from engine.SamePadding, the odd pixel
// after, so the padding is asymmetric whenever the total is odd.
func convSame(n, c, h, w, k, r, s, stride int) convCase {
	ph, pha := engine.SamePadding(h, r, stride)
	pw, pwa := engine.SamePadding(w, s, stride)
	g := engine.ConvGeom{N: n, C: c, H: h, W: w, K: k, R: r, S: s,
		StrideH: stride, StrideW: stride, PadH: ph, PadW: pw,
		OutH: engine.ConvOutSize(h, r, stride, ph, pha), OutW: engine.ConvOutSize(w, s, stride, pw, pwa)}
	return convCase{fmt.Sprintf("N%d_C%d_%dx%d_K%d_%dx%d_s%d_same_p%d-%d_%d-%d", n, c, h, w, k, r, s, stride, ph, pha, pw, pwa), g}
}

// convCases are the layouts the models use, at small batch sizes, plus odd and degenerate ones.
var convCases = []convCase{
	convSym(2, 1, 28, 28, 6, 5, 5, 1, 0),   // lenet5 conv1: 5×5 valid
	convSym(2, 6, 12, 12, 16, 5, 5, 1, 0),  // lenet5 conv2
	convSym(2, 1, 28, 28, 20, 5, 5, 1, 2),  // lenet-lca conv1: 5×5 same, pad 2
	convSym(2, 20, 14, 14, 40, 5, 5, 1, 2), // lenet-lca conv2
	convSym(2, 16, 8, 8, 16, 3, 3, 1, 1),   // resnet 3×3 stride 1
	convSym(2, 16, 8, 8, 32, 3, 3, 2, 1),   // resnet 3×3 stride 2 (downsampling block)
	convSym(2, 16, 8, 8, 32, 1, 1, 2, 0),   // resnet 1×1 stride-2 projection shortcut
	convSym(3, 5, 17, 17, 4, 3, 3, 2, 1),   // odd sizes; the last input row is used
	convSym(2, 3, 15, 48, 4, 3, 3, 2, 1),   // stride 2 on rows of 48 (the CPU's whole-plane phase split) and an odd height
	convSym(2, 3, 16, 16, 4, 1, 1, 2, 0),   // 1×1 stride 2 on rows of 16: only the even columns
	convSym(2, 3, 16, 16, 8, 3, 3, 1, 1),   // resnet stem on a CIFAR-like (coordconv: 3 = 1+2 coords) input
	convSym(1, 7, 5, 3, 3, 1, 1, 1, 0),     // 1×1 stride 1: a pure GEMM, non-square image
	convSym(1, 1, 1, 1, 1, 1, 1, 1, 0),     // degenerate
	convSym(2, 3, 6, 6, 2, 3, 3, 3, 0),     // stride equal to the kernel: no overlap
	convSym(3, 6, 5, 7, 4, 1, 1, 1, 0),     // 1×1 stride 1 over a batch
	convSym(5, 1, 28, 28, 6, 5, 5, 1, 0),   // lenet5 conv1 at a batch that devices split into several image groups
	convSym(40, 16, 8, 8, 16, 3, 3, 1, 1),  // resnet 3×3 at batch 40: many image groups, split filter-gradient sums
	convSame(2, 4, 8, 8, 6, 3, 3, 2),       // TF "same", 3×3 stride 2: padding 0 before, 1 after
	convSame(1, 3, 7, 10, 2, 4, 3, 2),      // TF "same", rectangular kernel, different padding per axis
	{ // different stride and padding per axis
		"N2_C3_9x6_K5_3x1_s1x2_p1x0",
		engine.ConvGeom{N: 2, C: 3, H: 9, W: 6, K: 5, R: 3, S: 1, StrideH: 1, StrideW: 2, PadH: 1, PadW: 0, OutH: 9, OutW: 3},
	},
	// One input channel, 5-wide filters, rows of 17–32 outputs (the CPU's one-channel kernels,
	// forward and filter gradient): lenet-lca's conv1 at a batch of several image chunks and a
	// short last one, valid on rows of 17, and 3×5 filters with padding 1×2.
	convSym(19, 1, 28, 28, 20, 5, 5, 1, 2),
	convSym(3, 1, 21, 21, 4, 5, 5, 1, 0),
	{
		"N9_C1_11x24_K8_3x5_s1_p1x2",
		engine.ConvGeom{N: 9, C: 1, H: 11, W: 24, K: 8, R: 3, S: 5, StrideH: 1, StrideW: 1, PadH: 1, PadW: 2, OutH: 11, OutW: 24},
	},
}

// transposedCases are transposed convolutions run as ConvBackwardData: a generator's 4×4 → 8×8
// upsampling with stride 2 and "same" padding, for k = 3 (asymmetric padding 0/1) and k = 4.
// The geometry describes the forward conv from the 8×8 image (C channels) down to 4×4 (K
// channels); its data gradient is the transposed conv from K channels at 4×4 up to C at 8×8.
var transposedCases = []convCase{
	transposed(2, 8, 3, 4, 3),
	transposed(2, 8, 3, 4, 4),
	transposed(1, 5, 2, 4, 4),
}

func transposed(n, in, out, size, k int) convCase {
	c := convSame(n, out, 2*size, 2*size, in, k, k, 2)
	c.name = fmt.Sprintf("Transposed_N%d_%dx%dto%dx%d_Cin%d_Cout%d_k%d_s2_same", n, size, size, 2*size, 2*size, in, out, k)
	return c
}

func testConvForward(t *testing.T, dev engine.Device) {
	for _, c := range append(append([]convCase{}, convCases...), transposedCases...) {
		run(t, c.name, dev, func(h *harness) {
			g := c.g
			if err := g.Validate(); err != nil {
				h.t.Fatalf("bad test geometry: %v", err)
			}
			x, w := h.randn(g.InputLen()), h.randn(g.WeightLen())
			y := h.nans(g.OutputLen())
			h.dev.ConvForward(g, h.buf(x), h.buf(w), y)
			want, mag := refConvForward(g, f64(x), f64(w))
			h.close("y", h.get(y), want, mag, h.productTol(convAtol, g.C*g.R*g.S))
		})
	}
}

func testConvBackwardData(t *testing.T, dev engine.Device) {
	for _, c := range append(append([]convCase{}, convCases...), transposedCases...) {
		for _, beta := range []float32{0, 1} {
			run(t, fmt.Sprintf("%s_beta%g", c.name, beta), dev, func(h *harness) {
				g := c.g
				dy, w := h.randn(g.OutputLen()), h.randn(g.WeightLen())
				dx0 := h.randn(g.InputLen())
				if beta == 0 {
					dx0 = constant(g.InputLen(), float32(nan())) // must not be read
				}
				dx := h.buf(dx0)
				h.dev.ConvBackwardData(g, h.buf(dy), h.buf(w), dx, beta)
				want, mag := refConvBackwardData(g, f64(dy), f64(w), f64(dx0), float64(beta))
				h.close("dx", h.get(dx), want, mag, h.productTol(convAtol, g.K*g.R*g.S+1))
			})
		}
	}
}

func testConvBackwardFilter(t *testing.T, dev engine.Device) {
	for _, c := range convCases {
		run(t, c.name, dev, func(h *harness) {
			g := c.g
			x, dy := h.randn(g.InputLen()), h.randn(g.OutputLen())
			dw0 := h.randn(g.WeightLen()) // non-zero: dw accumulates
			dw := h.buf(dw0)
			h.dev.ConvBackwardFilter(g, h.buf(x), h.buf(dy), dw)
			want, mag := refConvBackwardFilter(g, f64(x), f64(dy), f64(dw0))
			h.close("dw", h.get(dw), want, mag, h.productTol(convAtol, g.N*g.OutH*g.OutW+1))
		})
	}
}

// ---- the float64 references (see the package comment) ----

// convTaps calls f for every (input index, weight index, output index) triple of the
// cross-correlation described by g; padding taps are skipped. All three conv references are
// written in terms of it, so they agree on the geometry by construction, and it follows the
// definition literally: y[n,k,oh,ow] = Σ_{c,r,s} x[n,c,oh·sh−ph+r, ow·sw−pw+s]·w[k,c,r,s].
func convTaps(g engine.ConvGeom, f func(xi, wi, yi int)) {
	for n := 0; n < g.N; n++ {
		for k := 0; k < g.K; k++ {
			for oh := 0; oh < g.OutH; oh++ {
				for ow := 0; ow < g.OutW; ow++ {
					yi := ((n*g.K+k)*g.OutH+oh)*g.OutW + ow
					for c := 0; c < g.C; c++ {
						for r := 0; r < g.R; r++ {
							h := oh*g.StrideH - g.PadH + r
							if h < 0 || h >= g.H {
								continue
							}
							for s := 0; s < g.S; s++ {
								w := ow*g.StrideW - g.PadW + s
								if w < 0 || w >= g.W {
									continue
								}
								xi := ((n*g.C+c)*g.H+h)*g.W + w
								wi := ((k*g.C+c)*g.R+r)*g.S + s
								f(xi, wi, yi)
							}
						}
					}
				}
			}
		}
	}
}

func refConvForward(g engine.ConvGeom, x, w []float64) (y, mag []float64) {
	y = make([]float64, g.OutputLen())
	mag = make([]float64, len(y))
	convTaps(g, func(xi, wi, yi int) {
		y[yi] += x[xi] * w[wi]
		mag[yi] += math.Abs(x[xi] * w[wi])
	})
	return y, mag
}

// refConvBackwardData: dx = beta*dx0 + Σ dy·w over every tap that reads x (the adjoint of the
// forward, which is also the forward of the transposed convolution).
func refConvBackwardData(g engine.ConvGeom, dy, w, dx0 []float64, beta float64) (dx, mag []float64) {
	dx = make([]float64, g.InputLen())
	mag = make([]float64, len(dx))
	convTaps(g, func(xi, wi, yi int) {
		dx[xi] += dy[yi] * w[wi]
		mag[xi] += math.Abs(dy[yi] * w[wi])
	})
	if beta != 0 {
		for i := range dx {
			dx[i] += beta * dx0[i]
			mag[i] += math.Abs(beta * dx0[i])
		}
	}
	return dx, mag
}

// refConvBackwardFilter: dw = dw0 + Σ dy·x over every tap that uses w.
func refConvBackwardFilter(g engine.ConvGeom, x, dy, dw0 []float64) (dw, mag []float64) {
	dw = append([]float64(nil), dw0...)
	mag = make([]float64, len(dw))
	for i := range dw0 {
		mag[i] = math.Abs(dw0[i])
	}
	convTaps(g, func(xi, wi, yi int) {
		dw[wi] += dy[yi] * x[xi]
		mag[wi] += math.Abs(dy[yi] * x[xi])
	})
	return dw, mag
}
