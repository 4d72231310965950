package engine

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

// The checks (check.go). Buffers may be longer than the matrices they hold (views of an arena).

// checkMatrix checks that buffer name holds a rows×cols row-major matrix with row stride ld.
func checkMatrix(op, name string, buf Buffer, rows, cols, ld int) {
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols {
		fail(op, msgLd, name, ld, cols, name)
	}
	if need, n := (rows-1)*ld+cols, blen(buf); n < need {
		fail(op, msgMatrix, name, rows, cols, ld, need, n)
	}
}

func (c checked) Gemm(transA, transB bool, m, n, k int, alpha float32, a Buffer, lda int, b Buffer, ldb int, beta float32, cc Buffer, ldc int) {
	nonNegative("Gemm", "m, n, k", m, n, k)
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("Gemm", "A", a, ar, ac, lda)
	checkMatrix("Gemm", "B", b, br, bc, ldb)
	checkMatrix("Gemm", "C", cc, m, n, ldc)
	c.d.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc)
}

func (c checked) Gemv(trans bool, m, n int, alpha float32, a Buffer, lda int, x Buffer, beta float32, y Buffer) {
	nonNegative("Gemv", "m, n", m, n)
	atLeast("Gemv", "lda", lda, max(n, 1))
	checkMatrix("Gemv", "A", a, m, n, lda)
	xn, yn := n, m
	if trans {
		xn, yn = m, n
	}
	needLen("Gemv", "x", x, xn)
	needLen("Gemv", "y", y, yn)
	c.d.Gemv(trans, m, n, alpha, a, lda, x, beta, y)
}
