//go:build !amd64

package sgemm

// Off amd64 only the pure-Go matrix–vector loops exist; these are never called.

func gemvDot4Z(n int, a *float32, lda int, x *float32, out *[64]float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func gemvDot4Y(n int, a *float32, lda int, x *float32, out *[32]float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func gemvAcc4Z(w int, a *float32, lda int, c *[4]float32, acc *float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}

func gemvAcc4Y(w int, a *float32, lda int, c *[4]float32, acc *float32) {
	panic("sgemm: assembly kernel called on a platform without one")
}
