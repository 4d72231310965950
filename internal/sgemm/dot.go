package sgemm

// AddABt computes C += A·Bᵀ serially, for row-major A (m×k) and B (n×k): both operands run
// along k in memory, as in the filter gradient of a 1×1 convolution (dW += dy·xᵀ with k the
// pixels of an image). Where Sgemm would pack both operands (transposing B, and A too when lda
// is a multiple of 512), AddABt reads them in place: a 4×3 dot-product micro-kernel keeps twelve
// 8-wide partial sums of four rows of A against three rows of B, and k runs in blocks of dotKB
// so that the rows of both operands stay in L2 while every tile of C passes over them.
//
// The summation order depends only on the sizes (never on the core count: AddABt is serial).
// Shapes the kernel cannot cover (m < 4, n < 3, no AVX2) go to Sgemm.
func AddABt(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if !useAsm.Load() || m < dotMR || n < dotNR || k < 8 {
		Sgemm(false, true, m, n, k, 1, a, lda, b, ldb, 1, c, ldc)
		return
	}
	if trivial(false, m, n, k, 1, a, lda, 1, c, ldc) {
		return
	}
	checkMatrix("B", n, k, b, ldb)
	var out [dotMR * dotNR]float32
	for p0 := 0; p0 < k; p0 += dotKB {
		kb := min(dotKB, k-p0)
		k8 := kb &^ 7
		for i0 := 0; i0 < m; i0 += dotMR {
			// The last tiles overlap the previous ones rather than running short; only their
			// new rows and columns are added to C.
			i := min(i0, m-dotMR)
			for j0 := 0; j0 < n; j0 += dotNR {
				j := min(j0, n-dotNR)
				ao, bo := i*lda+p0, j*ldb+p0
				_ = a[ao+(dotMR-1)*lda+kb-1] // bounds of the kernel's reads
				_ = b[bo+(dotNR-1)*ldb+kb-1]
				if k8 > 0 {
					dot4x3(k8, &a[ao], lda, &b[bo], ldb, &out)
				} else {
					out = [dotMR * dotNR]float32{}
				}
				for ii := i0 - i; ii < dotMR; ii++ {
					row := c[(i+ii)*ldc+j : (i+ii)*ldc+j+dotNR]
					ar := a[ao+ii*lda : ao+ii*lda+kb]
					for jj := j0 - j; jj < dotNR; jj++ {
						s := out[ii*dotNR+jj]
						for p, v := range b[bo+jj*ldb+k8 : bo+jj*ldb+kb] { // k tail
							s += ar[k8+p] * v
						}
						row[jj] += s
					}
				}
			}
		}
	}
}

// The dot-product micro-tile (rows of A by rows of B) and the k block of AddABt. dotKB = 512 keeps
// a block of 64 rows of each operand (2·128 KiB) in the 512 KiB L2.
const (
	dotMR = 4
	dotNR = 3
	dotKB = 512
)
