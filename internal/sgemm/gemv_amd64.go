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
