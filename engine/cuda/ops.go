//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"math/bits"
	"unsafe"

	"github.com/gazeml/gaze/engine"
)

// ---- GEMM and convolution (kernels/gemm.cu, kernels/conv.cu) ----

// tile is one igemm instantiation: its name suffix and the BM×BN tile it covers.
type tile struct {
	name   string
	bm, bn int
	idx    int
}

var (
	tile16  = tile{"16x128", 16, 128, 0}
	tile32  = tile{"32x128", 32, 128, 1}
	tile64  = tile{"64x128", 64, 128, 2}
	tile128 = tile{"128x128", 128, 128, 3}
	tile64s = tile{"64x64", 64, 64, 4}
	tiles   = []tile{tile16, tile32, tile64, tile128, tile64s}

	// gemmName[2·transA+transB][tile.idx] is the GEMM kernel's name (built once: no string
	// concatenation per launch). The conv names likewise, by tile.
	gemmName    [4][5]string
	convFwdName [5]string
	conv1x1Name [5]string
	convBwdName [5]string
	convWgName  [5]string
)

func init() {
	for _, t := range tiles {
		for i, tr := range []string{"nn", "nt", "tn", "tt"} {
			gemmName[i][t.idx] = "gemm_" + tr + "_" + t.name
		}
		convFwdName[t.idx] = "conv_fwd_" + t.name
		conv1x1Name[t.idx] = "conv1x1_fwd_" + t.name
		convBwdName[t.idx] = "conv_bwd_data_" + t.name
		convWgName[t.idx] = "conv_wgrad_" + t.name
	}
}

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

// gemmTile uses the 128×128 tile when it still gives every SM a block, else smaller ones.
func (d *Device) gemmTile(m, n int) tile {
	if m <= 16 {
		return tile16
	}
	if m <= 32 {
		return tile32
	}
	if ceilDiv(m, 128)*ceilDiv(n, 128) >= d.sms {
		return tile128
	}
	return tile64s
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// splitK divides a reduction of length k over up to maxSplit blocks so that a grid of `blocks`
// tiles gets about perSM blocks per SM, each split at least minLen long (when k allows) and a
// multiple of 8 (the K step).
func (d *Device) splitK(blocks, k, perSM, minLen, maxSplit int) (splits, chunk int) {
	splits = min(max(ceilDiv(perSM*d.sms, blocks), 1), max(k/minLen, 1), maxSplit)
	chunk = ceilDiv(ceilDiv(k, splits), 8) * 8
	return ceilDiv(k, chunk), chunk
}

// Gemm computes C = alpha*op(A)*op(B) + beta*C.
func (d *Device) Gemm(transA, transB bool, m, n, k int, alpha float32, a engine.Buffer, lda int, b engine.Buffer, ldb int, beta float32, c engine.Buffer, ldc int) {
	if err := engine.CheckGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		panic("cuda: " + err.Error())
	}
	if m == 0 || n == 0 {
		return
	}
	fits32("Gemm", m, n, k, lda, ldb, ldc)
	if n == 1 && k > 0 {
		// Matrix-vector products (the dense projection): memory-bound, one pass over A.
		incx := ldb
		if transB {
			incx = 1
		}
		if !transA && k >= 128 {
			d.k("gemv_n").i(m).i(k).f(alpha).p(a).i(lda).p(b).i(incx).f(beta).p(c).i(ldc)
			d.go1(min(m, 65535), 256)
			return
		}
		if transA && m >= 4096 {
			d.k("gemv_t").i(m).i(k).f(alpha).p(a).i(lda).p(b).i(incx).f(beta).p(c).i(ldc)
			d.go1(d.streamBlocks(m), 256)
			return
		}
	}
	t := d.gemmTile(m, n)
	gx, gy := ceilDiv(n, t.bn), ceilDiv(m, t.bm)
	splits, chunk := 1, max(k, 1)
	var ws uintptr
	if gx*gy < d.sms && k >= 2048 {
		splits, chunk = d.splitK(gx*gy, k, 4, 256, 64)
		if splits > 1 {
			if ws = d.need(&d.ws, int64(splits)*int64(m)*int64(n)*4); ws == 0 {
				return
			}
		}
	}
	d.k(gemmName[b2i(transA)*2+b2i(transB)][t.idx]).i(m).i(n).i(k).i(chunk).f(alpha).p(a).i(lda).p(b).i(ldb).f(beta).p(c).i(ldc).raw(ws)
	d.go3(gx, gy, splits, 256)
	if splits > 1 {
		d.k("gemm_splitk_reduce").i(m).i(n).i(splits).raw(ws).f(alpha).f(beta).p(c).i(ldc)
		d.go1(d.streamBlocks(m*n), 256)
	}
}

