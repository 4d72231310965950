package sgemm

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// The kernels of vec_avx512.go against their Go definitions, on every path: bit-identical for
// the element-wise ones (special values included), within float64 rounding for the sums.
func TestVecAVX512Kernels(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	forPaths(t, func(t *testing.T, p Path) {
		for n := 0; n < 200; n += 1 + n/16 {
			x, y := vecInput(r, n+1)[1:], vecInput(r, n+1)[1:] // unaligned
			got, want := make([]float32, n), make([]float32, n)
			mean, scale, shift := float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64())

			for i, v := range x {
				want[i] = float32((v-mean)*scale) + shift
			}
			ScaleShift(x, got, mean, scale, shift)
			sameBits(t, "ScaleShift", p, n, got, want)

			// The fused apply is the three ops one after another, bit for bit.
			res := vecInput(r, n+1)[1:]
			for _, withRes := range []bool{false, true} {
				ScaleShift(x, want, mean, scale, shift)
				var rs []float32
				if withRes {
					rs = res
					Binary(want, want, rs, false)
				}
				Relu(want, want)
				ScaleShiftReLU(x, rs, got, mean, scale, shift)
				sameBits(t, "ScaleShiftReLU", p, n, got, want)
			}

			for i, g := range y {
				want[i] = float32(mean*g) + float32(scale*(x[i]-shift)) + float32(mean*scale)
			}
			BNBackward(x, y, got, mean, scale, float32(mean*scale), shift)
			sameBits(t, "BNBackward", p, n, got, want)

			for _, mul := range []bool{false, true} {
				for i := range want {
					if mul {
						want[i] = x[i] * y[i]
					} else {
						want[i] = x[i] + y[i]
					}
				}
				Binary(got, x, y, mul)
				sameBits(t, "Binary", p, n, got, want)
			}

			// SGD in all three modes, on finite data (special values would only test IEEE).
			th0, gr, ve0 := randSlice(r, n), randSlice(r, n), randSlice(r, n)
			for mode := range 3 {
				lr, mom, wd := float32(0.01), float32(0.9), float32(5e-4)
				if mode == 0 {
					mom = 0
				}
				thW, veW := append([]float32(nil), th0...), append([]float32(nil), ve0...)
				for i := range thW {
					g := gr[i] + float32(wd*thW[i])
					if mode == 0 {
						thW[i] -= float32(lr * g)
						continue
					}
					v := float32(mom*veW[i]) + g
					veW[i] = v
					if mode == 2 {
						thW[i] -= float32(lr * (g + float32(mom*v)))
					} else {
						thW[i] -= float32(lr * v)
					}
				}
				thG, veG := append([]float32(nil), th0...), append([]float32(nil), ve0...)
				SGD(thG, gr, veG, lr, mom, wd, mode == 2)
				sameBits(t, "SGD theta", p, n, thG, thW)
				sameBits(t, "SGD velocity", p, n, veG, veW)
			}

			// The float64 sums, on finite data.
			a, b := randSlice(r, n), randSlice(r, n)
			m := r.NormFloat64() * 0.1
			var sd, sabs, ss, sdy, sdyx, scale64 float64
			for i := range a {
				d := float64(a[i]) - m
				sd += d
				sabs += math.Abs(d)
				ss += d * d
				sdy += float64(b[i])
				sdyx += float64(b[i]) * d
				scale64 += math.Abs(float64(b[i]) * d)
			}
			if gd, gs := SumDev(a, m); math.Abs(gd-sd) > 1e-12*(1+sabs) || math.Abs(gs-ss) > 1e-12*(1+ss) {
				t.Fatalf("SumDev path %v n %d = %v, %v, want %v, %v", p, n, gd, gs, sd, ss)
			}
			// The fused ReLU backward and sums: the masked gradient and SumDyDyx of it, bit
			// for bit (y from vecInput: zeros, NaN and infinities among the mask's inputs).
			ym, dz, dzWant := vecInput(r, n+1)[1:], make([]float32, n), make([]float32, n)
			ReluBackward(dzWant, ym, b)
			wdy, wdyx := SumDyDyx(a, dzWant, m)
			fdy, fdyx := SumDyDyxReLU(a, ym, b, dz, m)
			sameBits(t, "SumDyDyxReLU dz", p, n, dz, dzWant)
			if math.Float64bits(fdy) != math.Float64bits(wdy) || math.Float64bits(fdyx) != math.Float64bits(wdyx) {
				t.Fatalf("SumDyDyxReLU path %v n %d = %v, %v, want %v, %v (SumDyDyx of the masked gradient)", p, n, fdy, fdyx, wdy, wdyx)
			}
			gdy, gdyx := SumDyDyx(a, b, m)
			if math.Abs(gdy-sdy) > 1e-12*float64(n+1) || math.Abs(gdyx-sdyx) > 1e-12*(1+scale64) {
				t.Fatalf("SumDyDyx path %v n %d = %v, %v, want %v, %v", p, n, gdy, gdyx, sdy, sdyx)
			}
		}
	})
}

