//go:build amd64

package sgemm

// kernel6x16 computes the 6×16 product of a packed A micro-panel (kc steps of 6 values) and a
// packed B micro-panel (kc steps of 16 values), then stores alpha*AB into the 6×16 tile at c
// (row stride ldc elements), adding beta*C first when loadC is nonzero. It needs AVX2 and FMA.
//
//go:noescape
func kernel6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32, loadC int)

// kernel6x16Direct is kernel6x16 for an unpacked row-major A: the six rows of the micro-panel
// start at a, a+lda, ..., a+5*lda (lda in elements), each read sequentially over kc steps.
// It saves packing A when the packed copy would be reused too few times to pay for itself.
//
//go:noescape
func kernel6x16Direct(kc int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, loadC int)

// addAVX adds src[0:n] into dst[0:n], n a multiple of 32. It needs AVX.
//
//go:noescape
func addAVX(dst, src *float32, n int)

// cpuid executes CPUID with the given leaf (EAX) and sub-leaf (ECX).
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// xgetbv reads extended control register 0 (the OS-enabled register state mask).
func xgetbv() (eax, edx uint32)

//go:generate go run gen_avx512.go

// hasAVX2FMA reports whether the CPU and the OS both support the AVX2 kernels, hasAVX512 the
// AVX-512 ones (which also use AVX2 code for tails and the kernels without a ZMM version).
var (
	hasAVX2FMA = detectAVX2FMA()
	hasAVX512  = detectAVX512()
)

// detectAVX512 checks for AVX-512 F, DQ, BW and VL (CPUID leaf 7) and for the OS saving the
// opmask and all 32 ZMM registers (XCR0 bits 5-7, besides the XMM and YMM state).
func detectAVX512() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave = 1 << 27
	if ecx1&osxsave == 0 {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&0xe6 != 0xe6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const (
		avx512f  = 1 << 16
		avx512dq = 1 << 17
		avx512bw = 1 << 30
		avx512vl = 1 << 31
	)
	const all = avx512f | avx512dq | avx512bw | avx512vl
	return ebx7&all == all
}

// The AVX-512 GEMM micro-kernels (generated, see gen_avx512.go): an 8-row A micro-panel
// (packed, or 8 rows of a row-major A with row stride lda) times v = 1, 2 or 3 adjacent packed
// B micro-panels (panel stride bs elements), stored as alpha·AB (+ beta·C when loadC ≠ 0) into
// the 8×16v tile at c.

//go:noescape
func kernelZ8x16(kc int, a, b *float32, bs int, c *float32, ldc int, alpha, beta float32, loadC int)

//go:noescape
func kernelZ8x32(kc int, a, b *float32, bs int, c *float32, ldc int, alpha, beta float32, loadC int)

//go:noescape
func kernelZ8x48(kc int, a, b *float32, bs int, c *float32, ldc int, alpha, beta float32, loadC int)

//go:noescape
func kernelZ8x16Direct(kc int, a *float32, lda int, b *float32, bs int, c *float32, ldc int, alpha, beta float32, loadC int)

//go:noescape
func kernelZ8x32Direct(kc int, a *float32, lda int, b *float32, bs int, c *float32, ldc int, alpha, beta float32, loadC int)

//go:noescape
func kernelZ8x48Direct(kc int, a *float32, lda int, b *float32, bs int, c *float32, ldc int, alpha, beta float32, loadC int)

// transpose16x16 stores, for b < blocks, the transpose of the 16×16 block at rows src + off[i],
// columns 16b … 16b+15, at dst + 256b: dst[256b + 16p + i] = src[off[i] + 16b + p]. AVX-512.
//
//go:noescape
func transpose16x16(dst, src *float32, off *[16]int, blocks int)

// The shifted AVX-512 kernels: an 8-row packed A micro-panel times v·16 columns of a B whose k
// step p is the row b + off[p] (read in place, 16v consecutive floats).

//go:noescape
func kernelZ8x16Shift(kc int, a, b *float32, off *int, c *float32, ldc int, alpha, beta float32, loadC int)

//go:noescape
func kernelZ8x32Shift(kc int, a, b *float32, off *int, c *float32, ldc int, alpha, beta float32, loadC int)

//go:noescape
func kernelZ8x48Shift(kc int, a, b *float32, off *int, c *float32, ldc int, alpha, beta float32, loadC int)

// The same kernels on the first four rows of the panel (a short last row block).

//go:noescape
func kernelZ4x16Shift(kc int, a, b *float32, off *int, c *float32, ldc int, alpha, beta float32, loadC int)

//go:noescape
func kernelZ4x32Shift(kc int, a, b *float32, off *int, c *float32, ldc int, alpha, beta float32, loadC int)

//go:noescape
func kernelZ4x48Shift(kc int, a, b *float32, off *int, c *float32, ldc int, alpha, beta float32, loadC int)

