//go:build amd64

package sgemm

// The dense projection's matrix–vector kernels (gemv_amd64.s). Each needs AVX-512F (Z) or
// AVX2+FMA (Y) and reads four rows of A, lda elements apart.

//go:noescape
func gemvDot4Z(n int, a *float32, lda int, x *float32, out *[64]float32)

//go:noescape
func gemvDot4Y(n int, a *float32, lda int, x *float32, out *[32]float32)

//go:noescape
func gemvAcc4Z(w int, a *float32, lda int, c *[4]float32, acc *float32)

//go:noescape
func gemvAcc4Y(w int, a *float32, lda int, c *[4]float32, acc *float32)

// gemvHasZ reports whether the CPU has AVX-512F and the OS saves the opmask and ZMM state
// (XCR0 bits 1, 2 and 5-7): what the Z kernels need.
var gemvHasZ = func() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 || !hasAVX2FMA {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&0xe6 != 0xe6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const avx512f = 1 << 16
	return ebx7&avx512f != 0
}()