// TestPhaseRows: the plane split into row phases, joined back and added onto another plane, on
// every path, against a per-row copy and a per-element add: widths below, at and past whole
// vectors, every starting phase, one and four phases; the floats around each row stay untouched.
func TestPhaseRows(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	forPaths(t, func(t *testing.T, p Path) {
		for _, w := range []int{1, 7, 8, 15, 16, 17, 32, 33, 40} {
			for _, m := range []int{1, 4} {
				for j0 := 0; j0 < m+2; j0++ {
					rows := 11
					pitch := w + 3 // rows of one phase pitch apart, phases ps apart (disjoint)
					ps := ((j0+rows)/m+1)*pitch + 5
					if m == 1 {
						ps = 0
					}
					size := (m-1)*ps + ((j0+rows)/m+1)*pitch + w
					plane := vecInput(r, rows*w+1)[1:] // unaligned
					ph := vecInput(r, size)
					want := append([]float32(nil), ph...)
					for i := 0; i < rows; i++ {
						copy(want[(j0+i)%m*ps+(j0+i)/m*pitch:][:w], plane[i*w:(i+1)*w])
					}
					got := append([]float32(nil), ph...)
					PhaseRows(plane, w, got, j0, m, ps, pitch, PhaseSplit)
					sameBits(t, fmt.Sprintf("PhaseRows split w%d m%d j0 %d", w, m, j0), p, len(got), got, want)
					back := make([]float32, len(plane))
					PhaseRows(back, w, got, j0, m, ps, pitch, PhaseJoin)
					sameBits(t, fmt.Sprintf("PhaseRows join w%d m%d j0 %d", w, m, j0), p, len(back), back, plane)
					base := vecInput(r, len(plane)+1)
					sum, wantSum := append([]float32(nil), base...), append([]float32(nil), base...)
					for i, v := range plane {
						wantSum[i] = v + base[i]
					}
					PhaseRows(sum[:len(plane)], w, got, j0, m, ps, pitch, PhaseJoinAdd)
					sameBits(t, fmt.Sprintf("PhaseRows join-add w%d m%d j0 %d", w, m, j0), p, len(sum), sum, wantSum)
				}
			}
		}
	})
}