func convCheck(kernel string, g engine.ConvGeom, x, w, y engine.Buffer, xl, wl, yl int) {
	if err := g.Validate(); err != nil {
		panic(fmt.Sprintf("cuda: %s: %v", kernel, err))
	}
	needLen(kernel, "input", x, xl)
	needLen(kernel, "weights", w, wl)
	needLen(kernel, "output", y, yl)
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
	convCheck("ConvForward", g, x, w, y, g.InputLen(), g.WeightLen(), g.OutputLen())
	t := convTile(g.K)
	npix := g.N * g.OutH * g.OutW
	gx, gy := ceilDiv(npix, t.bn), ceilDiv(g.K, t.bm)
	if g.R == 1 && g.S == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0 && g.OutH == g.H && g.OutW == g.W {
		d.k(conv1x1Name[t.idx]).i(g.N).i(g.C).i(g.H * g.W).i(g.K).p(x).p(w).p(y)
		d.go3(gx, gy, 1, 256)
		return
	}
	crs := g.C * g.R * g.S
	splits, chunk, ws := d.convSplitK(gx*gy, crs, g.K, npix)
	if splits > 1 && ws == 0 {
		return
	}
	d.k(convFwdName[t.idx]).geom(g).p(x).p(w).p(y).raw(ws).i(chunk)
	d.go3(gx, gy, splits, 256)
	if splits > 1 {
		d.k("conv_splitk_reduce").i(g.K).i(npix).i(g.OutH * g.OutW).i(splits).raw(ws).p(y).f(0)
		d.go1(d.streamBlocks(g.K*npix), 256)
	}
}

// ConvBackwardData: dx = beta*dx + ∂/∂x, the gather form (M = C channels, N = input pixels).
func (d *Device) ConvBackwardData(g engine.ConvGeom, dy, w, dx engine.Buffer, beta float32) {
	convCheck("ConvBackwardData", g, dx, w, dy, g.InputLen(), g.WeightLen(), g.OutputLen())
	t := convTile(g.C)
	npix := g.N * g.H * g.W
	gx, gy := ceilDiv(npix, t.bn), ceilDiv(g.C, t.bm)
	splits, chunk, ws := d.convSplitK(gx*gy, g.K*g.R*g.S, g.C, npix)
	if splits > 1 && ws == 0 {
		return
	}
	d.k(convBwdName[t.idx]).geom(g).p(dy).p(w).p(dx).f(beta).raw(ws).i(chunk)
	d.go3(gx, gy, splits, 256)
	if splits > 1 {
		d.k("conv_splitk_reduce").i(g.C).i(npix).i(g.H * g.W).i(splits).raw(ws).p(dx).f(beta)
		d.go1(d.streamBlocks(g.C*npix), 256)
	}
}

// ConvBackwardFilter: dw += ∂/∂w, split-K over batch×pixels into a workspace, then reduced.
func (d *Device) ConvBackwardFilter(g engine.ConvGeom, x, dy, dw engine.Buffer) {
	convCheck("ConvBackwardFilter", g, x, dw, dy, g.InputLen(), g.WeightLen(), g.OutputLen())
	t := convTile(g.K)
	crs := g.C * g.R * g.S
	gx, gy := ceilDiv(crs, t.bn), ceilDiv(g.K, t.bm)
	kd := g.N * g.OutH * g.OutW
	splits, chunk := d.splitK(gx*gy, kd, 4, 256, 1024)
	ws := d.need(&d.ws, int64(splits)*int64(g.K)*int64(crs)*4)
	if ws == 0 {
		return
	}
	d.k(convWgName[t.idx]).geom(g).p(x).p(dy).raw(ws).i(chunk)
	d.go3(gx, gy, splits, 256)
	d.k("conv_wgrad_reduce").i(g.K * crs).i(splits).raw(ws).p(dw)
	d.go1(d.streamBlocks(g.K*crs), 256)
}

// BiasAdd: y[n,c,i] += b[c].
func (d *Device) BiasAdd(y, b engine.Buffer, n, c, hw int) {
	needLen("BiasAdd", "y", y, n*c*hw)
	needLen("BiasAdd", "b", b, c)
	d.k("bias_add").l(n * c * hw).i(c).i(hw).p(y).p(b)
	d.go1(d.streamBlocks(n*c*hw), 256)
}

// BiasGrad: db[c] += Σ dy[n,c,i] (float64), one block per channel.
func (d *Device) BiasGrad(dy, db engine.Buffer, n, c, hw int) {
	needLen("BiasGrad", "dy", dy, n*c*hw)
	needLen("BiasGrad", "db", db, c)
	fits32("BiasGrad", n, c, hw)
	d.k("bias_grad").i(n).i(c).i(hw).p(dy).p(db)
	d.go1(c, 256)
}

// ---- batch norm (kernels/norm.cu) ----

// bnSplits spreads each channel over enough blocks to give every SM about four.
func (d *Device) bnSplits(n, c int) int { return min(max(ceilDiv(4*d.sms, c), 1), n, 65535) }

