package sgemm

// AddABt computes C += A·Bᵀ serially, for row-major A (m×k) and B (n×k): both operands run
// along k in memory, as in the filter gradient of a 1×1 convolution (dW += dy·xᵀ with k the
// pixels of an image). Where Sgemm would pack both operands (transposing B, and A too when lda
// is a multiple of 512), AddABt reads them in place: a 4×3 dot-product micro-kernel keeps twelve
// 8-wide partial sums of four rows of A against three rows of B, and k runs in blocks of dotKB.
//
// The summation order depends only on the sizes (never on the core count: AddABt is serial).
// Without AVX2, or for k < 8, it is Sgemm.
func AddABt(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if Current() == Generic || k < 8 {
		Sgemm(false, true, m, n, k, 1, a, lda, b, ldb, 1, c, ldc)
		return
	}
	if trivial(false, m, n, k, 1, a, lda, 1, c, ldc) {
		return
	}
	checkMatrix("B", n, k, b, ldb)
	var out [dotMR * dotNR]float32
	stepM, stepN := dotStep(m, dotMR), dotStep(n, dotNR)
	for p0 := 0; p0 < k; p0 += dotKB {
		kb := min(dotKB, k-p0)
		k8 := kb &^ 7
		for i0 := 0; i0 < m; i0 += stepM {
			i, sa, ilo, ihi := dotTile(i0, m, lda, dotMR)
			for j0 := 0; j0 < n; j0 += stepN {
				j, sb, jlo, jhi := dotTile(j0, n, ldb, dotNR)
				ao, bo := i*lda+p0, j*ldb+p0
				_ = a[ao+(dotMR-1)*sa+kb-1] // bounds of the kernel's reads
				_ = b[bo+(dotNR-1)*sb+kb-1]
				dot4x3(k8, &a[ao], sa, &b[bo], sb, &out)
				if k8 == kb && ilo == 0 && ihi == dotMR && jlo == 0 && jhi == dotNR {
					// A whole tile and no k tail: the common case, unrolled.
					for ii := range dotMR {
						row := (*[dotNR]float32)(c[(i+ii)*ldc+j:])
						row[0] += out[ii*dotNR]
						row[1] += out[ii*dotNR+1]
						row[2] += out[ii*dotNR+2]
					}
					continue
				}
				for ii := ilo; ii < ihi; ii++ {
					row := c[(i+ii)*ldc : (i+ii)*ldc+n]
					ar := a[ao+ii*sa : ao+ii*sa+kb]
					for jj := jlo; jj < jhi; jj++ {
						s := out[ii*dotNR+jj]
						for p, v := range b[bo+jj*sb+k8 : bo+jj*sb+kb] { // k tail
							s += ar[k8+p] * v
						}
						row[j+jj] += s
					}
				}
			}
		}
	}
}

// dotStep is the tile step over an operand's rows: t, or 1 for an operand of fewer rows.
func dotStep(rows, t int) int {
	if rows < t {
		return 1
	}
	return t
}

// dotTile places the tile of rows [i0, i0+t) of an operand with rows rows and stride ld: it
// returns the first row i, the row stride s the kernel uses and the tile's new rows [lo, hi).
// The last tiles overlap the previous ones rather than running short (only their new rows are
// added to C); an operand with fewer than t rows is read one row at a time with stride 0 (the
// kernel computes the same row t times, and only the first counts).
func dotTile(i0, rows, ld, t int) (i, s, lo, hi int) {
	if rows < t {
		return i0, 0, 0, 1
	}
	i = min(i0, rows-t)
	return i, ld, i0 - i, t
}

// The dot-product micro-tile (rows of A by rows of B) and the k block of AddABt. dotKB: on the
// painter's 1×1 filter gradients (4096-pixel rows, 32 and 64 channels) 512 (both operands' blocks
// L2-resident) cost 10% more CPU than 2048, as each tile's reduction and C update is paid per
// block; 4096 measured within noise of 2048.
const (
	dotMR = 4
	dotNR = 3
	dotKB = 2048
)
