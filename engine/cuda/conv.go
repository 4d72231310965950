//go:build cuda

package cuda

import (
	"fmt"
	"math/bits"

	"github.com/gazeml/gaze/engine"
)

// The conv op family (engine/kernels_conv.go) on the GPU: convolution forward, backward data and
// backward filter.

// The kernels of kernels/conv.cu; the tiled ones by tile (tile.idx), in float32 and, for
// --precision tf32, on the TF32 tensor cores (precision.go).
var (
	convFwdKernels = [5]kernelID{
		declare("conv", "conv_fwd_16x128"),
		declare("conv", "conv_fwd_32x128"),
		declare("conv", "conv_fwd_64x128"),
		declare("conv", "conv_fwd_128x128"),
		declare("conv", "conv_fwd_64x64"),
	}
	convFwd1x1Kernels = [5]kernelID{
		declare("conv", "conv_fwd_1x1_16x128"),
		declare("conv", "conv_fwd_1x1_32x128"),
		declare("conv", "conv_fwd_1x1_64x128"),
		declare("conv", "conv_fwd_1x1_128x128"),
		declare("conv", "conv_fwd_1x1_64x64"),
	}
	convBwdDataKernels = [5]kernelID{
		declare("conv", "conv_bwd_data_16x128"),
		declare("conv", "conv_bwd_data_32x128"),
		declare("conv", "conv_bwd_data_64x128"),
		declare("conv", "conv_bwd_data_128x128"),
		declare("conv", "conv_bwd_data_64x64"),
	}
	convBwdFilterKernels = [5]kernelID{
		declare("conv", "conv_bwd_filter_16x128"),
		declare("conv", "conv_bwd_filter_32x128"),
		declare("conv", "conv_bwd_filter_64x128"),
		declare("conv", "conv_bwd_filter_128x128"),
		declare("conv", "conv_bwd_filter_64x64"),
	}
	convFwdTF32Kernels = [5]kernelID{
		declare("conv", "conv_fwd_tf32_16x128"),
		declare("conv", "conv_fwd_tf32_32x128"),
		declare("conv", "conv_fwd_tf32_64x128"),
		declare("conv", "conv_fwd_tf32_128x128"),
		declare("conv", "conv_fwd_tf32_64x64"),
	}
	convFwd1x1TF32Kernels = [5]kernelID{
		declare("conv", "conv_fwd_1x1_tf32_16x128"),
		declare("conv", "conv_fwd_1x1_tf32_32x128"),
		declare("conv", "conv_fwd_1x1_tf32_64x128"),
		declare("conv", "conv_fwd_1x1_tf32_128x128"),
		declare("conv", "conv_fwd_1x1_tf32_64x64"),
	}
	convBwdDataTF32Kernels = [5]kernelID{
		declare("conv", "conv_bwd_data_tf32_16x128"),
		declare("conv", "conv_bwd_data_tf32_32x128"),
		declare("conv", "conv_bwd_data_tf32_64x128"),
		declare("conv", "conv_bwd_data_tf32_128x128"),
		declare("conv", "conv_bwd_data_tf32_64x64"),
	}
	convBwdFilterTF32Kernels = [5]kernelID{
		declare("conv", "conv_bwd_filter_tf32_16x128"),
		declare("conv", "conv_bwd_filter_tf32_32x128"),
		declare("conv", "conv_bwd_filter_tf32_64x128"),
		declare("conv", "conv_bwd_filter_tf32_128x128"),
		declare("conv", "conv_bwd_filter_tf32_64x64"),
	}
	kConvSplitKReduce    = declare("conv", "conv_splitk_reduce")
	kConvBwdFilterReduce = declare("conv", "conv_bwd_filter_reduce")

	// The kernel variants (variants.go) that are not one of the default tiles: wider tiles for
	// 16 and 32 output channels, 64-column tiles and a K step of 16 for the filter gradient.
	convFwdVariantKernels = map[string][2]kernelID{ // [general, 1×1]
		"16x256": {declare("conv", "conv_fwd_16x256"), declare("conv", "conv_fwd_1x1_16x256")},
		"32x256": {declare("conv", "conv_fwd_32x256"), declare("conv", "conv_fwd_1x1_32x256")},
	}
	convBwdDataVariantKernels = map[string]kernelID{
		"16x256": declare("conv", "conv_bwd_data_16x256"),
		"32x256": declare("conv", "conv_bwd_data_32x256"),
	}
	convBwdFilterVariantKernels = map[string]kernelID{
		"16x64":       declare("conv", "conv_bwd_filter_16x64"),
		"32x64":       declare("conv", "conv_bwd_filter_32x64"),
		"16x128_bk16": declare("conv", "conv_bwd_filter_16x128_bk16"),
		"32x128_bk16": declare("conv", "conv_bwd_filter_32x128_bk16"),
		"64x128_bk16": declare("conv", "conv_bwd_filter_64x128_bk16"),
		"16x64_bk16":  declare("conv", "conv_bwd_filter_16x64_bk16"),
		"32x64_bk16":  declare("conv", "conv_bwd_filter_32x64_bk16"),
		"64x64_bk16":  declare("conv", "conv_bwd_filter_64x64_bk16"),
	}
)