func bnCheck(kernel string, n, c, hw int, x, y engine.Buffer, per ...engine.Buffer) {
	if n < 1 || c < 1 || hw < 1 {
		panic(fmt.Sprintf("cuda: %s: n=%d c=%d hw=%d, want all ≥ 1", kernel, n, c, hw))
	}
	needLen(kernel, "x", x, n*c*hw)
	needLen(kernel, "y", y, n*c*hw)
	for _, p := range per {
		needLen(kernel, "a per-channel buffer", p, c)
	}
	fits32(kernel, n*c*hw)
}

// BatchNormTrain normalises with batch statistics (two-pass float64 variance).
func (d *Device) BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar engine.Buffer, n, c, hw int, momentum, eps float32) {
	if momentum != 0 {
		bnCheck("BatchNormTrain", n, c, hw, x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar)
	} else {
		bnCheck("BatchNormTrain", n, c, hw, x, y, gamma, beta, saveMean, saveInvStd)
		runMean, runVar = nil, nil
	}
	sp := d.bnSplits(n, c)
	part := d.need(&d.part, int64(2*c*sp)*8)
	if part == 0 {
		return
	}
	psq := part + uintptr(c*sp)*8
	d.k("bn_sum").i(n).i(c).i(hw).i(sp).p(x).raw(part)
	d.go3(c, sp, 1, 256)
	d.k("bn_sqdev").i(n).i(c).i(hw).i(sp).p(x).raw(part).raw(psq)
	d.go3(c, sp, 1, 256)
	d.k("bn_apply_train").i(n).i(c).i(hw).i(sp).p(x).p(y).p(gamma).p(beta).p(saveMean).p(saveInvStd).p(runMean).p(runVar).f(momentum).f(eps).raw(part).raw(psq)
	d.go3(c, sp, 1, 256)
}

// BatchNormInfer normalises with the running statistics.
func (d *Device) BatchNormInfer(x, y, gamma, beta, runMean, runVar, saveMean, saveInvStd engine.Buffer, n, c, hw int, eps float32) {
	bnCheck("BatchNormInfer", n, c, hw, x, y, gamma, beta, runMean, runVar, saveMean, saveInvStd)
	d.k("bn_apply_infer").l(n * c * hw).i(c).i(hw).p(x).p(y).p(gamma).p(beta).p(runMean).p(runVar).p(saveMean).p(saveInvStd).f(eps)
	d.go1(d.streamBlocks(n*c*hw), 256)
}

// BatchNormBackward overwrites dx and accumulates dgamma, dbeta.
func (d *Device) BatchNormBackward(x, dy, dx, gamma, saveMean, saveInvStd, dgamma, dbeta engine.Buffer, n, c, hw int, batchStats bool) {
	bnCheck("BatchNormBackward", n, c, hw, x, dy, gamma, saveMean, saveInvStd, dgamma, dbeta)
	needLen("BatchNormBackward", "dx", dx, n*c*hw)
	sp := d.bnSplits(n, c)
	part := d.need(&d.part, int64(2*c*sp)*8)
	if part == 0 {
		return
	}
	d.k("bn_back_sums").i(n).i(c).i(hw).i(sp).p(x).p(dy).p(saveMean).raw(part)
	d.go3(c, sp, 1, 256)
	d.k("bn_back_apply").i(n).i(c).i(hw).i(sp).p(x).p(dy).p(dx).p(gamma).p(saveMean).p(saveInvStd).p(dgamma).p(dbeta).flag(batchStats).raw(part)
	d.go3(c, sp, 1, 256)
}

// ---- element-wise (kernels/elementwise.cu) ----

// Relu: y = max(x, 0).
func (d *Device) Relu(x, y engine.Buffer) {
	n := sameLen("Relu", x, y)
	d.k("relu").l(n).p(x).p(y)
	d.go1(d.streamBlocks(n), 256)
}

// ReluBackward: dx = dy where y > 0.
func (d *Device) ReluBackward(y, dy, dx engine.Buffer) {
	n := sameLen("ReluBackward", y, dy, dx)
	d.k("relu_backward").l(n).p(y).p(dy).p(dx)
	d.go1(d.streamBlocks(n), 256)
}

// Fill sets every element to v (a 32-bit memset of v's bits).
func (d *Device) Fill(x engine.Buffer, v float32) {
	xb := d.buf("Fill", x)
	d.memsetBytes(xb.ptr, math.Float32bits(v), int64(xb.n)*4)
}

// Copy copies src into dst.
func (d *Device) Copy(dst, src engine.Buffer) {
	n := sameLen("Copy", dst, src)
	if n == 0 {
		return
	}
	db, sb := d.buf("Copy", dst), d.buf("Copy", src)
	if db.ptr == sb.ptr {
		return
	}
	d.send(&op{kind: opCopy, dst: db.ptr, src: sb.ptr, bytes: int64(n) * 4})
}

// Axpy: y += alpha*x.
func (d *Device) Axpy(alpha float32, x, y engine.Buffer) {
	n := sameLen("Axpy", x, y)
	d.k("axpy").l(n).f(alpha).p(x).p(y)
	d.go1(d.streamBlocks(n), 256)
}

