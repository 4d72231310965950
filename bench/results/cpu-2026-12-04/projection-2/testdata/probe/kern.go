package main

//go:noescape
func dot4(n int, a *float32, lda int, x *float32, out *[64]float32, pf int)

//go:noescape
func dot8(n int, a *float32, lda int, x *float32, out *[128]float32)

//go:noescape
func acc4(w int, a *float32, lda int, c *[4]float32, acc *float32, pf int)

//go:noescape
func acc8(w int, a *float32, lda int, c *[8]float32, acc *float32)
