package enginetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/rng"
)

// Element-wise kernels do one or two float32 roundings per element: |err| ≤ u·|result| for one
// correctly rounded operation; Axpy may round the product and the sum separately (or fuse them),
// so it gets 2u against |alpha·x| + |y|.
const (
	oneRounding  = u32
	twoRoundings = 2 * u32
)

// reluInput is N(0,1) with every fifth element exactly zero: Relu's and ReluBackward's boundary.
func (h *harness) reluInput(n int) []float32 {
	x := h.randn(n)
	for i := 0; i < n; i += 5 {
		x[i] = 0
	}
	return x
}

func testRelu(t *testing.T, dev engine.Device) {
	for _, n := range elemSizes {
		for _, alias := range []bool{false, true} {
			suffix := fmt.Sprintf("n%d", n)
			if alias {
				suffix += "_inplace"
			}
			run(t, "Relu/"+suffix, dev, func(h *harness) {
				x := h.reluInput(n)
				xb := h.buf(x)
				y := xb
				if !alias {
					y = h.nans(n)
				}
				h.dev.Relu(xb, y)
				want := make([]float64, n)
				for i, v := range x {
					want[i] = math.Max(float64(v), 0)
				}
				h.close("y", h.get(y), want, nil, tol{0, 0})
			})
			run(t, "ReluBackward/"+suffix, dev, func(h *harness) {
				y := h.reluInput(n)
				for i := range y {
					y[i] = max(y[i], 0) // a Relu output: zeros and positives
				}
				dy := h.randn(n)
				dyb := h.buf(dy)
				dx := dyb
				if !alias {
					dx = h.nans(n)
				}
				h.dev.ReluBackward(h.buf(y), dyb, dx)
				want := make([]float64, n)
				for i := range y {
					if y[i] > 0 {
						want[i] = float64(dy[i])
					}
				}
				h.close("dx", h.get(dx), want, nil, tol{0, 0})
			})
		}
	}
}

func testElementwise(t *testing.T, dev engine.Device) {
	for _, n := range elemSizes {
		sz := fmt.Sprintf("n%d", n)
		run(t, "Fill/"+sz, dev, func(h *harness) {
			x := h.nans(n)
			h.dev.Fill(x, -3.25)
			h.exact("x", h.get(x), constant(n, -3.25))
		})
		run(t, "Copy/"+sz, dev, func(h *harness) {
			src := h.randn(n)
			dst := h.nans(n)
			h.dev.Copy(dst, h.buf(src))
			h.exact("dst", h.get(dst), src)
		})
		run(t, "Axpy/"+sz, dev, func(h *harness) {
			x, y0 := h.randn(n), h.randn(n)
			y := h.buf(y0)
			const alpha = -0.37
			h.dev.Axpy(alpha, h.buf(x), y)
			want, mag := make([]float64, n), make([]float64, n)
			for i := range x {
				ax := float64(float32(alpha)) * float64(x[i])
				want[i] = ax + float64(y0[i])
				mag[i] = math.Abs(ax) + abs32(y0[i])
			}
			h.close("y", h.get(y), want, mag, tol{0, twoRoundings})
		})
		run(t, "Scale/"+sz, dev, func(h *harness) {
			x0 := h.randn(n)
			x := h.buf(x0)
			const alpha = 1.7
			h.dev.Scale(x, alpha)
			want := make([]float64, n)
			for i, v := range x0 {
				want[i] = float64(float32(alpha)) * float64(v)
			}
			h.close("x", h.get(x), want, nil, tol{0, oneRounding})
		})
		for _, op := range []string{"Add", "Mul"} {
			for _, alias := range []string{"", "_out=a", "_out=b"} {
				if alias != "" && n < 17 {
					continue // aliasing on the two larger sizes is enough
				}
				run(t, op+"/"+sz+alias, dev, func(h *harness) {
					a, b := h.randn(n), h.randn(n)
					ab, bb := h.buf(a), h.buf(b)
					out := map[string]engine.Buffer{"": h.nans(n), "_out=a": ab, "_out=b": bb}[alias]
					want := make([]float64, n)
					for i := range a {
						if op == "Add" {
							want[i] = float64(a[i]) + float64(b[i])
						} else {
							want[i] = float64(a[i]) * float64(b[i])
						}
					}
					if op == "Add" {
						h.dev.Add(ab, bb, out)
					} else {
						h.dev.Mul(ab, bb, out)
					}
					h.close("out", h.get(out), want, nil, tol{0, oneRounding})
				})
			}
		}
	}
}

