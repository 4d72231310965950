package sgemm

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// eachGemvPath runs f on every kernel path this CPU supports.
func eachGemvPath(t *testing.T, f func(t *testing.T)) {
	forPaths(t, func(t *testing.T, _ Path) { f(t) })
}

// Both products against a float64 reference, on shapes whose rows and columns leave every kind
// of tail (m mod 4, n mod 32 and mod 16, two whole tiles and a partial one) and with lda beyond n.
func TestGemv(t *testing.T) {
	eachGemvPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, s := range []struct{ m, n, lda int }{{1, 1, 1}, {3, 7, 9}, {4, 32, 32}, {5, 47, 50}, {9, 100, 101}, {13, 2100, 2100}, {7, 4100, 4111}, {17, 6000, 6000}, {6, 2*gemvTile + 45, 2*gemvTile + 51}} {
			a := make([]float32, (s.m-1)*s.lda+s.n)
			for i := range a {
				a[i] = float32(r.NormFloat64())
			}
			xn, xt := make([]float32, s.n), make([]float32, s.m)
			for i := range xn {
				xn[i] = float32(r.NormFloat64())
			}
			for i := range xt {
				if i%5 != 2 { // some zero coefficients: skipped rows
					xt[i] = float32(r.NormFloat64())
				}
			}
			for _, beta := range []float32{0, 1, -0.5} {
				yn, yt := make([]float32, s.m), make([]float32, s.n)
				for i := range yn {
					yn[i] = float32(i%3) - 1
				}
				for i := range yt {
					yt[i] = float32(i%5) - 2
				}
				wantN, wantT := make([]float64, s.m), make([]float64, s.n)
				for i := range s.m {
					var sum float64
					for j := range s.n {
						sum += float64(a[i*s.lda+j]) * float64(xn[j])
					}
					wantN[i] = 0.75*sum + float64(beta)*float64(yn[i])
				}
				for j := range s.n {
					var sum float64
					for i := range s.m {
						sum += float64(a[i*s.lda+j]) * float64(xt[i])
					}
					wantT[j] = 0.75*sum + float64(beta)*float64(yt[j])
				}
				GemvDots(0, s.m, s.n, 0.75, a, s.lda, xn, beta, yn)
				GemvAccCols(0, s.n, s.m, s.n, 0.75, a, s.lda, xt, beta, yt)
				// float32 sums of n (or m) unit-variance terms: error ~ √n·ε per term scale.
				tolN, tolT := 1e-5*math.Sqrt(float64(s.n))+1e-6, 1e-5*math.Sqrt(float64(s.m))+1e-6
				for i, w := range wantN {
					if math.Abs(float64(yn[i])-w) > tolN*(1+math.Abs(w)) {
						t.Fatalf("%+v beta %v: dot %d = %v, want %v", s, beta, i, yn[i], w)
					}
				}
				for j, w := range wantT {
					if math.Abs(float64(yt[j])-w) > tolT*(1+math.Abs(w)) {
						t.Fatalf("%+v beta %v: column %d = %v, want %v", s, beta, j, yt[j], w)
					}
				}
			}
		}
	})
}

// However the rows or columns are split between calls (as the cpu device splits them between
// cores), every output is bit-identical: column cuts at any multiple of GemvColAlign, inside or
// across tiles, and a last range ending at n.
func TestGemvSplitInvariant(t *testing.T) {
	eachGemvPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		m, n, lda := 23, 2*gemvTile+77, 2*gemvTile+80
		a := make([]float32, (m-1)*lda+n)
		for i := range a {
			a[i] = float32(r.NormFloat64())
		}
		xn, xt := make([]float32, n), make([]float32, m)
		for i := range xn {
			xn[i] = float32(r.NormFloat64())
		}
		for i := range xt {
			xt[i] = float32(r.NormFloat64())
		}
		whole, split := make([]float32, m), make([]float32, m)
		GemvDots(0, m, n, 1, a, lda, xn, 0, whole)
		for _, cut := range [][2]int{{0, 1}, {1, 6}, {6, 7}, {7, 16}, {16, 23}} {
			GemvDots(cut[0], cut[1], n, 1, a, lda, xn, 0, split)
		}
		if !slices.Equal(whole, split) {
			t.Errorf("dots depend on the split: %v vs %v", whole[:4], split[:4])
		}
		wholeT := make([]float32, n)
		GemvAccCols(0, n, m, n, 1, a, lda, xt, 0, wholeT)
		const q = GemvColAlign
		for _, cuts := range [][]int{
			{0, q, 5 * q, gemvTile - q, gemvTile + 3*q, n},
			{0, n / q / 2 * q, n},                    // two halves, as on two cores
			{0, n / q / 3 * q, 2 * n / q / 3 * q, n}, // three
			{0, 2 * gemvTile, n},                     // the last range only the tail tile
		} {
			splitT := make([]float32, n)
			for k := range len(cuts) - 1 {
				GemvAccCols(cuts[k], cuts[k+1], m, n, 1, a, lda, xt, 0, splitT)
			}
			if !slices.Equal(wholeT, splitT) {
				t.Errorf("columns depend on the split %v", cuts)
			}
		}
	})
}

// A column range off the GemvColAlign grid is a caller's bug, refused rather than computed with
// other rounding.
func TestGemvAccColsMisaligned(t *testing.T) {
	a, x, y := make([]float32, 2*100), make([]float32, 2), make([]float32, 100)
	for _, r := range [][2]int{{1, 100}, {0, 33}, {32, 50}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("columns %v of 100: no panic", r)
				}
			}()
			GemvAccCols(r[0], r[1], 2, 100, 1, a, 100, x, 0, y)
		}()
	}
	GemvAccCols(32, 64, 2, 100, 1, a, 100, x, 0, y)  // on the grid
	GemvAccCols(64, 100, 2, 100, 1, a, 100, x, 0, y) // ending at n
}
