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
	h.close("C", h.get(cb), want, mag, tol{gemmAtol, accumRtol(k)})
}