// convTile picks the tile whose height covers the M dimension (output channels for the forward
// pass) with the least waste: ResNet widths 16, 32, 64 each get a tile of exactly that height.
func convTile(m int) tile {
	switch {
	case m <= 16:
		return tile16
	case m <= 32:
		return tile32
	case m <= 64:
		return tile64
	}
	return tile128
}

// convFits checks that a convolution's sizes fit the kernels' 32-bit index parameters.
func convFits(kernel string, g engine.ConvGeom) {
	fits32(kernel, g.InputLen(), g.OutputLen(), g.WeightLen(), g.N*g.OutH*g.OutW*g.K, g.N*g.H*g.W*g.C)
}

// geom appends a convolution's geometry and the FastDiv constants of the divisors its loaders
// use per element (kernels/conv.cu GEOM_PARAMS).
func (o *op) geom(g engine.ConvGeom) *op {
	o.i(g.N).i(g.C).i(g.H).i(g.W).i(g.K).i(g.R).i(g.S).i(g.StrideH).i(g.StrideW).i(g.PadH).i(g.PadW).i(g.OutH).i(g.OutW)
	return o.u64(fastDiv(g.R * g.S)).u64(fastDiv(g.S)).u64(fastDiv(g.StrideH)).u64(fastDiv(g.StrideW)).u64(fastDiv(g.OutH * g.OutW)).u64(fastDiv(g.OutW))
}

// fastDiv packs the constants of kernels/common.cuh's FastDiv for a divisor 1 ≤ d < 2^31:
// shift = ⌈log2 d⌉ in the high word, mul = ⌊2^32·(2^shift − d)/d⌋ + 1 in the low word, so that
// n/d = (umulhi(n, mul) + n) >> shift for 0 ≤ n < 2^31.
func fastDiv(d int) uint64 {
	if d < 1 || d >= 1<<31 {
		panic(fmt.Sprintf("cuda: fastDiv(%d): divisor out of range", d))
	}
	shift := uint(bits.Len32(uint32(d - 1)))
	mul := uint32((uint64(1)<<32)*((uint64(1)<<shift)-uint64(d))/uint64(d) + 1)
	return uint64(shift)<<32 | uint64(mul)
}

