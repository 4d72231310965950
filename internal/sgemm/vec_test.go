package sgemm

import (
	"math"
	"math/rand"
	"testing"
)

// vecInput is random data with the special values the element-wise kernels must keep apart:
// ±0, NaN (both signs), ±Inf and denormals.
func vecInput(r *rand.Rand, n int) []float32 {
	s := randSlice(r, n)
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), -float32(math.NaN()),
		float32(math.Inf(1)), float32(math.Inf(-1)), 1e-40, -1e-40}
	for i := range s {
		if r.Intn(4) == 0 {
			s[i] = specials[r.Intn(len(specials))]
		}
	}
	return s
}

// sameBits checks that got and want are bit-identical, apart from the payload of NaNs.
func sameBits(t *testing.T, what string, asm Path, n int, got, want []float32) {
	t.Helper()
	for i := range want {
		if want[i] != want[i] && got[i] != got[i] {
			continue // any NaN for a NaN (Go's max returns a quiet NaN of its own)
		}
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s path %v n %d: [%d] = %v (%#x), want %v (%#x)", what, asm, n, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func TestVecKernels(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	forPaths(t, func(t *testing.T, asm Path) {
		for n := 0; n < 150; n++ {
			x, y, dy := vecInput(r, n+1), vecInput(r, n+1), vecInput(r, n+1)
			x, y, dy = x[1:], y[1:], dy[1:] // unaligned

			got, want := make([]float32, n), make([]float32, n)
			for i, v := range x {
				want[i] = max(v, 0)
			}
			Relu(got, x)
			sameBits(t, "Relu", asm, n, got, want)
			copy(got, x)
			Relu(got, got) // in place
			sameBits(t, "Relu in place", asm, n, got, want)

			for i, v := range y {
				want[i] = 0
				if v > 0 {
					want[i] = dy[i]
				}
			}
			ReluBackward(got, y, dy)
			sameBits(t, "ReluBackward", asm, n, got, want)

			v := float32(r.NormFloat64())
			copy(got, x)
			for i := range want {
				want[i] = x[i] + v
			}
			AddConst(got, v)
			sameBits(t, "AddConst", asm, n, got, want)

			copy(got, x)
			for i := range want {
				want[i] = x[i] + v*y[i]
			}
			Axpy(got, v, y)
			for i := range want {
				if d := got[i] - want[i]; d > 1e-5 || d < -1e-5 {
					if !(want[i] != want[i] && got[i] != got[i]) && got[i] != want[i] { // NaN, ±Inf
						t.Fatalf("Axpy path %v n %d: [%d] = %v, want %v", asm, n, i, got[i], want[i])
					}
				}
			}

			// Magnitudes 2^±40 apart, so that float64 sums round and the order shows (sums
			// of float32 values of one scale are exact in float64 in any order).
			s := randSlice(r, n)
			for i := range s {
				s[i] = float32(math.Ldexp(float64(s[i]), r.Intn(81)-40))
			}
			if got, want := Sum64(s), sum64Ref(s, asm); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("Sum64 path %v n %d = %v, want %v", asm, n, got, want)
			}
		}
	})
}

// sum64Ref is Sum64's order written out: on AVX512 the first len(s)&^15 elements over 32 lanes
// (lane j of accumulator k takes i ≡ 8k+j mod 32, a last 16 going to accumulators 0 and 1), the
// accumulators added pairwise and each one's lanes by halves; the rest, and every element on the
// other paths, over four lanes (i ≡ j mod 4, a tail past a multiple of 4 to lane 0).
func sum64Ref(s []float32, p Path) float64 {
	z, rest := 0.0, s
	if p == AVX512 && len(s) >= 16 {
		n := len(s) &^ 15
		var acc [4][8]float64
		for i := 0; i < n; i++ {
			acc[i%32/8][i%8] += float64(s[i])
		}
		var v [8]float64
		for j := range v {
			v[j] = (acc[0][j] + acc[1][j]) + (acc[2][j] + acc[3][j])
		}
		for w := 4; w >= 1; w /= 2 {
			for j := 0; j < w; j++ {
				v[j] += v[j+w]
			}
		}
		z, rest = v[0], s[n:]
		if len(rest) == 0 {
			return z
		}
	}
	var a [4]float64
	i := 0
	for ; i+4 <= len(rest); i += 4 {
		for j := range 4 {
			a[j] += float64(rest[i+j])
		}
	}
	for ; i < len(rest); i++ {
		a[0] += float64(rest[i])
	}
	if len(rest) == len(s) {
		return (a[0] + a[1]) + (a[2] + a[3])
	}
	return z + ((a[0] + a[1]) + (a[2] + a[3]))
}

func TestAddABt(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	forPaths(t, func(t *testing.T, asm Path) {
		for _, sz := range [][3]int{{4, 3, 8}, {5, 4, 9}, {64, 64, 1100}, {32, 4, 600}, {7, 11, 3}, {1, 64, 100}, {13, 5, 517}, {4, 3, 1031}, {2, 2, 64}, {3, 7, 40}, {6, 1, 33}, {2, 5, 16}, {5, 4, 4500}} {
			m, n, k := sz[0], sz[1], sz[2]
			lda, ldb, ldc := k+3, k+1, n+2
			a, b, c := randSlice(r, m*lda), randSlice(r, n*ldb), randSlice(r, m*ldc)
			want := make([]float64, len(c))
			for i := range m {
				for j := range n {
					s := float64(c[i*ldc+j])
					for p := range k {
						s += float64(a[i*lda+p]) * float64(b[j*ldb+p])
					}
					want[i*ldc+j] = s
				}
			}
			for i := range m {
				for j := n; j < ldc; j++ {
					want[i*ldc+j] = float64(c[i*ldc+j]) // untouched
				}
			}
			AddABt(m, n, k, a, lda, b, ldb, c, ldc)
			for i, w := range want {
				if d := float64(c[i]) - w; d > 1e-4*float64(k) || d < -1e-4*float64(k) {
					t.Fatalf("path %v %v: c[%d] = %v, want %v", asm, sz, i, c[i], w)
				}
			}
		}
	})
}
