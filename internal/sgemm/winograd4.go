package sgemm

import "fmt"

// The tile transforms of Winograd F(4×4, 3×3) convolutions: 4×4 output tiles from 6×6 input
// tiles, on the points 0, ±1, ±2, ∞ (Lavin and Gray), with F(2×2, 5×5)'s Bᵀ (winograd5.go) and
//
//	Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1],
//	G  = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1].
//
// The tiles step 4 pixels, so the cpu device lays a zero-padded plane out as its four row
// phases (row 4i+s of the plane is row i of phase s, phase s at p[s·ps:]), each row
// 4·rowTiles floats: virtual tile z = r·rowTiles + t reads the 6×6 block at p[s·ps + 4z : …]
// for s = 0…3 and p[s·ps + 4z + 4·rowTiles : …] for s = 0, 1, uniformly in z (the last tile of
// each row is garbage). The output (and output-gradient) tiles lie the same way in four phases
// of q: row a of tile z at q[a·qs + 4z : 4z+4].
//
// Every multiplication in the transforms is by 2, 4 or 8, which is exact, so a fused multiply-add
// rounds as the separate multiply and add do and the AVX-512 kernels give the Go loops' bits.
// The kernels take 16 tiles per step and redo a last partial step over the 16 last tiles.

// wino6Const holds the constants of the 6×6-tile kernels (F(4×4, 3×3) and F(2×2, 5×5)): sixteen
// 2s, sixteen 4s and sixteen 8s.
var wino6Const = func() (c [48]float32) {
	for i := range 16 {
		c[i], c[16+i], c[32+i] = 2, 4, 8
	}
	return
}()

// wino4Idx holds the permutation indices of the F(4×4, 3×3) kernels: the lanes j, j+4, …, j+28
// of two vectors for j = 0 (lanes 0–7 of the result) and 1 (lanes 8–15), the same for j = 2 and
// 3, lanes 1–15 of one vector then lane 0 or 1 of another (a column shifted by one tile), the low
// and high halves of the interleave of two vectors' lanes (winoIdx's), and of two vectors' pairs
// of lanes (64-bit indices).
var wino4Idx = func() (p [128]int32) {
	for i := range 8 {
		p[i], p[8+i] = int32(4*i), int32(4*i+1)
		p[16+i], p[24+i] = int32(4*i+2), int32(4*i+3)
	}
	for i := range 16 {
		p[32+i], p[48+i] = int32(i+1), int32(i+1)
		p[64+i] = int32(i/2 + 16*(i%2))
		p[80+i] = int32(8 + i/2 + 16*(i%2))
	}
	p[47], p[63] = 16, 17
	// 64-bit lanes (pairs of int32: index, 0): the low and high halves of the pairs' interleave.
	for i := range 8 {
		p[96+2*i] = int32(i/2 + 8*(i%2))
		p[112+2*i] = int32(4 + i/2 + 8*(i%2))
	}
	return
}()

// winoAT4 is Aᵀ·m for F(4×4, 3×3): with a = m1+m2, b = m1−m2, c = m3+m4 and d = m3−m4,
// ((m0+a)+c, b+2d, a+4c, (b+8d)+m5).
func winoAT4(m0, m1, m2, m3, m4, m5 float32) [4]float32 {
	a, b, c, d := m1+m2, m1-m2, m3+m4, m3-m4
	return [4]float32{(m0 + a) + c, b + float32(2*d), a + float32(4*c), (b + float32(8*d)) + m5}
}

// winoA4 is A·y for F(4×4, 3×3)'s A = (Aᵀ)ᵀ: with p = y0+y2, q = y1+y3, r = y0+4y2 and
// s = 2y1+8y3, (y0, p+q, p−q, r+s, r−s, y3).
func winoA4(y0, y1, y2, y3 float32) [6]float32 {
	p, q := y0+y2, y1+y3
	r, s := y0+float32(4*y2), float32(2*y1)+float32(8*y3)
	return [6]float32{y0, p + q, p - q, r + s, r - s, y3}
}

