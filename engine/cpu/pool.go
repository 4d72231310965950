package cpu

import (
	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// Pooling works plane by plane: the N·C planes of H×W are independent, so they are spread over
// cores in contiguous runs and every output (or dx plane) is written by exactly one goroutine.

// window returns the clipped input range [lo, hi) of output index o along one axis.
func window(o, stride, pad, k, size int) (lo, hi int) {
	lo = o*stride - pad
	hi = min(lo+k, size)
	return max(lo, 0), hi
}

// poolGrain is the plane grain: enough planes to make ~grainStream input elements.
func poolGrain(g engine.PoolGeom) int { return max(grainStream/max(g.H*g.W, 1), 1) }

// maxIndex returns the plane offset of the first maximum of the window of output (oh, ow), and
// -1 when the window holds no input cell (possible only at the far edge of odd geometries).
// Cells are scanned row by row; a later cell wins only when strictly greater.
func maxIndex(g *engine.PoolGeom, xp []float32, oh, ow int) int {
	h0, h1 := window(oh, g.StrideH, g.PadH, g.KH, g.H)
	w0, w1 := window(ow, g.StrideW, g.PadW, g.KW, g.W)
	if h0 >= h1 || w0 >= w1 {
		return -1
	}
	best := h0*g.W + w0
	m := xp[best]
	for ih := h0; ih < h1; ih++ {
		row := ih * g.W
		for iw := w0; iw < w1; iw++ {
			if v := xp[row+iw]; v > m {
				m, best = v, row+iw
			}
		}
	}
	return best
}

// windowMax returns the maximum of the window of output (oh, ow), or 0 when the window holds no
// input cell. It uses the max builtin, which compiles without branches (a compare-and-branch
// maximum mispredicts about once per element on real data) and propagates NaN. Its value is that
// of the first maximum, which MaxPoolBackward routes to (up to the sign of a zero).
func windowMax(g *engine.PoolGeom, xp []float32, oh, ow int) float32 {
	h0, h1 := window(oh, g.StrideH, g.PadH, g.KH, g.H)
	w0, w1 := window(ow, g.StrideW, g.PadW, g.KW, g.W)
	if h0 >= h1 || w0 >= w1 {
		return 0
	}
	m := xp[h0*g.W+w0]
	for ih := h0; ih < h1; ih++ {
		for _, v := range xp[ih*g.W+w0 : ih*g.W+w1] {
			m = max(m, v)
		}
	}
	return m
}

// MaxPool overwrites y with the window maxima. Padding cells never win; a window with no input
// cell at all yields 0.
func (d *Device) MaxPool(g engine.PoolGeom, x, y engine.Buffer) {
	xs, ys := Data(x), Data(y)
	d.pool(poolMax, g, xs, nil, ys)
}

// poolOp selects the pass a poolArgs runs.
type poolOp int

const (
	poolMax poolOp = iota
	poolMaxBackward
	poolAvg
	poolAvgBackward
)

// poolArgs is the argument block of the pooling kernels, which all work plane by plane: x is
// the input (nil for AvgPoolBackward), dy the output gradient (nil for the forward passes), and
// out the output (y or dx).
type poolArgs struct {
	op         poolOp
	g          engine.PoolGeom
	x, dy, out []float32
}

// pool runs op over the N·C planes.
func (d *Device) pool(op poolOp, g engine.PoolGeom, x, dy, out []float32) {
	launch(d, &d.k.pool, poolArgs{op, g, x, dy, out}, g.N*g.C, poolGrain(g))
}

func (a *poolArgs) run(lo, hi int) {
	g := &a.g
	in, out := g.H*g.W, g.OutH*g.OutW
	switch a.op {
	case poolMax:
		for p := lo; p < hi; p++ {
			xp, yp := a.x[p*in:(p+1)*in], a.out[p*out:(p+1)*out]
			if is2x2(g) {
				maxPool2x2(xp, yp, g.W, g.OutH, g.OutW)
				continue
			}
			for oh := 0; oh < g.OutH; oh++ {
				for ow := 0; ow < g.OutW; ow++ {
					yp[oh*g.OutW+ow] = windowMax(g, xp, oh, ow)
				}
			}
		}
	case poolMaxBackward:
		for p := lo; p < hi; p++ {
			xp, dyp, dxp := a.x[p*in:(p+1)*in], a.dy[p*out:(p+1)*out], a.out[p*in:(p+1)*in]
			if is2x2(g) {
				maxPool2x2Backward(xp, dyp, dxp, g.H, g.W, g.OutH, g.OutW)
				continue
			}
			clear(dxp)
			for oh := 0; oh < g.OutH; oh++ {
				for ow := 0; ow < g.OutW; ow++ {
					if i := maxIndex(g, xp, oh, ow); i >= 0 {
						dxp[i] += dyp[oh*g.OutW+ow]
					}
				}
			}
		}
	case poolAvg:
		inv := 1 / float32(g.KH*g.KW)
		for p := lo; p < hi; p++ {
			xp, yp := a.x[p*in:(p+1)*in], a.out[p*out:(p+1)*out]
			for oh := 0; oh < g.OutH; oh++ {
				h0, h1 := window(oh, g.StrideH, g.PadH, g.KH, g.H)
				for ow := 0; ow < g.OutW; ow++ {
					w0, w1 := window(ow, g.StrideW, g.PadW, g.KW, g.W)
					var s float32
					for ih := h0; ih < h1 && w0 < w1; ih++ {
						for _, v := range xp[ih*g.W+w0 : ih*g.W+w1] {
							s += v
						}
					}
					yp[oh*g.OutW+ow] = s * inv
				}
			}
		}
	case poolAvgBackward:
		inv := 1 / float32(g.KH*g.KW)
		for p := lo; p < hi; p++ {
			dyp, dxp := a.dy[p*out:(p+1)*out], a.out[p*in:(p+1)*in]
			clear(dxp)
			for oh := 0; oh < g.OutH; oh++ {
				h0, h1 := window(oh, g.StrideH, g.PadH, g.KH, g.H)
				for ow := 0; ow < g.OutW; ow++ {
					w0, w1 := window(ow, g.StrideW, g.PadW, g.KW, g.W)
					v := dyp[oh*g.OutW+ow] * inv
					for ih := h0; ih < h1 && w0 < w1; ih++ {
						row := dxp[ih*g.W+w0 : ih*g.W+w1]
						for i := range row {
							row[i] += v
						}
					}
				}
			}
		}
	}
}

// is2x2 reports the common 2×2 stride-2 unpadded pooling with every window inside the plane.
func is2x2(g *engine.PoolGeom) bool {
	return g.KH == 2 && g.KW == 2 && g.StrideH == 2 && g.StrideW == 2 && g.PadH == 0 && g.PadW == 0 && 2*g.OutH <= g.H && 2*g.OutW <= g.W
}

// maxPool2x2Backward routes each dy to the cell maxPool2x2 picked (sgemm.MaxPool2x2Backward: a
// branch-free tournament, the first maximum in row-major order; vectorised on AVX-512).
func maxPool2x2Backward(xp, dyp, dxp []float32, h, w, oh, ow int) {
	sgemm.MaxPool2x2Backward(xp, dyp, dxp, h, w, oh, ow)
}

// maxPool2x2 is windowMax for the common 2×2 stride-2 unpadded case (sgemm.MaxPool2x2).
func maxPool2x2(xp, yp []float32, w, oh, ow int) { sgemm.MaxPool2x2(xp, yp, w, oh, ow) }

// MaxPoolBackward overwrites dx, adding each dy to the input cell MaxPool picked for it (the
// first maximum of its window); overlapping windows accumulate.
func (d *Device) MaxPoolBackward(g engine.PoolGeom, x, dy, dx engine.Buffer) {
	xs, dys, dxs := Data(x), Data(dy), Data(dx)
	d.pool(poolMaxBackward, g, xs, dys, dxs)
}

// AvgPool overwrites y with the window sums divided by KH·KW: padding cells count as zeros.
func (d *Device) AvgPool(g engine.PoolGeom, x, y engine.Buffer) {
	xs, ys := Data(x), Data(y)
	d.pool(poolAvg, g, xs, nil, ys)
}

// AvgPoolBackward overwrites dx: every input cell of a window receives dy/(KH·KW).
func (d *Device) AvgPoolBackward(g engine.PoolGeom, dy, dx engine.Buffer) {
	dys, dxs := Data(dy), Data(dx)
	d.pool(poolAvgBackward, g, nil, dys, dxs)
}

// GlobalAvgPool: y[n,c] = mean_i x[n,c,i], summed in float64.
func (d *Device) GlobalAvgPool(x, y engine.Buffer, n, c, hw int) {
	xs, ys := Data(x), Data(y)
	inv := 1 / float64(hw)
	for p := range ys {
		ys[p] = float32(sum64(xs[p*hw:(p+1)*hw]) * inv)
	}
}

// GlobalAvgPoolBackward overwrites dx[n,c,i] = dy[n,c]/hw.
func (d *Device) GlobalAvgPoolBackward(dy, dx engine.Buffer, n, c, hw int) {
	dys, dxs := Data(dy), Data(dx)
	inv := 1 / float32(hw)
	for p, g := range dys {
		v := g * inv
		row := dxs[p*hw : (p+1)*hw]
		for i := range row {
			row[i] = v
		}
	}
}
