// Package kern holds the experiment kernels that probe and hugek both time: the gemv loops of the
// commit before 29ea32a with PREFETCHT0 pf bytes ahead when pf > 0 (Dot4, Acc4), and 8-row variants.
package kern

//go:noescape
func Dot4(n int, a *float32, lda int, x *float32, out *[64]float32, pf int)

//go:noescape
func Dot8(n int, a *float32, lda int, x *float32, out *[128]float32)

//go:noescape
func Acc4(w int, a *float32, lda int, c *[4]float32, acc *float32, pf int)

//go:noescape
func Acc8(w int, a *float32, lda int, c *[8]float32, acc *float32)