// Scale: x *= alpha.
func (d *Device) Scale(x engine.Buffer, alpha float32) {
	n := blen(x)
	d.k("scale").l(n).p(x).f(alpha)
	d.go1(d.streamBlocks(n), 256)
}

// Add: out = a + b.
func (d *Device) Add(a, b, out engine.Buffer) {
	n := sameLen("Add", a, b, out)
	d.k("add").l(n).p(a).p(b).p(out)
	d.go1(d.streamBlocks(n), 256)
}

// Mul: out = a * b.
func (d *Device) Mul(a, b, out engine.Buffer) {
	n := sameLen("Mul", a, b, out)
	d.k("mul").l(n).p(a).p(b).p(out)
	d.go1(d.streamBlocks(n), 256)
}

// Dropout: the Philox masks of the CPU device, bit for bit.
func (d *Device) Dropout(x, mask, y engine.Buffer, p float32, seed, offset uint64) {
	n := sameLen("Dropout", x, mask, y)
	keep := float32(0)
	if p < 1 {
		keep = 1 / (1 - p)
	}
	d.k("dropout").l(n).p(x).p(mask).p(y).f(p).f(keep).u64(seed).u64(offset)
	d.go1(d.streamBlocks(n), 256)
}

// ---- reductions (kernels/reduce.cu) ----

// reduce runs Σx (mode 0), Σx² (1) or Σx·y (2) and returns the float64 result; a sync point.
func (d *Device) reduce(mode int, x, y engine.Buffer, n int) float64 {
	if n == 0 {
		return 0
	}
	nb := min(ceilDiv(n, 256), 1024)
	part := d.need(&d.part, int64(nb+1)*8)
	if part == 0 {
		return math.NaN()
	}
	d.k("reduce_partial").l(n).i(mode).p(x).p(y).raw(part)
	d.go1(nb, 256)
	out := part + uintptr(nb)*8
	d.k("reduce_final").i(nb).raw(part).raw(out)
	d.go1(1, 256)
	var v [1]float64
	r := d.call(op{kind: opDtoH, src: out, host: unsafe.Pointer(&v[0]), bytes: 8})
	if r.err != nil {
		return math.NaN()
	}
	return v[0]
}

// Sum returns Σ x in float64.
func (d *Device) Sum(x engine.Buffer) float64 { return d.reduce(0, x, nil, blen(x)) }

// SumSquares returns Σ x² in float64.
func (d *Device) SumSquares(x engine.Buffer) float64 { return d.reduce(1, x, nil, blen(x)) }

// Dot returns Σ x·y in float64.
func (d *Device) Dot(x, y engine.Buffer) float64 {
	n := sameLen("Dot", x, y)
	return d.reduce(2, x, y, n)
}

// ---- pooling (kernels/pool.cu) ----

func poolCheck(kernel string, g engine.PoolGeom, in, out engine.Buffer) {
	if err := g.Validate(); err != nil {
		panic(fmt.Sprintf("cuda: %s: %v", kernel, err))
	}
	needLen(kernel, "input", in, g.InputLen())
	needLen(kernel, "output", out, g.OutputLen())
	fits32(kernel, g.InputLen(), g.OutputLen())
}

func (o *op) pool(g engine.PoolGeom) *op {
	return o.i(g.N).i(g.C).i(g.H).i(g.W).i(g.KH).i(g.KW).i(g.StrideH).i(g.StrideW).i(g.PadH).i(g.PadW).i(g.OutH).i(g.OutW)
}

// MaxPool overwrites y.
func (d *Device) MaxPool(g engine.PoolGeom, x, y engine.Buffer) {
	poolCheck("MaxPool", g, x, y)
	d.k("max_pool").pool(g).p(x).p(y)
	d.go1(d.streamBlocks(g.OutputLen()), 256)
}

// MaxPoolBackward routes dy to the first maximum of each window.
func (d *Device) MaxPoolBackward(g engine.PoolGeom, x, dy, dx engine.Buffer) {
	poolCheck("MaxPoolBackward", g, x, dy)
	needLen("MaxPoolBackward", "dx", dx, g.InputLen())
	d.Fill(dx, 0)
	overlap := g.KH > g.StrideH || g.KW > g.StrideW
	d.k("max_pool_backward").pool(g).p(x).p(dy).p(dx).flag(overlap)
	d.go1(d.streamBlocks(g.OutputLen()), 256)
}

// AvgPool overwrites y.
func (d *Device) AvgPool(g engine.PoolGeom, x, y engine.Buffer) {
	poolCheck("AvgPool", g, x, y)
	d.k("avg_pool").pool(g).p(x).p(y)
	d.go1(d.streamBlocks(g.OutputLen()), 256)
}

// AvgPoolBackward overwrites dx.
func (d *Device) AvgPoolBackward(g engine.PoolGeom, dy, dx engine.Buffer) {
	poolCheck("AvgPoolBackward", g, dx, dy)
	d.k("avg_pool_backward").pool(g).p(dy).p(dx)
	d.go1(d.streamBlocks(g.InputLen()), 256)
}

