package cpu

import (
	"fmt"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// Gemm computes C = alpha*op(A)*op(B) + beta*C with internal/sgemm.
func (d *Device) Gemm(transA, transB bool, m, n, k int, alpha float32, a engine.Buffer, lda int, b engine.Buffer, ldb int, beta float32, c engine.Buffer, ldc int) {
	ad, bd, cd := Data(a), Data(b), Data(c)
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("cpu: Gemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	if m == 0 || n == 0 {
		return
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("A", ad, ar, ac, lda)
	checkMatrix("B", bd, br, bc, ldb)
	checkMatrix("C", cd, m, n, ldc)
	sgemm.Sgemm(transA, transB, m, n, k, alpha, ad, lda, bd, ldb, beta, cd, ldc)
}

// checkMatrix panics unless s can hold a rows×cols row-major matrix with row stride ld.
func checkMatrix(name string, s []float32, rows, cols, ld int) {
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols {
		panic(fmt.Sprintf("cpu: Gemm: ld%s=%d is less than the %d columns of %s", name, ld, cols, name))
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		panic(fmt.Sprintf("cpu: Gemm: %s (%dx%d, ld %d) needs %d elements, buffer has %d", name, rows, cols, ld, need, len(s)))
	}
}