type dropoutCase struct {
	n            int
	p            float32
	seed, offset uint64
	inplace      bool
}

func testDropout(t *testing.T, dev engine.Device) {
	var cases []dropoutCase
	for _, n := range elemSizes {
		cases = append(cases, dropoutCase{n, 0.5, 42, 0, false})
	}
	cases = append(cases,
		dropoutCase{bigLen, 0.1, 7, 12345, false},
		dropoutCase{1001, 0.5, 7, 1<<33 + 3, true},  // offset past 2^32: the counter is 64-bit
		dropoutCase{1001, 0.9, 1<<40 + 9, 77, true}, // seed past 2^32: both key words matter
		dropoutCase{17, 0, 3, 0, false},             // p = 0 keeps everything with mask 1
	)
	for _, c := range cases {
		name := fmt.Sprintf("n%d_p%g_seed%d_offset%d", c.n, c.p, c.seed, c.offset)
		if c.inplace {
			name += "_inplace"
		}
		run(t, name, dev, func(h *harness) {
			x := h.randn(c.n)
			xb := h.buf(x)
			y := xb
			if !c.inplace {
				y = h.nans(c.n)
			}
			mask := h.nans(c.n)
			h.dev.Dropout(xb, mask, y, c.p, c.seed, c.offset)
			// 1/(1−p) computed in float32 (as a kernel would) or in float64 and rounded: they
			// can differ by an ulp for p like 0.1, and both are faithful to the contract.
			keep32 := float32(1) / (float32(1) - c.p)
			keep64 := float32(1 / (1 - float64(c.p)))
			gm, gy := h.get(mask), h.get(y)
			bad := 0
			for i := 0; i < c.n; i++ {
				u := rng.Uniform(c.seed, c.offset+uint64(i))
				ok := gm[i] == 0
				if u >= c.p {
					ok = gm[i] == keep32 || gm[i] == keep64
				}
				wantY := float64(x[i]) * float64(gm[i])
				if !ok || math.Abs(float64(gy[i])-wantY) > oneRounding*math.Abs(wantY) {
					if bad++; bad <= maxReport {
						h.t.Errorf("[%d] u=%v p=%v: mask %v y %v (x %v); want mask %v, y = x·mask",
							i, u, c.p, gm[i], gy[i], x[i], map[bool]float32{true: keep32, false: 0}[u >= c.p])
					}
				}
			}
			if bad > 0 {
				h.t.Errorf("%d of %d elements wrong", bad, c.n)
			}
		})
	}
}

// biasShapes are [n, c, hw]: conv outputs, Linear outputs (hw 1), odd and degenerate shapes.
var biasShapes = [][3]int{{1, 1, 1}, {3, 5, 17}, {2, 6, 24 * 24}, {32, 10, 1}, {2, 3, 1001}, {64, 32, 64}}

func testBiasAdd(t *testing.T, dev engine.Device) {
	for _, s := range biasShapes {
		n, c, hw := s[0], s[1], s[2]
		run(t, fmt.Sprintf("n%d_c%d_hw%d", n, c, hw), dev, func(h *harness) {
			y0, b := h.randn(n*c*hw), h.randn(c)
			y := h.buf(y0)
			h.dev.BiasAdd(y, h.buf(b), n, c, hw)
			want := make([]float64, len(y0))
			bnIndex(n, c, hw, func(ch, i int) { want[i] = float64(y0[i]) + float64(b[ch]) })
			// One float32 addition: correctly rounded, so half an ulp of the result.
			h.close("y", h.get(y), want, nil, tol{0, u32})
		})
	}
}

func testBiasGrad(t *testing.T, dev engine.Device) {
	for _, s := range biasShapes {
		n, c, hw := s[0], s[1], s[2]
		run(t, fmt.Sprintf("n%d_c%d_hw%d", n, c, hw), dev, func(h *harness) {
			dy, db0 := h.randn(n*c*hw), h.randn(c) // db pre-filled: it accumulates
			db := h.buf(db0)
			h.dev.BiasGrad(h.buf(dy), db, n, c, hw)
			want, mag := f64(db0), abs64(f64(db0))
			bnIndex(n, c, hw, func(ch, i int) {
				want[ch] += float64(dy[i])
				mag[ch] += abs32(dy[i])
			})
			h.close("db", h.get(db), want, mag, tol{1e-6, accumRtol(n*hw + 1)})
		})
	}
}