// The runs kernels against a call per run: the same bits (sums added onto nonzero starting
// values, as batch norm's per-channel totals), and false without touching anything where they
// do not apply.
func TestBNRuns(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	forPaths(t, func(t *testing.T, p Path) {
		for _, hw := range []int{16, 64, 80, 256, 20} {
			for _, runs := range []int{1, 3, 7} {
				n := hw * runs
				x, y, dy := vecInput(r, n+1)[1:], vecInput(r, n+1)[1:], vecInput(r, n+1)[1:]
				mean := make([]float64, runs)
				a, b, c, m32 := make([]float32, runs), make([]float32, runs), make([]float32, runs), make([]float32, runs)
				sdy0, sdyx0 := make([]float64, runs), make([]float64, runs)
				for i := range runs {
					m32[i] = float32(r.NormFloat64())
					mean[i] = float64(m32[i])
					a[i], b[i], c[i] = float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64())
					sdy0[i], sdyx0[i] = r.NormFloat64()*100, r.NormFloat64()*100
				}
				wantDz, wantDx := make([]float32, n), make([]float32, n)
				wantS, wantSx := append([]float64(nil), sdy0...), append([]float64(nil), sdyx0...)
				for i := range runs {
					o, e := i*hw, (i+1)*hw
					s, sx := SumDyDyxReLU(x[o:e], y[o:e], dy[o:e], wantDz[o:e], mean[i])
					wantS[i] += s
					wantSx[i] += sx
					BNBackward(x[o:e], wantDz[o:e], wantDx[o:e], a[i], b[i], c[i], m32[i])
				}
				gotDz, gotDx := make([]float32, n), make([]float32, n)
				gotS, gotSx := append([]float64(nil), sdy0...), append([]float64(nil), sdyx0...)
				fits := p == AVX512 && hw%16 == 0
				if ok := SumDyDyxReLURuns(x, y, dy, gotDz, hw, mean, gotS, gotSx); ok != fits {
					t.Fatalf("%v: SumDyDyxReLURuns(hw %d) = %v", p, hw, ok)
				}
				if ok := BNBackwardRuns(x, gotDz, gotDx, hw, a, b, c, m32); ok != fits {
					t.Fatalf("%v: BNBackwardRuns(hw %d) = %v", p, hw, ok)
				}
				if fits != SumDevRuns(x, hw, mean, make([]float64, runs), make([]float64, runs)) ||
					fits != ScaleShiftReLURuns(x, nil, make([]float32, n), hw, m32, a, b) {
					t.Fatalf("%v: a forward runs kernel disagrees with the backward ones on hw %d", p, hw)
				}
				if !fits {
					for i := range n {
						if gotDz[i] != 0 || gotDx[i] != 0 {
							t.Fatalf("%v: the runs kernels wrote with hw %d", p, hw)
						}
					}
					continue
				}
				what := fmt.Sprintf("hw %d runs %d", hw, runs)
				// The forward kernels: the statistics onto the same starting values, and the
				// apply with and without a residual.
				fwdS, fwdSS := append([]float64(nil), sdy0...), append([]float64(nil), sdyx0...)
				gotFS, gotFSS := append([]float64(nil), sdy0...), append([]float64(nil), sdyx0...)
				for i := range runs {
					d, dd := SumDev(x[i*hw:(i+1)*hw], mean[i])
					fwdS[i] += d
					fwdSS[i] += dd
				}
				if !SumDevRuns(x, hw, mean, gotFS, gotFSS) {
					t.Fatalf("%s: the statistics runs kernels did not run", what)
				}
				for i := range runs {
					if math.Float64bits(gotFS[i]) != math.Float64bits(fwdS[i]) || math.Float64bits(gotFSS[i]) != math.Float64bits(fwdSS[i]) {
						t.Fatalf("%s run %d: statistics %v, %v; a call per run gives %v, %v", what, i, gotFS[i], gotFSS[i], fwdS[i], fwdSS[i])
					}
				}
				for _, res := range [][]float32{nil, dy} {
					wantY, gotY := make([]float32, n), make([]float32, n)
					for i := range runs {
						var rr []float32
						if res != nil {
							rr = res[i*hw : (i+1)*hw]
						}
						ScaleShiftReLU(x[i*hw:(i+1)*hw], rr, wantY[i*hw:(i+1)*hw], m32[i], a[i], b[i])
					}
					if !ScaleShiftReLURuns(x, res, gotY, hw, m32, a, b) {
						t.Fatalf("%s: ScaleShiftReLURuns did not run", what)
					}
					sameBits(t, fmt.Sprintf("ScaleShiftReLURuns %s res %v", what, res != nil), p, n, gotY, wantY)
				}
				sameBits(t, "SumDyDyxReLURuns dz "+what, p, n, gotDz, wantDz)
				sameBits(t, "BNBackwardRuns "+what, p, n, gotDx, wantDx)
				for i := range runs {
					if math.Float64bits(gotS[i]) != math.Float64bits(wantS[i]) || math.Float64bits(gotSx[i]) != math.Float64bits(wantSx[i]) {
						t.Fatalf("%v %s run %d: sums %v, %v; a call per run gives %v, %v", p, what, i, gotS[i], gotSx[i], wantS[i], wantSx[i])
					}
				}
			}
		}
	})
}
