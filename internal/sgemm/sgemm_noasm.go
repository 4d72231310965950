//go:build !amd64

package sgemm

// hasAVX2FMA and hasAVX512 are false off amd64: only the pure-Go kernels exist there.
const (
	hasAVX2FMA = false
	hasAVX512  = false
)

func kernelZ(v, kc int, a, b *float32, bs int, c *float32, ldc int, alpha, beta float32, loadC int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func kernelZDirect(v, kc int, a *float32, lda int, b *float32, bs int, c *float32, ldc int, alpha, beta float32, loadC int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

// kernel6x16 is never called when hasAVX2FMA is false; it exists so the driver compiles.
func kernel6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32, loadC int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

// kernel6x16Direct is never called when hasAVX2FMA is false.
func kernel6x16Direct(kc int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, loadC int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

// addAVX is never called when hasAVX2FMA is false.
func addAVX(dst, src *float32, n int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func reluAVX(dst, src *float32, n int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func reluBackAVX(dx, y, dy *float32, n int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func addConstAVX(dst *float32, v float32, n int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func sum64AVX(x *float32, n int, s *[4]float64) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func dot4x3(k int, a *float32, lda int, b *float32, ldb int, out *[12]float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func axpyAVX(dst *float32, alpha float32, src *float32, n int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func packBRowsAVX(dst, src *float32, ldb, kc, panels int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func kernelZShift(rows, v, kc int, a, b *float32, off *int, c *float32, ldc int, alpha, beta float32, loadC int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func transpose16x16(dst, src *float32, off *[16]int, blocks int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func fmaLoopZ(n int) { panic("sgemm: assembly kernel called on a platform without one") }

func fmaLoopY(n int) { panic("sgemm: assembly kernel called on a platform without one") }

func triadAVX(a, b, c *float32, s float32, n int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func reluZ(dst, src *float32, n int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func reluBackZ(dx, y, dy *float32, n int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func addConstZ(dst *float32, v float32, n int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func binaryZ(out, a, b *float32, n int, mul int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func scaleShiftZ(x, y *float32, n int, mean, scale, shift float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func scaleShiftReLUZ(x, res, y *float32, n int, mean, scale, shift float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func bnBackZ(x, dy, dx *float32, n int, a, b, c, mean float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func phaseRowsZ(plane, ph *float32, rows, w, j0, m, ps, pitch int, mode PhaseMode, ahead int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func conv1FilterZ(acc, dy *float32, dyImg, ks, ow int, x *float32, xImg, pitch, nimg, rows int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func conv1ForwardZ(y *float32, ks, ow, kn int, x *float32, pitch, rows, r int, wt *float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func sumDyDyxZ(x, dy *float32, n int, mean float64) (sdy, sdyx float64) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func sgdZ(th, gr, ve *float32, n int, lr, momentum, wd float32, mode int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func maxPool2x2Z(x, y *float32, w, oh, ow, klo, khi, kout int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func deinterleaveRowsZ(src, even, odd *float32, pairs, rows, srcStride, dstStride int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func interleaveRowsZ(dst, even, odd *float32, pairs, rows, dstStride, srcStride, add int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func maxPool2x2BackZ(x, dy, dx *float32, w, oh, ow, klo, khi, kout int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func addTo64AVX(acc *float64, x *float32, n int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func dotZ4x6(k int, a *float32, lda int, b *float32, off *[6]int, out *[24]float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func fwhtLowZ(x *float32, groups int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func fwhtPairZ(x *float32, n, h, k0, k1 int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func fwhtStageZ(x *float32, n, h, k0, k1 int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func spmvZ(ptr, idx, val, x, y *float32, rows, nnz, nx int, beta float32, useBeta int) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func gatherZ(src, idx, dst *float32, n, nsrc int) int {
	panic("sgemm: assembly kernel called on a platform without one")
}

func winoInZ(pe, po, v *float32, vs, rs, blocks int, idx *int32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func winoOutZ(m *float32, ms int, qe, qo *float32, blocks int, idx *int32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func winoGradZ(qe, qo, w *float32, ws, blocks int, idx *int32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func wino5InZ(pe, po, v *float32, vs, rs, blocks int, idx *int32, c *float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func wino5OutZ(m *float32, ms int, qe, qo *float32, blocks int, idx *int32, c *float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func wino5GradZ(qe, qo, w *float32, ws, blocks int, idx *int32, c *float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func wino4InZ(p *float32, ps int, v *float32, vs, rs, blocks int, idx *int32, c *float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func wino4OutZ(m *float32, ms int, q *float32, qs, blocks int, idx *int32, c *float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func wino4GradZ(q *float32, qs int, w *float32, ws, blocks int, idx *int32, c *float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func philoxDropoutZ(x, mask, y *float32, groups int, st *[64]uint32, p, keep float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func sumDyDyxReLURunsZ(x, y, dy, dz *float32, hw, runs int, mean, sdy, sdyx *float64) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func bnBackRunsZ(x, dy, dx *float32, hw, runs int, a, b, c, mean *float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func sum64RunsZ(x *float32, hw, runs int, acc *float64) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func sumDevRunsZ(x *float32, hw, runs int, k, s1, s2 *float64) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func scaleShiftReLURunsZ(x, res, y *float32, hw, runs int, mean, scale, shift *float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}