// kernelZShift runs the shifted AVX-512 kernel for v vectors of columns and rows rows of the
// panel (zmr, or zmr/2).
func kernelZShift(rows, v, kc int, a, b *float32, off *int, c *float32, ldc int, alpha, beta float32, loadC int) {
	if rows <= zmr/2 {
		switch v {
		case 3:
			kernelZ4x48Shift(kc, a, b, off, c, ldc, alpha, beta, loadC)
		case 2:
			kernelZ4x32Shift(kc, a, b, off, c, ldc, alpha, beta, loadC)
		default:
			kernelZ4x16Shift(kc, a, b, off, c, ldc, alpha, beta, loadC)
		}
		return
	}
	switch v {
	case 3:
		kernelZ8x48Shift(kc, a, b, off, c, ldc, alpha, beta, loadC)
	case 2:
		kernelZ8x32Shift(kc, a, b, off, c, ldc, alpha, beta, loadC)
	default:
		kernelZ8x16Shift(kc, a, b, off, c, ldc, alpha, beta, loadC)
	}
}

// kernelZ runs the AVX-512 kernel for v panels.
func kernelZ(v, kc int, a, b *float32, bs int, c *float32, ldc int, alpha, beta float32, loadC int) {
	switch v {
	case 3:
		kernelZ8x48(kc, a, b, bs, c, ldc, alpha, beta, loadC)
	case 2:
		kernelZ8x32(kc, a, b, bs, c, ldc, alpha, beta, loadC)
	default:
		kernelZ8x16(kc, a, b, bs, c, ldc, alpha, beta, loadC)
	}
}

// kernelZDirect runs the AVX-512 kernel with an unpacked A for v panels.
func kernelZDirect(v, kc int, a *float32, lda int, b *float32, bs int, c *float32, ldc int, alpha, beta float32, loadC int) {
	switch v {
	case 3:
		kernelZ8x48Direct(kc, a, lda, b, bs, c, ldc, alpha, beta, loadC)
	case 2:
		kernelZ8x32Direct(kc, a, lda, b, bs, c, ldc, alpha, beta, loadC)
	default:
		kernelZ8x16Direct(kc, a, lda, b, bs, c, ldc, alpha, beta, loadC)
	}
}

func detectAVX2FMA() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	// The OS must save and restore the XMM (bit 1) and YMM (bit 2) register state, or
	// using YMM registers would corrupt them across context switches.
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const avx2 = 1 << 5
	return ebx7&avx2 != 0
}

// reluAVX sets dst[i] = max(src[i], 0) (NaN kept, -0 to +0) for i < n, n a multiple of 32.
//
//go:noescape
func reluAVX(dst, src *float32, n int)

// reluBackAVX sets dx[i] = dy[i] where y[i] > 0, else 0, for i < n, n a multiple of 32.
//
//go:noescape
func reluBackAVX(dx, y, dy *float32, n int)

// addConstAVX adds v to dst[0:n], n a multiple of 32.
//
//go:noescape
func addConstAVX(dst *float32, v float32, n int)

// sum64AVX adds x[i] to s[i%4] in float64, in order of i, for i < n, n a multiple of 16.
//
//go:noescape
func sum64AVX(x *float32, n int, s *[4]float64)

// dot4x3 sets out[3i+j] = Σ_{p<k} a[i·lda+p]·b[j·ldb+p] for i < 4, j < 3 (k a multiple of 8),
// with 8-lane partial sums reduced at the end. It needs AVX2 and FMA.
//
//go:noescape
func dot4x3(k int, a *float32, lda int, b *float32, ldb int, out *[12]float32)

// axpyAVX sets dst[i] += alpha·src[i] (fused) for i < n, n a multiple of 32.
//
//go:noescape
func axpyAVX(dst *float32, alpha float32, src *float32, n int)

// packBRowsAVX packs kc rows of a row-major B (row stride ldb elements, starting at src) into
// panels full 16-column micro-panels of depth kc at dst: row p's columns 16q … 16q+15 go to
// dst[q·kc·16 + p·16 …]. It needs AVX.
//
//go:noescape
func packBRowsAVX(dst, src *float32, ldb, kc, panels int)

// fmaLoopZ and fmaLoopY run n iterations of 24 ZMM (AVX-512) or 12 YMM (AVX2) independent FMAs.
//
//go:noescape
func fmaLoopZ(n int)

//go:noescape
func fmaLoopY(n int)

// triadAVX sets a[i] = b[i] + s·c[i] (fused) for i < n, n a multiple of 32. It needs AVX2 and FMA.
//
//go:noescape
func triadAVX(a, b, c *float32, s float32, n int)

// The AVX-512 element-wise kernels (vec_avx512_amd64.s); n is a multiple of 16.

//go:noescape
func reluZ(dst, src *float32, n int)

//go:noescape
func reluBackZ(dx, y, dy *float32, n int)

//go:noescape
func addConstZ(dst *float32, v float32, n int)

//go:noescape
func binaryZ(out, a, b *float32, n int, mul int)

//go:noescape
func scaleShiftZ(x, y *float32, n int, mean, scale, shift float32)

