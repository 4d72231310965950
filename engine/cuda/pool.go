//go:build cuda

package cuda

import (
	"github.com/gazeml/gaze/engine"
)

// The pool op family (engine/kernels_pool.go) on the GPU: max, average and global average pooling.

// The kernels of kernels/pool.cu.
var (
	kMaxPool               = declare("pool", "max_pool")
	kMaxPoolBackward       = declare("pool", "max_pool_backward")
	kAvgPool               = declare("pool", "avg_pool")
	kAvgPoolBackward       = declare("pool", "avg_pool_backward")
	kGlobalAvgPool         = declare("pool", "global_avg_pool")
	kGlobalAvgPoolBackward = declare("pool", "global_avg_pool_backward")
)

// poolFits checks that a pooling's sizes fit the kernels' 32-bit index parameters.
func poolFits(kernel string, g engine.PoolGeom) { fits32(kernel, g.InputLen(), g.OutputLen()) }

func (o *op) pool(g engine.PoolGeom) *op {
	return o.i(g.N).i(g.C).i(g.H).i(g.W).i(g.KH).i(g.KW).i(g.StrideH).i(g.StrideW).i(g.PadH).i(g.PadW).i(g.OutH).i(g.OutW)
}

// MaxPool overwrites y.
func (d *Device) MaxPool(g engine.PoolGeom, x, y engine.Buffer) {
	poolFits("MaxPool", g)
	d.k(kMaxPool).pool(g).p(x).p(y)
	d.go1(d.streamBlocks(g.OutputLen()), 256)
}

// MaxPoolBackward routes dy to the first maximum of each window.
func (d *Device) MaxPoolBackward(g engine.PoolGeom, x, dy, dx engine.Buffer) {
	poolFits("MaxPoolBackward", g)
	d.Fill(dx, 0)
	overlap := g.KH > g.StrideH || g.KW > g.StrideW
	d.k(kMaxPoolBackward).pool(g).p(x).p(dy).p(dx).flag(overlap)
	d.go1(d.streamBlocks(g.OutputLen()), 256)
}

// AvgPool overwrites y.
func (d *Device) AvgPool(g engine.PoolGeom, x, y engine.Buffer) {
	poolFits("AvgPool", g)
	d.k(kAvgPool).pool(g).p(x).p(y)
	d.go1(d.streamBlocks(g.OutputLen()), 256)
}

// AvgPoolBackward overwrites dx.
func (d *Device) AvgPoolBackward(g engine.PoolGeom, dy, dx engine.Buffer) {
	poolFits("AvgPoolBackward", g)
	d.k(kAvgPoolBackward).pool(g).p(dy).p(dx)
	d.go1(d.streamBlocks(g.InputLen()), 256)
}

// GlobalAvgPool: y[n,c] = mean_i x[n,c,i].
func (d *Device) GlobalAvgPool(x, y engine.Buffer, n, c, hw int) {
	fits32("GlobalAvgPool", n*c, hw)
	d.k(kGlobalAvgPool).i(n * c).i(hw).p(x).p(y).f64(1 / float64(hw))
	d.go1(min(n*c, 65535), rowThreads(hw))
}

// GlobalAvgPoolBackward overwrites dx with dy/hw.
func (d *Device) GlobalAvgPoolBackward(dy, dx engine.Buffer, n, c, hw int) {
	d.k(kGlobalAvgPoolBackward).l(n * c * hw).i(hw).p(dy).p(dx)
	d.go1(d.streamBlocks(n*c*hw), 256)
}
