package enginetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/gazeml/gaze/engine"
)

// gemmAtol covers results that are tiny because their terms cancel; the relative part of the
// tolerance, accumRtol(k) against Σ|alpha·a·b| + |beta·c|, covers the float32 accumulation.
const gemmAtol = 1e-6

type gemmShape struct{ m, n, k int }

// gemmShapes: degenerate 1×1×1, odd sizes, a Linear-like layer (batch 32, 84→10 as in lenet5's
// last layer), and a k large enough that the tolerance's √k scaling matters.
var gemmShapes = []gemmShape{
	{1, 1, 1},
	{3, 17, 5},
	{17, 3, 33},
	{32, 10, 84},
	{33, 65, 70},
	{8, 9, 1025},
	{150, 70, 300}, // past common register/cache blocks (m > 144, k > 256) and large enough to be split across cores
	{7, 4133, 20},  // wide: n past a 4096-column block
}

func testGemm(t *testing.T, dev engine.Device) {
	for _, s := range gemmShapes {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, strided := range []bool{false, true} {
				// Dense operands overwrite (beta 0, C pre-filled with NaN); strided ones
				// accumulate (beta 1) so both beta paths meet both layouts across the table.
				beta := float32(0)
				if strided {
					beta = 1
				}
				name := fmt.Sprintf("%s_m%d_n%d_k%d", transName(tr), s.m, s.n, s.k)
				if strided {
					name += "_strided_beta1"
				} else {
					name += "_beta0"
				}
				run(t, name, dev, func(h *harness) { gemmCase(h, tr[0], tr[1], s, strided, 0.75, beta) })
			}
		}
	}
	// alpha 0 with beta 1 must leave C alone up to rounding; alpha 1, beta 0 is the plain product.
	run(t, "NN_m5_n7_k3_alpha0_beta1", dev, func(h *harness) { gemmCase(h, false, false, gemmShape{5, 7, 3}, true, 0, 1) })
	run(t, "TN_m7_n5_k9_alpha1_beta0_strided", dev, func(h *harness) { gemmCase(h, true, false, gemmShape{7, 5, 9}, true, 1, 0) })
}

func transName(tr [2]bool) string {
	s := ""
	for _, b := range tr {
		if b {
			s += "T"
		} else {
			s += "N"
		}
	}
	return s
}

// gemmCase runs one Gemm. Strided operands get row strides larger than their rows; the gap
// cells of C hold a sentinel that must survive untouched.
func gemmCase(h *harness, transA, transB bool, s gemmShape, strided bool, alpha, beta float32) {
	m, n, k := s.m, s.n, s.k
	aRows, aCols := m, k
	if transA {
		aRows, aCols = k, m
	}
	bRows, bCols := k, n
	if transB {
		bRows, bCols = n, k
	}
	lda, ldb, ldc := aCols, bCols, n
	if strided {
		lda, ldb, ldc = aCols+3, bCols+1, n+2
	}
	a := h.randn(aRows * lda)
	b := h.randn(bRows * ldb)
	c := h.randn(m * ldc)
	const gap = float32(-999.5)
	for i := 0; i < m; i++ {
		for j := n; j < ldc; j++ {
			c[i*ldc+j] = gap
		}
		if beta == 0 {
			for j := 0; j < n; j++ {
				c[i*ldc+j] = float32(math.NaN())
			}
		}
	}
	want, mag := refGemm(transA, transB, m, n, k, float64(alpha), f64(a), lda, f64(b), ldb, float64(beta), f64(c), ldc)
	cb := h.buf(c)
	h.dev.Gemm(transA, transB, m, n, k, alpha, h.buf(a), lda, h.buf(b), ldb, beta, cb, ldc)
	h.close("C", h.get(cb), want, mag, h.productTol(gemmAtol, k))
}

// testGemv checks Gemv (both transposes, beta 0 and 1, lda beyond n) against the Gemm reference
// with one column.
func testGemv(t *testing.T, dev engine.Device) {
	for _, s := range []struct{ m, n, lda int }{{1, 1, 1}, {3, 17, 17}, {17, 3, 5}, {40, 5000, 5003}, {700, 33, 33}} {
		for _, trans := range []bool{false, true} {
			for _, beta := range []float32{0, 1} {
				run(t, fmt.Sprintf("m%d_n%d_lda%d_trans%t_beta%g", s.m, s.n, s.lda, trans, beta), dev, func(h *harness) {
					a := h.randn(s.m * s.lda)
					xn, yn := s.n, s.m
					if trans {
						xn, yn = s.m, s.n
					}
					x := h.randn(xn)
					x[xn/2] = 0
					y := h.randn(yn)
					if beta == 0 {
						y = constant(yn, float32(math.NaN()))
					}
					// y as a column: op(A)·x is a Gemm with one column, whose reference we reuse.
					want, mag := refGemm(trans, false, yn, 1, xn, 0.75, f64(a), s.lda, f64(x), 1, float64(beta), f64(y), 1)
					yb := h.buf(y)
					dev.Gemv(trans, s.m, s.n, 0.75, h.buf(a), s.lda, h.buf(x), beta, yb)
					h.close("y", h.get(yb), want, mag, h.productTol(1e-6, xn+1))
				})
			}
		}
	}
}

// ---- the float64 references (see the package comment) ----

// refGemm returns C = alpha*op(A)*op(B) + beta*C over the whole stored C (elements between n and
// ldc are copied unchanged) and the per-element magnitude Σ|alpha·a·b| + |beta·c|.
// With beta 0 the old C is never read, as the contract says.
func refGemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) (out, mag []float64) {
	out = append([]float64(nil), c...)
	mag = make([]float64, len(c))
	opA := func(i, p int) float64 {
		if transA {
			return a[p*lda+i]
		}
		return a[i*lda+p]
	}
	opB := func(p, j int) float64 {
		if transB {
			return b[j*ldb+p]
		}
		return b[p*ldb+j]
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sm float64
			for p := 0; p < k; p++ {
				v := opA(i, p) * opB(p, j)
				s += v
				sm += math.Abs(v)
			}
			v, vm := alpha*s, math.Abs(alpha)*sm
			if beta != 0 {
				v += beta * c[i*ldc+j]
				vm += math.Abs(beta * c[i*ldc+j])
			}
			out[i*ldc+j], mag[i*ldc+j] = v, vm
		}
	}
	return out, mag
}
