package sgemm

import (
	"fmt"
	"math"
)

// The tile transforms of Winograd F(2×2, 3×3) convolutions (engine/cpu's winograd.go drives
// them). Both run over "virtual" tiles z of one plane: the cpu device lays a zero-padded input
// plane out as its even rows (pe) and its odd rows (po), each row 2·rowTiles floats, so that tile
// z = r·rowTiles + t (tile row r, tile column t; the last column of every row is garbage) reads
// the 4×4 block pe[2z : 2z+4], po[2z : 2z+4], pe[2z+2·rowTiles : …], po[2z+2·rowTiles : …],
// uniformly in z. The AVX-512 kernels take 16 tiles per step (a last partial step is redone
// over the 16 last tiles, which writes the same values again); the pure-Go loops are the
// reference, and every path gives the same bits (the same float32 operations in the same order).

// winoIdx holds the permutation indices of the kernels: even and odd lanes of two vectors
// (the input's deinterleave), then the low and high halves of their interleave (the output's),
// then the sign bit of every lane (the negations of WinoGrad).
var winoIdx = func() (p [80]int32) {
	for i := range 16 {
		p[i], p[16+i] = int32(2*i), int32(2*i+1)
		p[32+i] = int32(i/2 + 16*(i%2))
		p[48+i] = int32(8 + i/2 + 16*(i%2))
		p[64+i] = math.MinInt32
	}
	return
}()

// simdBlocks runs kernel (an AVX-512 transform) over the whole 16-tile blocks of n tiles, then
// over the last 16 tiles once more when n is not a multiple of 16 (the redone tiles get the same
// values again), and returns the first tile the Go loop still has to do: n, or 0 off the AVX-512
// path or for fewer than 16 tiles.
func simdBlocks(n int, kernel func(z0, blocks int)) int {
	if Current() != AVX512 || n < 16 {
		return 0
	}
	blocks := n / 16
	kernel(0, blocks)
	if blocks*16 < n {
		kernel(n-16, 1)
	}
	return n
}

// WinoIn writes the input transforms Bᵀ d B of tiles z < n: v[ξ·vs + z] for ξ = 4i + j. Each row
// k of a tile (pe, po, pe and po one tile row down) is first transformed along its columns,
// h_k = (a0−a2, a1+a2, a2−a1, a1−a3), then the rows are combined:
// (h_0−h_2, h_1+h_2, h_2−h_1, h_1−h_3). pe and po need 2·(n + rowTiles) + 2 floats.
func WinoIn(pe, po []float32, rowTiles, n int, v []float32, vs int) {
	if n <= 0 {
		return
	}
	if need := 2*(n+rowTiles) + 2; len(pe) < need || len(po) < need || len(v) < 15*vs+n {
		panic(fmt.Sprintf("sgemm: WinoIn: %d tiles of %d per row need %d floats per parity and %d of v; have %d, %d, %d",
			n, rowTiles, need, 15*vs+n, len(pe), len(po), len(v)))
	}
	z := simdBlocks(n, func(z0, blocks int) { winoInZ(&pe[2*z0], &po[2*z0], &v[z0], vs, 2*rowTiles, blocks, &winoIdx[0]) })
	rs := 2 * rowTiles
	for ; z < n; z++ {
		var h [4][4]float32
		for k, src := range [4][]float32{pe[2*z:], po[2*z:], pe[2*z+rs:], po[2*z+rs:]} {
			a0, a1, a2, a3 := src[0], src[1], src[2], src[3]
			h[k] = [4]float32{a0 - a2, a1 + a2, a2 - a1, a1 - a3}
		}
		for j := range 4 {
			v[j*vs+z] = h[0][j] - h[2][j]
			v[(4+j)*vs+z] = h[1][j] + h[2][j]
			v[(8+j)*vs+z] = h[2][j] - h[1][j]
			v[(12+j)*vs+z] = h[1][j] - h[3][j]
		}
	}
}

// WinoOut writes the output transforms Aᵀ m A of tiles z < n (m_ξ = m[ξ·ms + z]): the tile's
// top row to qe[2z], qe[2z+1] and its bottom row to qo[2z], qo[2z+1]. The rows of m are combined
// first, s0 = (m_0+m_1)+m_2 and s1 = (m_1−m_2)−m_3 (of rows), then the columns the same way.
// qe and qo need 2·n floats.
func WinoOut(m []float32, ms, n int, qe, qo []float32) {
	if n <= 0 {
		return
	}
	if len(qe) < 2*n || len(qo) < 2*n || len(m) < 15*ms+n {
		panic(fmt.Sprintf("sgemm: WinoOut: %d tiles need %d floats per row parity and %d of m; have %d, %d, %d",
			n, 2*n, 15*ms+n, len(qe), len(qo), len(m)))
	}
	z := simdBlocks(n, func(z0, blocks int) { winoOutZ(&m[z0], ms, &qe[2*z0], &qo[2*z0], blocks, &winoIdx[32]) })
	for ; z < n; z++ {
		var s0, s1 [4]float32
		for j := range 4 {
			m0, m1, m2, m3 := m[j*ms+z], m[(4+j)*ms+z], m[(8+j)*ms+z], m[(12+j)*ms+z]
			s0[j] = m0 + m1 + m2
			s1[j] = m1 - m2 - m3
		}
		qe[2*z], qe[2*z+1] = s0[0]+s0[1]+s0[2], s0[1]-s0[2]-s0[3]
		qo[2*z], qo[2*z+1] = s1[0]+s1[1]+s1[2], s1[1]-s1[2]-s1[3]
	}
}

// WinoGrad writes the transforms A y Aᵀ of output-gradient tiles z < n (the filter gradient's
// F(3×3, 2×2)): the tile's top row is qe[2z], qe[2z+1], its bottom row qo[2z], qo[2z+1] (the
// layout WinoOut writes), and w[ξ·ws + z] receives the 4×4 transform, ξ = 4i + j. With
// A = [1 0; 1 1; 1 −1; 0 −1], rows first: (y0, y0+y1, y0−y1, −y1) of the two rows, then the same
// along each row. qe and qo need 2·n floats.
func WinoGrad(qe, qo []float32, n int, w []float32, ws int) {
	if n <= 0 {
		return
	}
	if len(qe) < 2*n || len(qo) < 2*n || len(w) < 15*ws+n {
		panic(fmt.Sprintf("sgemm: WinoGrad: %d tiles need %d floats per row parity and %d of w; have %d, %d, %d",
			n, 2*n, 15*ws+n, len(qe), len(qo), len(w)))
	}
	z := simdBlocks(n, func(z0, blocks int) { winoGradZ(&qe[2*z0], &qo[2*z0], &w[z0], ws, blocks, &winoIdx[0]) })
	for ; z < n; z++ {
		y00, y01, y10, y11 := qe[2*z], qe[2*z+1], qo[2*z], qo[2*z+1]
		rows := [4][2]float32{{y00, y01}, {y00 + y10, y01 + y11}, {y00 - y10, y01 - y11}, {-y10, -y11}}
		for i, r := range rows {
			p, q := r[0], r[1]
			w[(4*i)*ws+z] = p
			w[(4*i+1)*ws+z] = p + q
			w[(4*i+2)*ws+z] = p - q
			w[(4*i+3)*ws+z] = -q
		}
	}
}
