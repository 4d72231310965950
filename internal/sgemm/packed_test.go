package sgemm

import (
	"math/rand"
	"runtime"
	"testing"
)

// matrixPacker is a BPacker backed by a stored op(B): through PackBRow (row by row) or, with
// cols, PackBColumns (column by column), the two ways a generating packer can fill panels.
type matrixPacker struct {
	b      []float32
	ldb    int
	transB bool
	cols   bool
}

func (mp *matrixPacker) at(p, j int) float32 {
	if mp.transB {
		return mp.b[j*mp.ldb+p]
	}
	return mp.b[p*mp.ldb+j]
}

func (mp *matrixPacker) PackB(dst, tmp []float32, p0, kc, j0, nc int) {
	if !mp.cols {
		row := tmp[:nc]
		for p := 0; p < kc; p++ {
			for j := range row {
				row[j] = mp.at(p0+p, j0+j)
			}
			PackBRow(dst, kc, p, row)
		}
		return
	}
	for jr := 0; jr < nc; jr += NR {
		cols := min(NR, nc-jr)
		for jj := 0; jj < cols; jj++ {
			for p := 0; p < kc; p++ {
				tmp[jj*kc+p] = mp.at(p0+p, j0+jr+jj)
			}
		}
		PackBColumns(dst[jr*kc:], kc, tmp[:cols*kc], cols)
	}
}

// SgemmPacked gives bit-identical results to Sgemm on the same op(B), serial and parallel.
func TestSgemmPackedMatchesSgemm(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	r := rand.New(rand.NewSource(9))
	for _, procs := range []int{1, 3} {
		runtime.GOMAXPROCS(procs)
		for _, sz := range [][3]int{{7, 5, 3}, {40, 500, 300}, {20, 1100, 25}, {130, 70, 600}} {
			m, n, k := sz[0], sz[1], sz[2]
			for _, transA := range []bool{false, true} {
				for _, transB := range []bool{false, true} {
					for _, cols := range []bool{false, true} {
						a, b, c0 := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n)
						lda, ldb := k, n
						if transA {
							lda = m
						}
						if transB {
							ldb = k
						}
						want := append([]float32(nil), c0...)
						Sgemm(transA, transB, m, n, k, 0.5, a, lda, b, ldb, 0.25, want, n)
						got := append([]float32(nil), c0...)
						SgemmPacked(transA, m, n, k, 0.5, a, lda, &matrixPacker{b, ldb, transB, cols}, 0.25, got, n)
						for i := range want {
							if got[i] != want[i] {
								t.Fatalf("procs %d %dx%dx%d transA %v transB %v cols %v: C[%d] = %v, Sgemm gives %v", procs, m, n, k, transA, transB, cols, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestPackBColumns checks the panel layout against its definition on every path (the AVX-512
// path transposes 16×16 blocks in registers), for depths with and without a 16-step tail and
// for partial panels.
func TestPackBColumns(t *testing.T) {
	forPaths(t, func(t *testing.T, p Path) {
		r := rand.New(rand.NewSource(11))
		for _, kc := range []int{1, 5, 15, 16, 17, 31, 32, 100, 256} {
			for _, cols := range []int{1, 7, 15, 16} {
				src := randSlice(r, cols*kc)
				panel := randSlice(r, kc*NR+5) // junk everywhere, and past the panel
				tail := append([]float32(nil), panel[kc*NR:]...)
				PackBColumns(panel, kc, src, cols)
				for q := 0; q < kc; q++ {
					for jj := 0; jj < NR; jj++ {
						want := float32(0)
						if jj < cols {
							want = src[jj*kc+q]
						}
						if got := panel[q*NR+jj]; got != want {
							t.Fatalf("kc %d cols %d: panel[%d·16+%d] = %v, want %v", kc, cols, q, jj, got, want)
						}
					}
				}
				for i, v := range tail {
					if panel[kc*NR+i] != v {
						t.Fatalf("kc %d cols %d: wrote past the panel", kc, cols)
					}
				}
			}
		}
	})
}