// rowSum: out[p] = scale·Σ_i x[p, i] (float64), one block per row.
func (d *Device) rowSum(x, out engine.Buffer, rows, hw int, scale float64) {
	fits32("row sum", rows, hw)
	d.k("row_sum").i(rows).i(hw).p(x).p(out).f64(scale).i(0)
	d.go1(min(rows, 65535), rowThreads(hw))
}

// GlobalAvgPool: y[n,c] = mean_i x[n,c,i].
func (d *Device) GlobalAvgPool(x, y engine.Buffer, n, c, hw int) {
	needLen("GlobalAvgPool", "x", x, n*c*hw)
	needLen("GlobalAvgPool", "y", y, n*c)
	d.rowSum(x, y, n*c, hw, 1/float64(hw))
}

// GlobalAvgPoolBackward overwrites dx with dy/hw.
func (d *Device) GlobalAvgPoolBackward(dy, dx engine.Buffer, n, c, hw int) {
	needLen("GlobalAvgPoolBackward", "dy", dy, n*c)
	needLen("GlobalAvgPoolBackward", "dx", dx, n*c*hw)
	d.k("global_avg_pool_backward").l(n * c * hw).i(hw).p(dy).p(dx)
	d.go1(d.streamBlocks(n*c*hw), 256)
}

// ---- losses (kernels/loss.cu) ----

func lossCheck(kernel string, x, t, losses, grad engine.Buffer, n, k, tlen int) {
	needLen(kernel, "input", x, n*k)
	needLen(kernel, "target", t, tlen)
	needLen(kernel, "losses", losses, n)
	if grad != nil {
		needLen(kernel, "gradient", grad, n*k)
	}
	fits32(kernel, n, k, n*k)
}

// nilIfEmpty turns a typed nil *Buffer into an untyped nil, so "no gradient" reads as nil.
func nilIfEmpty(b engine.Buffer) engine.Buffer {
	if cb, ok := b.(*Buffer); ok && cb == nil {
		return nil
	}
	return b
}

// SoftmaxXent: per-row log-sum-exp in float64; a bad label is reported by Sync.
func (d *Device) SoftmaxXent(logits, labels, losses, dlogits engine.Buffer, n, k int, scale float32) {
	dlogits = nilIfEmpty(dlogits)
	lossCheck("SoftmaxXent", logits, labels, losses, dlogits, n, k, n)
	d.k("softmax_xent").i(n).i(k).p(logits).p(labels).p(losses).p(dlogits).f(scale).raw(d.status)
	d.go1(min(n, 65535), rowThreads(k))
	d.armed = true
}

// MSE: losses[i] = Σ_j (pred-target)².
func (d *Device) MSE(pred, target, losses, dpred engine.Buffer, n, k int, scale float32) {
	dpred = nilIfEmpty(dpred)
	lossCheck("MSE", pred, target, losses, dpred, n, k, n*k)
	d.k("mse").i(n).i(k).p(pred).p(target).p(losses).p(dpred).f(scale)
	d.go1(min(n, 65535), rowThreads(k))
}

// SigmoidBCE: the stable sigmoid cross-entropy.
func (d *Device) SigmoidBCE(logits, target, losses, dlogits engine.Buffer, n, k int, scale float32) {
	dlogits = nilIfEmpty(dlogits)
	lossCheck("SigmoidBCE", logits, target, losses, dlogits, n, k, n*k)
	d.k("sigmoid_bce").i(n).i(k).p(logits).p(target).p(losses).p(dlogits).f(scale)
	d.go1(min(n, 65535), rowThreads(k))
}

// Argmax: first maximum of each row.
func (d *Device) Argmax(x, out engine.Buffer, n, k int) {
	needLen("Argmax", "x", x, n*k)
	needLen("Argmax", "out", out, n)
	if k < 1 {
		panic(fmt.Sprintf("cuda: Argmax: k = %d, want ≥ 1", k))
	}
	d.k("argmax").i(n).i(k).p(x).p(out)
	d.go1(min(n, 65535), rowThreads(k))
}

// ---- optimizers (kernels/optim.cu) ----

// SGDStep is PyTorch's SGD over the whole arena.
func (d *Device) SGDStep(theta, grad, vel engine.Buffer, lr, momentum, weightDecay float32, nesterov bool) {
	n := sameLen("SGDStep", theta, grad)
	if momentum != 0 {
		sameLen("SGDStep", theta, vel)
	} else {
		vel = nil
	}
	d.k("sgd_step").l(n).p(theta).p(grad).p(vel).f(lr).f(momentum).f(weightDecay).flag(nesterov)
	d.go1(d.streamBlocks(n), 256)
}

