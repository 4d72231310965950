//go:build cuda

package cuda

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

// TestFastDiv checks the FastDiv constants against integer division, computed as the kernels do
// (umulhi, a 32-bit add, a shift): every divisor up to 5,000 and powers of two and their
// neighbours up to 2^31 − 1, on the dividends near multiples, the ends of the range and random ones.
func TestFastDiv(t *testing.T) {
	div := func(n uint32, packed uint64) uint32 {
		mul, shift := uint32(packed), uint32(packed>>32)
		hi, _ := bits.Mul32(n, mul)
		return (hi + n) >> shift
	}
	var ds []int
	for d := 1; d <= 5000; d++ {
		ds = append(ds, d)
	}
	for s := 13; s < 31; s++ {
		ds = append(ds, 1<<s-1, 1<<s, 1<<s+1, 3<<(s-2))
	}
	ds = append(ds, 1<<31-1)
	r := rand.New(rand.NewPCG(1, 2))
	for _, d := range ds {
		p := fastDiv(d)
		check := func(n uint32) {
			if n >= 1<<31 {
				return
			}
			if got, want := div(n, p), n/uint32(d); got != want {
				t.Fatalf("%d / %d: FastDiv gives %d, want %d", n, d, got, want)
			}
		}
		for _, n := range []uint32{0, 1, 1<<31 - 1, 1<<31 - 2, uint32(d) - 1, uint32(d), uint32(d) + 1} {
			check(n)
		}
		for q := uint32(1<<31-1) / uint32(d); q > 0; q /= 3 {
			check(q*uint32(d) - 1)
			check(q * uint32(d))
		}
		for range 200 {
			check(r.Uint32() >> 1)
		}
	}
}
