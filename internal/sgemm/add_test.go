package sgemm

import (
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
