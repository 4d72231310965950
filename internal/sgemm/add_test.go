package sgemm

import (
	"math"
	"math/rand"
	"testing"
)

func TestAdd(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	forPaths(t, func(t *testing.T, asm Path) {
		for n := 0; n < 200; n++ {
			for _, off := range []int{0, 1, 3} {
				dst, src := randSlice(r, n+off+5), randSlice(r, n+off+5)
				want := append([]float32(nil), dst...)
				for i := off; i < off+n; i++ {
					want[i] += src[i+1]
				}
				Add(dst[off:off+n], src[off+1:])
				for i := range want {
					if dst[i] != want[i] {
						t.Fatalf("path %v n %d off %d: dst[%d] = %v, want %v", asm, n, off, i, dst[i], want[i])
					}
				}
			}
		}
	})
}

func TestAddTo64(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	forPaths(t, func(t *testing.T, p Path) {
		for n := 0; n < 70; n++ {
			acc, x := make([]float64, n+1), vecInput(r, n+2)
			for i := range acc {
				acc[i] = r.NormFloat64()
			}
			want := append([]float64(nil), acc...)
			for i := range n {
				want[i] += float64(x[i+1])
			}
			AddTo64(acc[:n], x[1:])
			for i := range want {
				if math.Float64bits(acc[i]) != math.Float64bits(want[i]) && !(acc[i] != acc[i] && want[i] != want[i]) {
					t.Fatalf("path %v n %d: acc[%d] = %v, want %v", p, n, i, acc[i], want[i])
				}
			}
		}
	})
}