// AdamStep is PyTorch's Adam at step t ≥ 1; bias corrections in float64 on the host.
func (d *Device) AdamStep(theta, grad, m, v engine.Buffer, lr, beta1, beta2, eps, weightDecay float32, t int) {
	n := sameLen("AdamStep", theta, grad, m, v)
	if t < 1 {
		panic("cuda: AdamStep: step t must be ≥ 1")
	}
	bc1 := 1 - math.Pow(float64(beta1), float64(t))
	bc2 := 1 - math.Pow(float64(beta2), float64(t))
	step := float32(float64(lr) / bc1)
	sqrtBc2 := float32(math.Sqrt(bc2))
	d.k("adam_step").l(n).p(theta).p(grad).p(m).p(v).f(beta1).f(beta2).f(eps).f(weightDecay).f(step).f(sqrtBc2)
	d.go1(d.streamBlocks(n), 256)
}

// ---- LCA (kernels/reduce.cu) ----

// gdChunk is the number of elements one block of grad_delta_seg multiplies and sums.
const gdChunk = 8192

// GradDelta writes out = g ⊙ delta and the float64 sum of each segment; a sync point.
func (d *Device) GradDelta(g, delta, out engine.Buffer, bounds []int, sums []float64) {
	n := blen(out)
	if blen(g) != blen(delta) || n != blen(g) || (len(bounds) != len(sums)+1 && len(bounds)+len(sums) != 0) ||
		(len(bounds) > 0 && (bounds[0] < 0 || bounds[len(bounds)-1] > n)) {
		panic(fmt.Sprintf("cuda: GradDelta: lengths g %d, delta %d, out %d, %d bounds for %d sums", blen(g), blen(delta), n, len(bounds), len(sums)))
	}
	gb, db, ob := d.buf("GradDelta", g), d.buf("GradDelta", delta), d.buf("GradDelta", out)
	plain := func(lo, hi int) {
		if hi > lo {
			d.k("grad_delta_plain").l(hi - lo).raw(gb.ptr + uintptr(lo)*4).raw(db.ptr + uintptr(lo)*4).raw(ob.ptr + uintptr(lo)*4)
			d.go1(d.streamBlocks(hi-lo), 256)
		}
	}
	if len(bounds) == 0 {
		plain(0, n)
		return
	}
	plain(0, bounds[0])
	plain(bounds[len(bounds)-1], n)
	nseg := len(sums)
	if nseg == 0 {
		return
	}
	if nseg > 65535 {
		panic(fmt.Sprintf("cuda: GradDelta: %d segments, at most 65535", nseg))
	}
	longest := 0
	d.bounds = d.bounds[:0]
	for s, b := range bounds {
		d.bounds = append(d.bounds, int64(b))
		if s > 0 {
			if b < bounds[s-1] {
				panic(fmt.Sprintf("cuda: GradDelta: bounds decrease at %d: %v", s, bounds))
			}
			longest = max(longest, b-bounds[s-1])
		}
	}
	nchunks := max(ceilDiv(longest, gdChunk), 1)
	boundsBytes := int64(len(bounds)) * 8
	partBytes := int64(nseg*nchunks) * 8
	base := d.need(&d.part, boundsBytes+partBytes+int64(nseg)*8)
	if base == 0 {
		for i := range sums {
			sums[i] = math.NaN()
		}
		return
	}
	partPtr := base + uintptr(boundsBytes)
	sumsPtr := partPtr + uintptr(partBytes)
	d.call(op{kind: opHtoD, dst: base, host: unsafe.Pointer(&d.bounds[0]), bytes: boundsBytes})
	d.k("grad_delta_seg").i(nchunks).i(gdChunk).raw(base).p(g).p(delta).p(out).raw(partPtr)
	d.go3(nchunks, nseg, 1, 256)
	d.k("grad_delta_sums").i(nchunks).raw(partPtr).raw(sumsPtr)
	d.go1(nseg, rowThreads(nchunks))
	r := d.call(op{kind: opDtoH, src: sumsPtr, host: unsafe.Pointer(&sums[0]), bytes: int64(nseg) * 8})
	if r.err != nil {
		for i := range sums {
			sums[i] = math.NaN()
		}
	}
}

// ---- CoordConv (kernels/elementwise.cu, loss.cu, reduce.cu) ----

func coordExtra(withR bool) int {
	if withR {
		return 3
	}
	return 2
}

// AddCoords appends the column, row and (withR) radius channels.
func (d *Device) AddCoords(x, y engine.Buffer, n, c, h, w int, withR bool) {
	e := coordExtra(withR)
	needLen("AddCoords", "x", x, n*c*h*w)
	needLen("AddCoords", "y", y, n*(c+e)*h*w)
	fits32("AddCoords", h*w, n*(c+e)*h*w)
	total := n * (c + e) * h * w
	d.k("add_coords").l(total).i(c).i(h).i(w).i(e).p(x).p(y)
	d.go1(d.streamBlocks(total), 256)
}

// AddCoordsBackward copies the gradient of x's channels out of dy.
func (d *Device) AddCoordsBackward(dy, dx engine.Buffer, n, c, h, w int, withR bool) {
	e := coordExtra(withR)
	needLen("AddCoordsBackward", "dy", dy, n*(c+e)*h*w)
	needLen("AddCoordsBackward", "dx", dx, n*c*h*w)
	total := n * c * h * w
	d.k("add_coords_backward").l(total).i(c).i(h * w).i(e).p(dy).p(dx)
	d.go1(d.streamBlocks(total), 256)
}