//go:noescape
func scaleShiftReLUZ(x, res, y *float32, n int, mean, scale, shift float32)

//go:noescape
func bnBackZ(x, dy, dx *float32, n int, a, b, c, mean float32)

//go:noescape
func sumDyDyxReLURunsZ(x, y, dy, dz *float32, hw, runs int, mean, sdy, sdyx *float64)

//go:noescape
func bnBackRunsZ(x, dy, dx *float32, hw, runs int, a, b, c, mean *float32)

//go:noescape
func sum64RunsZ(x *float32, hw, runs int, acc *float64)

//go:noescape
func sumDevRunsZ(x *float32, hw, runs int, k, s1, s2 *float64)

//go:noescape
func scaleShiftReLURunsZ(x, res, y *float32, hw, runs int, mean, scale, shift *float32)

//go:noescape
func conv1FilterZ(acc, dy *float32, dyImg, ks, ow int, x *float32, xImg, pitch, nimg, rows int)

//go:noescape
func conv1ForwardZ(y *float32, ks, ow, kn int, x *float32, pitch, rows, r int, wt *float32)

//go:noescape
func phaseRowsZ(plane, ph *float32, rows, w, j0, m, ps, pitch int, mode PhaseMode, ahead int)

//go:noescape
func sumDyDyxZ(x, dy *float32, n int, mean float64) (sdy, sdyx float64)

//go:noescape
func philoxDropoutZ(x, mask, y *float32, groups int, st *[64]uint32, p, keep float32)

//go:noescape
func sgdZ(th, gr, ve *float32, n int, lr, momentum, wd float32, mode int)

//go:noescape
func maxPool2x2Z(x, y *float32, w, oh, ow, klo, khi, kout int)

//go:noescape
func deinterleaveRowsZ(src, even, odd *float32, pairs, rows, srcStride, dstStride int)

//go:noescape
func interleaveRowsZ(dst, even, odd *float32, pairs, rows, dstStride, srcStride, add int)

//go:noescape
func maxPool2x2BackZ(x, dy, dx *float32, w, oh, ow, klo, khi, kout int)

// addTo64AVX sets acc[i] += float64(x[i]) for i < n, n a multiple of 16. It needs AVX.
//
//go:noescape
func addTo64AVX(acc *float64, x *float32, n int)

// dotZ4x6 sets out[6i+j] = Σ_{p<k} a[i·lda + p]·b[off[j] + p] for i < 4, j < 6, k a multiple
// of 16 (generated, see gen_avx512.go). AVX-512.
//
//go:noescape
func dotZ4x6(k int, a *float32, lda int, b *float32, off *[6]int, out *[24]float32)

// The Walsh–Hadamard kernels (fwht_avx512_amd64.s; fwht.go says what each does).

//go:noescape
func fwhtLowZ(x *float32, groups int)

//go:noescape
func fwhtPairZ(x *float32, n, h, k0, k1 int)

//go:noescape
func fwhtStageZ(x *float32, n, h, k0, k1 int)

// spmvZ is SpMVRows's AVX-512 kernel for rows a multiple of 8 (spmv_avx512_amd64.s).
//
//go:noescape
func spmvZ(ptr, idx, val, x, y *float32, rows, nnz, nx int, beta float32, useBeta int)

// gatherZ is Gather's AVX-512 kernel for n a multiple of 16 (gather_avx512_amd64.s); it returns
// the largest index of idx.
//
//go:noescape
func gatherZ(src, idx, dst *float32, n, nsrc int) int

// The Winograd tile transforms (winograd_avx512_amd64.s; winograd.go says what each does), 16
// tiles per block.

//go:noescape
func winoInZ(pe, po, v *float32, vs, rs, blocks int, idx *int32)

//go:noescape
func winoOutZ(m *float32, ms int, qe, qo *float32, blocks int, idx *int32)

//go:noescape
func winoGradZ(qe, qo, w *float32, ws, blocks int, idx *int32)

// The Winograd F(2×2, 5×5) tile transforms (winograd5_avx512_amd64.s; winograd5.go says what
// each does), 16 tiles per block; c points at wino6Const.

//go:noescape
func wino5InZ(pe, po, v *float32, vs, rs, blocks int, idx *int32, c *float32)

//go:noescape
func wino5OutZ(m *float32, ms int, qe, qo *float32, blocks int, idx *int32, c *float32)

//go:noescape
func wino5GradZ(qe, qo, w *float32, ws, blocks int, idx *int32, c *float32)

// The Winograd F(4×4, 3×3) tile transforms (winograd5_avx512_amd64.s; winograd4.go says what
// each does), 16 tiles per block; idx points at wino4Idx, c at wino6Const.

//go:noescape
func wino4InZ(p *float32, ps int, v *float32, vs, rs, blocks int, idx *int32, c *float32)

//go:noescape
func wino4OutZ(m *float32, ms int, q *float32, qs, blocks int, idx *int32, c *float32)

//go:noescape
func wino4GradZ(q *float32, qs int, w *float32, ws, blocks int, idx *int32, c *float32)
