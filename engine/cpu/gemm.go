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

// Gemv: y = alpha·op(A)·x + beta·y. Without transpose each y[i] is one dot product (rows split
// across cores) accumulated in eight float32 partial sums (so the memory-bound loop runs at
// streaming speed) combined in float64; with it, y is split into column tiles that each
// goroutine accumulates in float32 over the rows of A in order, skipping rows whose x is 0
// (exactly 0 terms for finite A). Both are deterministic. They fan out with projSplit
// (projection.go), as the projections that run them do.
func (d *Device) Gemv(trans bool, m, n int, alpha float32, a engine.Buffer, lda int, x engine.Buffer, beta float32, y engine.Buffer) {
	ad, xd, yd := Data(a), Data(x), Data(y)
	if !trans {
		projSplit(m, m*n/4, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				yd[i] = gemvRow(ad[i*lda:i*lda+n], xd, alpha, beta, yd[i])
			}
		})
		return
	}
	// Tiles of whole cache lines; a core takes a contiguous run of tiles and streams four rows of
	// A at a time through each, so the tile's partial sums are loaded and stored once per four
	// rows.
	const tile = 2048
	tiles := (n + tile - 1) / tile
	projSplit(tiles, m*n/4, func(lo, hi int) {
		var acc [tile]float32
		for t := lo; t < hi; t++ {
			j0 := t * tile
			w := min(tile, n-j0)
			s := acc[:w]
			clear(s)
			i := 0
			for ; i+4 <= m; i += 4 {
				c0, c1, c2, c3 := xd[i], xd[i+1], xd[i+2], xd[i+3]
				if c0 == 0 && c1 == 0 && c2 == 0 && c3 == 0 {
					continue
				}
				r0 := ad[i*lda+j0 : i*lda+j0+w]
				r1 := ad[(i+1)*lda+j0 : (i+1)*lda+j0+w]
				r2 := ad[(i+2)*lda+j0 : (i+2)*lda+j0+w]
				r3 := ad[(i+3)*lda+j0 : (i+3)*lda+j0+w]
				for k := range s {
					s[k] += c0*r0[k] + c1*r1[k] + c2*r2[k] + c3*r3[k]
				}
			}
			for ; i < m; i++ {
				if c := xd[i]; c != 0 {
					for k, v := range ad[i*lda+j0 : i*lda+j0+w] {
						s[k] += c * v
					}
				}
			}
			out := yd[j0 : j0+w]
			for k := range out {
				v := alpha * s[k]
				if beta != 0 {
					v += beta * out[k]
				}
				out[k] = v
			}
		}
	})
}

// gemvRow is alpha·row·x + beta·y0 with eight float32 partial sums combined in float64.
func gemvRow(row, x []float32, alpha, beta, y0 float32) float32 {
	x = x[:len(row)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	k := 0
	for ; k+8 <= len(row); k += 8 {
		r, v := row[k:k+8:k+8], x[k:k+8:k+8]
		s0 += r[0] * v[0]
		s1 += r[1] * v[1]
		s2 += r[2] * v[2]
		s3 += r[3] * v[3]
		s4 += r[4] * v[4]
		s5 += r[5] * v[5]
		s6 += r[6] * v[6]
		s7 += r[7] * v[7]
	}
	s := (float64(s0) + float64(s1)) + (float64(s2) + float64(s3)) + (float64(s4) + float64(s5)) + (float64(s6) + float64(s7))
	for ; k < len(row); k++ {
		s += float64(row[k]) * float64(x[k])
	}
	v := float64(alpha) * s
	if beta != 0 {
		v += float64(beta) * float64(y0)
	}
	return float32(v)
}