// Tile broadcasts x[n, c] over hw cells.
func (d *Device) Tile(x, y engine.Buffer, n, c, hw int) {
	needLen("Tile", "x", x, n*c)
	needLen("Tile", "y", y, n*c*hw)
	fits32("Tile", hw)
	d.k("tile").l(n * c * hw).i(hw).p(x).p(y)
	d.go1(d.streamBlocks(n*c*hw), 256)
}

// TileBackward sums each plane of dy in float64.
func (d *Device) TileBackward(dy, dx engine.Buffer, n, c, hw int) {
	needLen("TileBackward", "dy", dy, n*c*hw)
	needLen("TileBackward", "dx", dx, n*c)
	if n*c == 0 {
		return
	}
	d.rowSum(dy, dx, n*c, hw, 1)
}

// Softmax normalises each row of k elements.
func (d *Device) Softmax(x, y engine.Buffer, rows, k int) {
	needLen("Softmax", "x", x, rows*k)
	needLen("Softmax", "y", y, rows*k)
	fits32("Softmax", rows, k)
	d.k("softmax").i(rows).i(k).p(x).p(y)
	d.go1(min(rows, 65535), rowThreads(k))
}

// SoftmaxBackward: dx = y ⊙ (dy − ⟨dy, y⟩) per row.
func (d *Device) SoftmaxBackward(y, dy, dx engine.Buffer, rows, k int) {
	needLen("SoftmaxBackward", "y", y, rows*k)
	needLen("SoftmaxBackward", "dy", dy, rows*k)
	needLen("SoftmaxBackward", "dx", dx, rows*k)
	fits32("SoftmaxBackward", rows, k)
	d.k("softmax_backward").i(rows).i(k).p(y).p(dy).p(dx)
	d.go1(min(rows, 65535), rowThreads(k))
}

// ---- intrinsic dimension (kernels/projection.cu) ----

func projCheck(kernel string, rows, cols int) {
	if rows < 1 || cols < 1 {
		panic(fmt.Sprintf("cuda: %s: a %d×%d projection", kernel, rows, cols))
	}
	fits32(kernel, rows, cols)
}

// Gemv is y = alpha·op(A)·x + beta·y for an m×n row-major A (a stored dense projection):
// op(A) = A runs one block per row (gemv_n), op(A) = Aᵀ one thread per column (gemv_t); both read
// A once, coalesced.
func (d *Device) Gemv(trans bool, m, n int, alpha float32, a engine.Buffer, lda int, x engine.Buffer, beta float32, y engine.Buffer) {
	if m < 0 || n < 0 || lda < max(n, 1) || (m > 0 && blen(a) < (m-1)*lda+n) {
		panic(fmt.Sprintf("cuda: Gemv: A %d×%d with lda %d needs %d elements, has %d", m, n, lda, (m-1)*lda+n, blen(a)))
	}
	xn, yn := n, m
	if trans {
		xn, yn = m, n
	}
	if blen(x) != xn || blen(y) != yn {
		panic(fmt.Sprintf("cuda: Gemv: op(A) is %d×%d, x has %d and y %d elements", yn, xn, blen(x), blen(y)))
	}
	fits32("Gemv", m, n, lda)
	if yn == 0 {
		return
	}
	if xn == 0 { // y = beta·y
		if beta == 0 {
			d.Fill(y, 0)
		} else {
			d.Scale(y, beta)
		}
		return
	}
	if !trans {
		d.k("gemv_n").i(m).i(n).f(alpha).p(a).i(lda).p(x).i(1).f(beta).p(y).i(1)
		d.go1(min(m, 65535), rowThreads(n))
		return
	}
	d.k("gemv_t").i(n).i(m).f(alpha).p(a).i(lda).p(x).i(1).f(beta).p(y).i(1)
	d.go1(d.streamBlocks(n), 256)
}

// ProjInvNorms writes the inverse column norms of the Philox projection.
func (d *Device) ProjInvNorms(seed uint64, rows int, inv engine.Buffer) {
	cols := blen(inv)
	projCheck("ProjInvNorms", rows, cols)
	d.k("proj_inv_norms").i(cols).i(rows).u64(seed).p(inv)
	d.go1(min(cols, 65535), 256)
}

// ProjDenseFill stores columns col0 … col0+n−1 of the normalised projection.
func (d *Device) ProjDenseFill(seed uint64, rows, col0 int, inv, p engine.Buffer) {
	cols := blen(inv)
	projCheck("ProjDenseFill", rows, cols)
	if col0 < 0 || blen(p) != cols*rows {
		panic(fmt.Sprintf("cuda: ProjDenseFill: %d columns of %d rows from column %d need %d elements, p has %d", cols, rows, col0, cols*rows, blen(p)))
	}
	fits32("ProjDenseFill", col0+cols)
	d.k("proj_dense_fill").i(cols).i(rows).i(col0).u64(seed).p(inv).p(p)
	d.go1(d.streamBlocks(cols*rows), 256)
}

