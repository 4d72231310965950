package sgemm

import "fmt"

// The tile transforms of Winograd F(2×2, 5×5) convolutions, on the layout of F(2×2, 3×3)'s
// (winograd.go): a zero-padded input plane as its even rows pe and odd rows po, rows of
// 2·rowTiles floats, so that virtual tile z reads the 6×6 block pe[2z : 2z+6], po[2z : …],
// pe[2z+2·rowTiles : …], po[…], pe[2z+4·rowTiles : …], po[…]; each tile row has two garbage
// tiles past its end. The matrices (Lavin and Gray's construction on the points 0, ±1, ±2, ∞;
// F(4×4, 3×3) has the same Bᵀ):
//
//	Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1],
//	Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 1],
//	G  = [¼ 0 0 0 0; −⅙ −⅙ −⅙ −⅙ −⅙; −⅙ ⅙ −⅙ ⅙ −⅙; 1/24 1/12 ⅙ ⅓ ⅔; 1/24 −1/12 ⅙ −⅓ ⅔; 0 0 0 0 1].
//
// Every multiplication in the transforms is by 2 or 4, which is exact, so a fused multiply-add
// rounds as the separate multiply and add do and the AVX-512 kernels give the Go loops' bits.
// As in winograd.go, the kernels take 16 tiles per step and redo a last partial step over the
// 16 last tiles.

// winoBT6 is Bᵀ·d in the order the kernels compute it: with c = d4−d2 and e = d3−d1,
// a = d4−4d2 and b = d3−4d1: (4(d0−d2) + c, a+b, a−b, c+2e, c−2e, (d5−d3) − 4e).
func winoBT6(d0, d1, d2, d3, d4, d5 float32) [6]float32 {
	c, e := d4-d2, d3-d1
	a, b := d4-float32(4*d2), d3-float32(4*d1)
	return [6]float32{float32(4*(d0-d2)) + c, a + b, a - b, c + float32(2*e), c - float32(2*e), (d5 - d3) - float32(4*e)}
}

// winoAT6 is Aᵀ·m: (m0 + (m1+m2)) + (m3+m4) and ((m1−m2) + 2(m3−m4)) + m5.
func winoAT6(m0, m1, m2, m3, m4, m5 float32) (float32, float32) {
	return (m0 + (m1 + m2)) + (m3 + m4), ((m1 - m2) + float32(2*(m3-m4))) + m5
}

// winoA6 is A·(p, q) with A = (Aᵀ)ᵀ: (p, p+q, p−q, p+2q, p−2q, q).
func winoA6(p, q float32) [6]float32 {
	return [6]float32{p, p + q, p - q, p + float32(2*q), p - float32(2*q), q}
}

// Wino5In writes the input transforms Bᵀ d B of tiles z < n: v[ξ·vs + z] for ξ = 6i + j. Each
// row of a tile is transformed along its columns first, then the columns of the result. pe and
// po need 2·(n + 2·rowTiles) + 4 floats.
func Wino5In(pe, po []float32, rowTiles, n int, v []float32, vs int) {
	if n <= 0 {
		return
	}
	if need := 2*(n+2*rowTiles) + 4; len(pe) < need || len(po) < need || len(v) < 35*vs+n {
		panic(fmt.Sprintf("sgemm: Wino5In: %d tiles of %d per row need %d floats per parity and %d of v; have %d, %d, %d",
			n, rowTiles, need, 35*vs+n, len(pe), len(po), len(v)))
	}
	z := simdBlocks(n, func(z0, blocks int) {
		wino5InZ(&pe[2*z0], &po[2*z0], &v[z0], vs, 2*rowTiles, blocks, &winoIdx[0], &wino6Const[0])
	})
	rs := 2 * rowTiles
	for ; z < n; z++ {
		var h [6][6]float32
		for i, src := range [6][]float32{pe[2*z:], po[2*z:], pe[2*z+rs:], po[2*z+rs:], pe[2*z+2*rs:], po[2*z+2*rs:]} {
			h[i] = winoBT6(src[0], src[1], src[2], src[3], src[4], src[5])
		}
		for j := range 6 {
			t := winoBT6(h[0][j], h[1][j], h[2][j], h[3][j], h[4][j], h[5][j])
			for i := range 6 {
				v[(6*i+j)*vs+z] = t[i]
			}
		}
	}
}

// Wino5Out writes the output transforms Aᵀ m A of tiles z < n (m_ξ = m[ξ·ms + z]): the tile's
// top row to qe[2z], qe[2z+1] and its bottom row to qo[2z], qo[2z+1]. Each row of m is combined
// first, then the columns of the result. qe and qo need 2·n floats.
func Wino5Out(m []float32, ms, n int, qe, qo []float32) {
	if n <= 0 {
		return
	}
	if len(qe) < 2*n || len(qo) < 2*n || len(m) < 35*ms+n {
		panic(fmt.Sprintf("sgemm: Wino5Out: %d tiles need %d floats per row parity and %d of m; have %d, %d, %d",
			n, 2*n, 35*ms+n, len(qe), len(qo), len(m)))
	}
	z := simdBlocks(n, func(z0, blocks int) {
		wino5OutZ(&m[z0], ms, &qe[2*z0], &qo[2*z0], blocks, &winoIdx[32], &wino6Const[0])
	})
	for ; z < n; z++ {
		var r0, r1 [6]float32
		for i := range 6 {
			o := 6*i*ms + z // m_(6i+j) at o + j·ms
			r0[i], r1[i] = winoAT6(m[o], m[o+ms], m[o+2*ms], m[o+3*ms], m[o+4*ms], m[o+5*ms])
		}
		y00, y10 := winoAT6(r0[0], r0[1], r0[2], r0[3], r0[4], r0[5])
		y01, y11 := winoAT6(r1[0], r1[1], r1[2], r1[3], r1[4], r1[5])
		qe[2*z], qe[2*z+1] = y00, y01
		qo[2*z], qo[2*z+1] = y10, y11
	}
}

// Wino5Grad writes the transforms A y Aᵀ of output-gradient tiles z < n (the filter gradient's
// F(5×5, 2×2)): the tile's top row is qe[2z], qe[2z+1], its bottom row qo[2z], qo[2z+1], and
// w[ξ·ws + z] receives the 6×6 transform, ξ = 6i + j; the columns first, then the rows of the
// result. qe and qo need 2·n floats.
func Wino5Grad(qe, qo []float32, n int, w []float32, ws int) {
	if n <= 0 {
		return
	}
	if len(qe) < 2*n || len(qo) < 2*n || len(w) < 35*ws+n {
		panic(fmt.Sprintf("sgemm: Wino5Grad: %d tiles need %d floats per row parity and %d of w; have %d, %d, %d",
			n, 2*n, 35*ws+n, len(qe), len(qo), len(w)))
	}
	z := simdBlocks(n, func(z0, blocks int) {
		wino5GradZ(&qe[2*z0], &qo[2*z0], &w[z0], ws, blocks, &winoIdx[0], &wino6Const[0])
	})
	for ; z < n; z++ {
		c0, c1 := winoA6(qe[2*z], qo[2*z]), winoA6(qe[2*z+1], qo[2*z+1])
		for i := range 6 {
			t := winoA6(c0[i], c1[i])
			for j := range 6 {
				w[(6*i+j)*ws+z] = t[j]
			}
		}
	}
}
