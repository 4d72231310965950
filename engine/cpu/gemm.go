package cpu

import (
	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// Gemm computes C = alpha*op(A)*op(B) + beta*C with internal/sgemm.
func (d *Device) Gemm(transA, transB bool, m, n, k int, alpha float32, a engine.Buffer, lda int, b engine.Buffer, ldb int, beta float32, c engine.Buffer, ldc int) {
	if err := engine.CheckGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		panic("cpu: " + err.Error())
	}
	if m == 0 || n == 0 {
		return
	}
	sgemm.Sgemm(transA, transB, m, n, k, alpha, Data(a), lda, Data(b), ldb, beta, Data(c), ldc)
}