// ProjOTF is y = beta·y + P·x with P regenerated on the fly.
func (d *Device) ProjOTF(seed uint64, rows int, inv, x, y engine.Buffer, beta float32) {
	cols := blen(inv)
	projCheck("ProjOTF", rows, cols)
	if blen(x) != cols || blen(y) != rows {
		panic(fmt.Sprintf("cuda: ProjOTF: P is %d×%d, x has %d and y %d elements", rows, cols, blen(x), blen(y)))
	}
	d.k("proj_otf").i(rows).i(cols).u64(seed).p(inv).p(x).p(y).f(beta)
	d.go1(ceilDiv(rows, 256), 256)
}

// ProjOTFT is out = Pᵀ·g with P regenerated on the fly.
func (d *Device) ProjOTFT(seed uint64, rows int, inv, g, out engine.Buffer) {
	cols := blen(inv)
	projCheck("ProjOTFT", rows, cols)
	if blen(g) != rows || blen(out) != cols {
		panic(fmt.Sprintf("cuda: ProjOTFT: P is %d×%d, g has %d and out %d elements", rows, cols, blen(g), blen(out)))
	}
	d.k("proj_otft").i(rows).i(cols).u64(seed).p(inv).p(g).p(out)
	d.go1(min(cols, 65535), 256)
}

// SpMV is y = beta·y + A·x for a CSR matrix.
func (d *Device) SpMV(rows int, ptr, idx, val, x, y engine.Buffer, beta float32) {
	if rows < 0 || blen(ptr) != rows+1 || blen(y) != rows || blen(idx) != blen(val) {
		panic(fmt.Sprintf("cuda: SpMV: %d rows need %d pointers and %d outputs, got %d and %d; %d indices, %d values", rows, rows+1, rows, blen(ptr), blen(y), blen(idx), blen(val)))
	}
	fits32("SpMV", rows)
	d.k("spmv").i(rows).p(ptr).p(idx).p(val).p(x).p(y).f(beta)
	d.go1(d.streamBlocks(rows), 256)
}

// FWHT transforms each block of n elements: in shared memory up to 4,096, else stage by stage.
func (d *Device) FWHT(x engine.Buffer, n int) {
	l := blen(x)
	if n < 1 || bits.OnesCount(uint(n)) != 1 || l%n != 0 {
		panic(fmt.Sprintf("cuda: FWHT: block %d must be a power of two dividing the length %d", n, l))
	}
	if n == 1 || l == 0 {
		return
	}
	if n <= 4096 {
		fits32("FWHT", l/n)
		d.k("fwht_shared").i(n).p(x)
		d.go1(l/n, 256)
		return
	}
	for h := 1; h < n; h *= 2 {
		d.k("fwht_stage").l(l / 2).i(n).i(h).p(x)
		d.go1(d.streamBlocks(l/2), 256)
	}
}

// Gather is dst[i] = src[idx[i]].
func (d *Device) Gather(src, idx, dst engine.Buffer) {
	n := blen(dst)
	if blen(idx) < n {
		panic(fmt.Sprintf("cuda: Gather: %d indices for %d outputs", blen(idx), n))
	}
	d.k("gather").l(n).p(src).p(idx).p(dst)
	d.go1(d.streamBlocks(n), 256)
}

// requiredKernels are checked at Open, so that a stale PTX fails there with a clear message.
var requiredKernels = func() []string {
	names := []string{"gemv_n", "gemv_t", "gemm_splitk_reduce", "conv_wgrad_reduce", "conv_splitk_reduce",
		"bias_add", "bias_grad", "bn_sum", "bn_sqdev", "bn_apply_train", "bn_apply_infer", "bn_back_sums", "bn_back_apply",
		"relu", "relu_backward", "axpy", "scale", "add", "mul", "dropout", "reduce_partial", "reduce_final",
		"max_pool", "max_pool_backward", "avg_pool", "avg_pool_backward", "row_sum", "global_avg_pool_backward",
		"softmax_xent", "mse", "sigmoid_bce", "argmax", "sgd_step", "adam_step", "grad_delta_plain", "grad_delta_seg",
		"grad_delta_sums", "add_coords", "add_coords_backward", "tile", "softmax", "softmax_backward",
		"proj_inv_norms", "proj_dense_fill", "proj_otf", "proj_otft", "spmv", "fwht_stage", "fwht_shared", "gather"}
	for _, t := range tiles {
		for _, tr := range []string{"nn", "nt", "tn", "tt"} {
			names = append(names, "gemm_"+tr+"_"+t.name)
		}
		names = append(names, "conv_fwd_"+t.name, "conv1x1_fwd_"+t.name, "conv_bwd_data_"+t.name, "conv_wgrad_"+t.name)
	}
	return names
}()
