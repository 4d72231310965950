//go:build cuda

package cuda

import (
	"github.com/gazeml/gaze/engine"
)

// The gemm op family (engine/kernels_gemm.go) on the GPU: GEMM and GEMV.

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
)

// The kernels of kernels/gemm.cu. gemmKernels[2·transA+transB][tile.idx] is the GEMM of one
// transpose combination and tile.
var (
	gemmKernels = [4][5]kernelID{
		{ // nn
			declare("gemm", "gemm_nn_16x128"),
			declare("gemm", "gemm_nn_32x128"),
			declare("gemm", "gemm_nn_64x128"),
			declare("gemm", "gemm_nn_128x128"),
			declare("gemm", "gemm_nn_64x64"),
		},
		{ // nt
			declare("gemm", "gemm_nt_16x128"),
			declare("gemm", "gemm_nt_32x128"),
			declare("gemm", "gemm_nt_64x128"),
			declare("gemm", "gemm_nt_128x128"),
			declare("gemm", "gemm_nt_64x64"),
		},
		{ // tn
			declare("gemm", "gemm_tn_16x128"),
			declare("gemm", "gemm_tn_32x128"),
			declare("gemm", "gemm_tn_64x128"),
			declare("gemm", "gemm_tn_128x128"),
			declare("gemm", "gemm_tn_64x64"),
		},
		{ // tt
			declare("gemm", "gemm_tt_16x128"),
			declare("gemm", "gemm_tt_32x128"),
			declare("gemm", "gemm_tt_64x128"),
			declare("gemm", "gemm_tt_128x128"),
			declare("gemm", "gemm_tt_64x64"),
		},
	}
	// The same on the TF32 tensor cores (--precision tf32, precision.go).
	gemmTF32Kernels = [4][5]kernelID{
		{ // nn
			declare("gemm", "gemm_nn_tf32_16x128"),
			declare("gemm", "gemm_nn_tf32_32x128"),
			declare("gemm", "gemm_nn_tf32_64x128"),
			declare("gemm", "gemm_nn_tf32_128x128"),
			declare("gemm", "gemm_nn_tf32_64x64"),
		},
		{ // nt
			declare("gemm", "gemm_nt_tf32_16x128"),
			declare("gemm", "gemm_nt_tf32_32x128"),
			declare("gemm", "gemm_nt_tf32_64x128"),
			declare("gemm", "gemm_nt_tf32_128x128"),
			declare("gemm", "gemm_nt_tf32_64x64"),
		},
		{ // tn
			declare("gemm", "gemm_tn_tf32_16x128"),
			declare("gemm", "gemm_tn_tf32_32x128"),
			declare("gemm", "gemm_tn_tf32_64x128"),
			declare("gemm", "gemm_tn_tf32_128x128"),
			declare("gemm", "gemm_tn_tf32_64x64"),
		},
		{ // tt
			declare("gemm", "gemm_tt_tf32_16x128"),
			declare("gemm", "gemm_tt_tf32_32x128"),
			declare("gemm", "gemm_tt_tf32_64x128"),
			declare("gemm", "gemm_tt_tf32_128x128"),
			declare("gemm", "gemm_tt_tf32_64x64"),
		},
	}
	kGemmSplitKReduce = declare("gemm", "gemm_splitk_reduce")
	kGemvN            = declare("gemm", "gemv_n")
	kGemvT            = declare("gemm", "gemv_t")
	// gemv_n with 16-byte loads of A, a kernel variant (variants.go) for the projection.
	kGemvNVec4 = declare("gemm", "gemv_n_vec4")
)

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
			d.k(kGemvN).i(m).i(k).f(alpha).p(a).i(lda).p(b).i(incx).f(beta).p(c).i(ldc)
			d.go1(min(m, 65535), 256)
			return
		}
		if transA && m >= 4096 {
			d.k(kGemvT).i(m).i(k).f(alpha).p(a).i(lda).p(b).i(incx).f(beta).p(c).i(ldc)
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
	d.k(d.gemmKernel(transA, transB, t)).i(m).i(n).i(k).i(chunk).f(alpha).p(a).i(lda).p(b).i(ldb).f(beta).p(c).i(ldc).raw(ws)
	d.go3(gx, gy, splits, 256)
	if splits > 1 {
		d.k(kGemmSplitKReduce).i(m).i(n).i(splits).raw(ws).f(alpha).f(beta).p(c).i(ldc)
		d.go1(d.streamBlocks(m*n), 256)
	}
}

// Gemv is y = alpha·op(A)·x + beta·y for an m×n row-major A (a stored dense projection):
// op(A) = A runs one block per row (gemv_n), op(A) = Aᵀ one thread per column (gemv_t); both read
// A once, coalesced.
func (d *Device) Gemv(trans bool, m, n int, alpha float32, a engine.Buffer, lda int, x engine.Buffer, beta float32, y engine.Buffer) {
	xn, yn := n, m
	if trans {
		xn, yn = m, n
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
		if d.variants["gemv_n"] == "vec4" {
			d.k(kGemvNVec4).i(m).i(n).f(alpha).p(a).i(lda).p(x).f(beta).p(y).i(1)
		} else {
			d.k(kGemvN).i(m).i(n).f(alpha).p(a).i(lda).p(x).i(1).f(beta).p(y).i(1)
		}
		d.go1(min(m, 65535), rowThreads(n))
		return
	}
	d.k(kGemvT).i(n).i(m).f(alpha).p(a).i(lda).p(x).i(1).f(beta).p(y).i(1)
	d.go1(d.streamBlocks(n), 256)
}
