package cpu

import (
	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// Gemm computes C = alpha*op(A)*op(B) + beta*C with internal/sgemm.
func (d *Device) Gemm(transA, transB bool, m, n, k int, alpha float32, a engine.Buffer, lda int, b engine.Buffer, ldb int, beta float32, c engine.Buffer, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	sgemm.Sgemm(transA, transB, m, n, k, alpha, Data(a), lda, Data(b), ldb, beta, Data(c), ldc)
}

// Gemv: y = alpha·op(A)·x + beta·y with internal/sgemm's matrix–vector kernels (AVX-512, AVX2
// or pure Go), fanned out over the cores with projSplit (projection.go) as the projections that
// run them are. Without transpose each y[i] is one dot product (rows split across cores); with
// it, y is cut into column ranges that each core accumulates over the rows of A in order,
// skipping rows whose x is 0. A stored dense projection's P is read once per product, so both
// run at memory bandwidth; each output element is computed by one goroutine in an order fixed by
// the sizes, so results do not depend on the number of cores.
func (d *Device) Gemv(trans bool, m, n int, alpha float32, a engine.Buffer, lda int, x engine.Buffer, beta float32, y engine.Buffer) {
	ad, xd, yd := Data(a), Data(x), Data(y)
	if !trans {
		projSplit(m, m*n/4, func(lo, hi int) { sgemm.GemvDots(lo, hi, n, alpha, ad, lda, xd, beta, yd) })
		return
	}
	// Split in blocks of GemvColAlign columns, so that the cores get equal shares: split in
	// whole tiles of 8,192 columns, lenet5's D = 44,426 gave one core 24,576 columns and the
	// other 19,850, and the product waited for the bigger share (55 % of the work, not 50).
	const q = sgemm.GemvColAlign
	projSplit((n+q-1)/q, m*n/4, func(lo, hi int) {
		sgemm.GemvAccCols(lo*q, min(hi*q, n), m, n, alpha, ad, lda, xd, beta, yd)
	})
}
