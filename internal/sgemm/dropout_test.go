package sgemm

import (
	"math"
	"math/rand"
	"testing"

	"github.com/gazeml/gaze/engine/rng"
)

// Dropout against rng.Philox4x32 element by element, bit for bit (special values in x
// included): counters with a high word, next to the low word's wrap (where the kernel stops
// short and leaves the blocks past it), and keys with both halves set; elements past what it
// reports stay untouched. Off the AVX512 path it does nothing.
func TestDropout(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	forPaths(t, func(t *testing.T, path Path) {
		for _, tc := range []struct {
			blk   uint64
			n     int
			wantN int // elements done on the AVX512 path
		}{
			{0, 15, 0}, {0, 16, 16}, {5, 80, 80}, {3<<32 + 7, 83, 80}, {1<<32 - 64, 300, 256},
			{1<<32 - 2, 64, 0}, {1<<32 - 5, 64, 16}, {1<<32 - 8, 64, 32}, {1<<33 - 9, 200, 32},
		} {
			x := vecInput(r, tc.n+1)[1:] // unaligned
			mask, y := make([]float32, tc.n+1), make([]float32, tc.n+1)
			mask[tc.n], y[tc.n] = 7, 7
			seed := r.Uint64()
			p := float32(r.Float64())
			keep := 1 / (1 - p)
			got := Dropout(x, mask[:tc.n], y[:tc.n], tc.blk, seed, p, keep)
			want := tc.wantN
			if path != AVX512 {
				want = 0
			}
			if got != want {
				t.Fatalf("block %#x, %d elements: did %d, want %d", tc.blk, tc.n, got, want)
			}
			wm, wy := make([]float32, got), make([]float32, got)
			for i := range got {
				w := rng.Philox4x32([4]uint32{uint32(tc.blk + uint64(i/4)), uint32((tc.blk + uint64(i/4)) >> 32)}, [2]uint32{uint32(seed), uint32(seed >> 32)})
				if float32(w[i%4]>>8)*(1.0/(1<<24)) >= p {
					wm[i] = keep
				}
				wy[i] = x[i] * wm[i]
			}
			sameBits(t, "Dropout mask", path, tc.n, mask[:got], wm)
			sameBits(t, "Dropout y", path, tc.n, y[:got], wy)
			for i := got; i < tc.n; i++ {
				if mask[i] != 0 || y[i] != 0 {
					t.Fatalf("block %#x: element %d past the %d done was written", tc.blk, i, got)
				}
			}
			if mask[tc.n] != 7 || y[tc.n] != 7 {
				t.Fatal("wrote past the end")
			}
			if got > 0 {
				kept := 0
				for _, m := range mask[:got] {
					if m != 0 {
						kept++
					}
				}
				if rate := float64(kept) / float64(got); got >= 256 && math.Abs(rate-float64(1-p)) > 0.15 {
					t.Errorf("keep rate %.3f, want %.3f", rate, 1-p)
				}
			}
		}
	})
}
