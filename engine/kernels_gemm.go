package engine

import "fmt"

// GemmKernels are the dense matrix products: GEMM with transposes, and the matrix-vector
// product a stored dense projection (package intdim) runs twice per step.
type GemmKernels interface {
	// Gemm computes C = alpha*op(A)*op(B) + beta*C, where op(A) is m×k and op(B) is k×n.
	// lda, ldb, ldc are the row strides of A, B, C as stored (before the transpose).
	Gemm(transA, transB bool, m, n, k int, alpha float32, a Buffer, lda int, b Buffer, ldb int, beta float32, c Buffer, ldc int)
	// Gemv is y = alpha·op(A)·x + beta·y for an m×n row-major A with row stride lda: op(A) = A
	// (x has n elements, y m) or Aᵀ (x has m, y n). beta 0 means y is not read. A stored dense
	// projection is two of them per step, memory-bound, where a Gemm with one column would pack
	// all of P first.
	Gemv(trans bool, m, n int, alpha float32, a Buffer, lda int, x Buffer, beta float32, y Buffer)
}

// CheckGemm reports a Gemm call whose sizes or leading dimensions do not fit its buffers. Every
// device runs it before a launch; a failure is a caller bug, so devices panic with it.
func CheckGemm(transA, transB bool, m, n, k int, a Buffer, lda int, b Buffer, ldb int, c Buffer, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("Gemm: negative size m=%d n=%d k=%d", m, n, k)
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	for _, op := range []struct {
		name           string
		buf            Buffer
		rows, cols, ld int
	}{{"A", a, ar, ac, lda}, {"B", b, br, bc, ldb}, {"C", c, m, n, ldc}} {
		if op.rows == 0 || op.cols == 0 {
			continue
		}
		if op.ld < op.cols {
			return fmt.Errorf("Gemm: ld%s=%d is less than the %d columns of %s", op.name, op.ld, op.cols, op.name)
		}
		if need := (op.rows-1)*op.ld + op.cols; op.buf.Len() < need {
			return fmt.Errorf("Gemm: %s (%dx%d, ld %d) needs %d elements, buffer has %d", op.name, op.rows, op.cols, op.ld, need, op.buf.Len())
		}
	}
	return nil
}