// Wino4In writes the input transforms Bᵀ d B of tiles z < n: v[ξ·vs + z] for ξ = 6i + j. Each
// row of a tile is transformed along its columns first, then the columns of the result. p holds
// the four row phases at stride ps, each of 4·n + 4·rowTiles + 16 floats or more.
func Wino4In(p []float32, ps, rowTiles, n int, v []float32, vs int) {
	if n <= 0 {
		return
	}
	rs := 4 * rowTiles
	if need := 4*n + rs + 16; ps < need || len(p) < 3*ps+need || len(v) < 35*vs+n {
		panic(fmt.Sprintf("sgemm: Wino4In: %d tiles of %d per row need phases of %d floats and %d of v; have phase stride %d, %d floats, %d",
			n, rowTiles, need, 35*vs+n, ps, len(p), len(v)))
	}
	z := simdBlocks(n, func(z0, blocks int) {
		wino4InZ(&p[4*z0], ps, &v[z0], vs, rs, blocks, &wino4Idx[0], &wino6Const[0])
	})
	for ; z < n; z++ {
		var h [6][6]float32
		for i, o := range [6]int{0, ps, 2 * ps, 3 * ps, rs, ps + rs} {
			d := p[o+4*z:]
			h[i] = winoBT6(d[0], d[1], d[2], d[3], d[4], d[5])
		}
		for j := range 6 {
			t := winoBT6(h[0][j], h[1][j], h[2][j], h[3][j], h[4][j], h[5][j])
			for i := range 6 {
				v[(6*i+j)*vs+z] = t[i]
			}
		}
	}
}

// Wino4Out writes the output transforms Aᵀ m A of tiles z < n (m_ξ = m[ξ·ms + z]): row a of the
// tile to q[a·qs + 4z : 4z+4]. Each row of m is combined first, then the columns of the result.
// The phases of q need 4·n floats.
func Wino4Out(m []float32, ms, n int, q []float32, qs int) {
	if n <= 0 {
		return
	}
	if qs < 4*n || len(q) < 3*qs+4*n || len(m) < 35*ms+n {
		panic(fmt.Sprintf("sgemm: Wino4Out: %d tiles need phases of %d floats and %d of m; have phase stride %d, %d floats, %d",
			n, 4*n, 35*ms+n, qs, len(q), len(m)))
	}
	z := simdBlocks(n, func(z0, blocks int) {
		wino4OutZ(&m[z0], ms, &q[4*z0], qs, blocks, &wino4Idx[0], &wino6Const[0])
	})
	for ; z < n; z++ {
		var t [6][4]float32
		for k := range 6 {
			o := 6*k*ms + z
			t[k] = winoAT4(m[o], m[o+ms], m[o+2*ms], m[o+3*ms], m[o+4*ms], m[o+5*ms])
		}
		for b := range 4 {
			y := winoAT4(t[0][b], t[1][b], t[2][b], t[3][b], t[4][b], t[5][b])
			for a := range 4 {
				q[a*qs+4*z+b] = y[a]
			}
		}
	}
}

// Wino4Grad writes the transforms A y Aᵀ of output-gradient tiles z < n (the filter gradient's
// F(3×3, 4×4)): row a of tile z is q[a·qs + 4z : 4z+4] (the layout Wino4Out writes), and
// w[ξ·ws + z] receives the 6×6 transform, ξ = 6i + j; the rows first, then the columns of the
// result. The phases of q need 4·n floats.
func Wino4Grad(q []float32, qs, n int, w []float32, ws int) {
	if n <= 0 {
		return
	}
	if qs < 4*n || len(q) < 3*qs+4*n || len(w) < 35*ws+n {
		panic(fmt.Sprintf("sgemm: Wino4Grad: %d tiles need phases of %d floats and %d of w; have phase stride %d, %d floats, %d",
			n, 4*n, 35*ws+n, qs, len(q), len(w)))
	}
	z := simdBlocks(n, func(z0, blocks int) {
		wino4GradZ(&q[4*z0], qs, &w[z0], ws, blocks, &wino4Idx[0], &wino6Const[0])
	})
	for ; z < n; z++ {
		var t [4][6]float32
		for a := range 4 {
			y := q[a*qs+4*z:]
			t[a] = winoA4(y[0], y[1], y[2], y[3])
		}
		for j := range 6 {
			c := winoA4(t[0][j], t[1][j], t[2][j], t[3][j])
			for i := range 6 {
				w[(6*i+j)*ws+z] = c[i]
			}
		}
	}
}
