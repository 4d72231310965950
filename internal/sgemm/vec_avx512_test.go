package sgemm

import (
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
			var ss, sdy, sdyx, scale64 float64
			for i := range a {
				d := float64(a[i]) - m
				ss += d * d
				sdy += float64(b[i])
				sdyx += float64(b[i]) * d
				scale64 += math.Abs(float64(b[i]) * d)
			}
			if got := SumSqDev(a, m); math.Abs(got-ss) > 1e-12*(1+ss) {
				t.Fatalf("SumSqDev path %v n %d = %v, want %v", p, n, got, ss)
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