// convSplitK decides whether a forward or backward-data convolution, an implicit GEMM of
// `blocks` output tiles with a reduction of length k, runs split-K: only when the tiles alone
// would leave SMs idle (fewer than two per SM), into about three blocks per SM, each split at
// least 64 long. It returns the number of splits and the workspace holding their partial sums
// (0 when not splitting or when the workspace could not be allocated; the error is then sticky).
func (d *Device) convSplitK(blocks, k, m, n int) (splits, chunk int, ws uintptr) {
	if blocks >= 2*d.sms || k < 128 {
		return 1, k, 0
	}
	if splits, chunk = d.splitK(blocks, k, 3, 64, 8); splits < 2 {
		return 1, k, 0
	}
	return splits, chunk, d.need(&d.ws, int64(splits)*int64(m)*int64(n)*4)
}

// ConvForward: y = x ⋆ w as an implicit GEMM (M = K channels, N = output pixels).
func (d *Device) ConvForward(g engine.ConvGeom, x, w, y engine.Buffer) {
	convFits("ConvForward", g)
	oneByOne := g.R == 1 && g.S == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0 && g.OutH == g.H && g.OutW == g.W
	k, t := d.convFwdKernel(g.K, oneByOne)
	npix := g.N * g.OutH * g.OutW
	gx, gy := ceilDiv(npix, t.bn), ceilDiv(g.K, t.bm)
	if oneByOne {
		d.k(k).i(g.N).i(g.C).i(g.H * g.W).i(g.K).p(x).p(w).p(y)
		d.go3(gx, gy, 1, 256)
		return
	}
	crs := g.C * g.R * g.S
	splits, chunk, ws := d.convSplitK(gx*gy, crs, g.K, npix)
	if splits > 1 && ws == 0 {
		return
	}
	d.k(k).geom(g).p(x).p(w).p(y).raw(ws).i(chunk)
	d.go3(gx, gy, splits, 256)
	if splits > 1 {
		d.k(kConvSplitKReduce).i(g.K).i(npix).i(g.OutH * g.OutW).i(splits).raw(ws).p(y).f(0)
		d.go1(d.streamBlocks(g.K*npix), 256)
	}
}

// ConvBackwardData: dx = beta*dx + ∂/∂x, the gather form (M = C channels, N = input pixels).
func (d *Device) ConvBackwardData(g engine.ConvGeom, dy, w, dx engine.Buffer, beta float32) {
	convFits("ConvBackwardData", g)
	k, t := d.convBwdDataKernel(g.C)
	npix := g.N * g.H * g.W
	gx, gy := ceilDiv(npix, t.bn), ceilDiv(g.C, t.bm)
	splits, chunk, ws := d.convSplitK(gx*gy, g.K*g.R*g.S, g.C, npix)
	if splits > 1 && ws == 0 {
		return
	}
	d.k(k).geom(g).p(dy).p(w).p(dx).f(beta).raw(ws).i(chunk)
	d.go3(gx, gy, splits, 256)
	if splits > 1 {
		d.k(kConvSplitKReduce).i(g.C).i(npix).i(g.H * g.W).i(splits).raw(ws).p(dx).f(beta)
		d.go1(d.streamBlocks(g.C*npix), 256)
	}
}

// ConvBackwardFilter: dw += ∂/∂w, split-K over batch×pixels into a workspace, then reduced.
func (d *Device) ConvBackwardFilter(g engine.ConvGeom, x, dy, dw engine.Buffer) {
	convFits("ConvBackwardFilter", g)
	k, t := d.convBwdFilterKernel(g.K)
	crs := g.C * g.R * g.S
	gx, gy := ceilDiv(crs, t.bn), ceilDiv(g.K, t.bm)
	kd := g.N * g.OutH * g.OutW
	splits, chunk := d.splitK(gx*gy, kd, 4, 256, 1024)
	ws := d.need(&d.ws, int64(splits)*int64(g.K)*int64(crs)*4)
	if ws == 0 {
		return
	}
	d.k(k).geom(g).p(x).p(dy).raw(ws).i(chunk)
	d.go3(gx, gy, splits, 256)
	d.k(kConvBwdFilterReduce).i(g.K * crs).i(splits).raw(ws).p(dw)
	d.go1(d.streamBlocks(g.K*crs), 256)
}
