package sgemm

import (
	"math"
	"math/rand"
	"runtime"
	"testing"
)

// The shifted products against Sgemm on the materialised B: bit-identical for alpha 1 and beta
// 0 or 1 (every path sums each element of C in Sgemm's order; SgemmShiftedT on AVX512 sums its
// dot products in an order of its own), within rounding otherwise, on every path, serial and
// parallel (the same bits for any thread count), with windows that overlap as a convolution's
// do.
func TestSgemmShifted(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	forPaths(t, func(t *testing.T, path Path) {
		var serial [][]float32 // every result with GOMAXPROCS 1, in order
		for pi, procs := range []int{1, 3} {
			r := rand.New(rand.NewSource(12)) // the same inputs for both thread counts
			runtime.GOMAXPROCS(procs)
			call := 0
			same := func(what string, got []float32) {
				t.Helper()
				if pi == 0 {
					serial = append(serial, append([]float32(nil), got...))
				} else {
					for i, v := range serial[call] {
						if math.Float32bits(got[i]) != math.Float32bits(v) {
							t.Fatalf("%s call %d: GOMAXPROCS %d gives C[%d] = %v, 1 gives %v", what, call, procs, i, got[i], v)
						}
					}
				}
				call++
			}
			for _, sz := range [][3]int{{1, 1, 1}, {7, 5, 3}, {8, 48, 9}, {2, 7, 100}, {3, 4, 50}, {1, 1, 33}, {16, 1000, 144}, {40, 70, 300}, {20, 333, 500}, {9, 130, 300}, {64, 2100, 40}} {
				m, n, k := sz[0], sz[1], sz[2]
				for _, ab := range [][2]float32{{1, 0}, {1, 1}, {-0.5, 0.25}} {
					alpha, beta := ab[0], ab[1]
					lda := k + 1
					a := randSlice(r, m*lda)
					// Windows of a shared array, overlapping and unaligned, plus slack for the
					// 16-float vectors past n.
					src := randSlice(r, n+3*k+16)
					off := make([]int, k)
					for p := range off {
						off[p] = r.Intn(3*k + 1)
					}
					bm := make([]float32, k*n) // B materialised
					for p := range k {
						copy(bm[p*n:(p+1)*n], src[off[p]:])
					}
					c0 := randSlice(r, m*n)
					want := append([]float32(nil), c0...)
					Sgemm(false, false, m, n, k, alpha, a, lda, bm, n, beta, want, n)
					got := append([]float32(nil), c0...)
					SgemmShifted(m, n, k, alpha, a, lda, src, off, beta, got, n)
					compareC(t, "SgemmShifted", sz, ab, got, want, alpha == 1 && beta != 0.25)
					same("SgemmShifted", got)

					// A packed beforehand (into a slice with junk past the packing): the same
					// bits as packing in the call.
					ap := randSlice(r, ShiftedALen(m, k)+5)
					PackShiftedA(ap, m, k, a, lda)
					gotP := append([]float32(nil), c0...)
					SgemmShiftedPacked(m, n, k, alpha, a, lda, ap, src, off, beta, gotP, n, false)
					for i := range got {
						if math.Float32bits(gotP[i]) != math.Float32bits(got[i]) {
							t.Fatalf("SgemmShiftedPacked %v alpha %v beta %v: C[%d] = %v, SgemmShifted gives %v", sz, alpha, beta, i, gotP[i], got[i])
						}
					}

					// Wide C rows (room for whole vectors past n, then a guard): the same bits in
					// the first n columns, nothing written past the room.
					nw := (n + 15) / 16 * 16
					ldw := nw + 3
					cw := randSlice(r, (m-1)*ldw+nw+3)
					guard := append([]float32(nil), cw...)
					for i := range m {
						copy(cw[i*ldw:i*ldw+n], c0[i*n:(i+1)*n])
					}
					SgemmShiftedPacked(m, n, k, alpha, a, lda, ap, src, off, beta, cw, ldw, true)
					for i := range m {
						for j := range ldw {
							if i*ldw+j >= len(cw) {
								break
							}
							g := cw[i*ldw+j]
							switch {
							case j < n && math.Float32bits(g) != math.Float32bits(got[i*n+j]):
								t.Fatalf("wide SgemmShiftedPacked %v alpha %v beta %v: C[%d,%d] = %v, SgemmShifted gives %v", sz, alpha, beta, i, j, g, got[i*n+j])
							case j >= nw && math.Float32bits(g) != math.Float32bits(guard[i*ldw+j]):
								t.Fatalf("wide SgemmShiftedPacked %v: wrote C[%d,%d] past the room of %d columns", sz, i, j, nw)
							}
						}
					}

					// The transposed form: columns of B are windows; compare with Sgemm on Bᵀ.
					offT := make([]int, n)
					srcT := randSlice(r, k+2*n+1)
					for j := range offT {
						offT[j] = r.Intn(2*n + 1)
					}
					bt := make([]float32, n*k) // Bᵀ materialised, n×k
					for j := range n {
						copy(bt[j*k:(j+1)*k], srcT[offT[j]:])
					}
					want = append(want[:0], c0...)
					Sgemm(false, true, m, n, k, alpha, a, lda, bt, k, beta, want, n)
					got = append(got[:0], c0...)
					SgemmShiftedT(m, n, k, alpha, a, lda, srcT, offT, beta, got, n)
					compareC(t, "SgemmShiftedT", sz, ab, got, want, alpha == 1 && beta != 0.25 && (path != AVX512 || k < 16))
					same("SgemmShiftedT", got)
				}
			}
		}
	})
}

func compareC(t *testing.T, what string, sz [3]int, ab [2]float32, got, want []float32, exact bool) {
	t.Helper()
	for i := range want {
		d := got[i] - want[i]
		if exact && d != 0 || !(d <= 1e-4 && d >= -1e-4) {
			t.Fatalf("%s %v alpha,beta %v: C[%d] = %v, want %v", what, sz, ab, i, got[i], want[i])
		}
	}
}

func TestSgemmShiftedBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"rows past b", func() {
			SgemmShifted(2, 20, 2, 1, make([]float32, 4), 2, make([]float32, 40), []int{0, 25}, 0, make([]float32, 40), 20)
		}},
		{"too few offsets", func() {
			SgemmShifted(2, 20, 3, 1, make([]float32, 6), 3, make([]float32, 100), []int{0, 1}, 0, make([]float32, 40), 20)
		}},
		{"columns past b", func() {
			SgemmShiftedT(2, 2, 30, 1, make([]float32, 60), 30, make([]float32, 40), []int{0, 11}, 0, make([]float32, 4), 2)
		}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			tc.f()
		}()
	}
}
