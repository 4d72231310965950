package sgemm

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"
)

// checkSandwich compares a transformed tile with L·X·Lᵀ in float64: got(a, b) against
// Σ_k Σ_j l[a][k]·x(k, j)·l[b][j] for every a and b, within tol.
func checkSandwich(t *testing.T, what string, l [][]float64, x func(k, j int) float32, got func(a, b int) float32, tol float64) {
	t.Helper()
	for a := range l {
		for b := range l {
			var s float64
			for k := range l[a] {
				for j := range l[b] {
					s += l[a][k] * float64(x(k, j)) * l[b][j]
				}
			}
			if g := float64(got(a, b)); !(math.Abs(g-s) <= tol) {
				t.Fatalf("%s[%d][%d] = %v, want %v", what, a, b, g, s)
			}
		}
	}
}

// wino6BT is the 6×6 tiles' Bᵀ (F(2×2, 5×5) and F(4×4, 3×3)).
var wino6BT = [][]float64{{4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}}

// checkWino6 checks tile z of a 6×6-tile form's three transforms against float64 (within 1e-4):
// v against Bᵀ d B (d: the tile's six input rows), y(a, b) against Aᵀ m A, and w against
// A g Aᵀ (g(k, j): the output-gradient tile).
func checkWino6(t *testing.T, what string, at [][]float64, d [6][]float32, vs, z int, v, m, w []float32, y, g func(a, b int) float32) {
	t.Helper()
	checkSandwich(t, what+"V", wino6BT, func(k, j int) float32 { return d[k][j] },
		func(a, b int) float32 { return v[(6*a+b)*vs+z] }, 1e-4)
	checkSandwich(t, what+"Y", at, func(k, j int) float32 { return m[(6*k+j)*vs+z] }, y, 1e-4)
	checkSandwich(t, what+"W", transpose(at), g, func(a, b int) float32 { return w[(6*a+b)*vs+z] }, 1e-4)
}

// transpose returns mᵀ (A from Aᵀ).
func transpose(m [][]float64) [][]float64 {
	tr := make([][]float64, len(m[0]))
	for j := range tr {
		tr[j] = make([]float64, len(m))
		for i := range m {
			tr[j][i] = m[i][j]
		}
	}
	return tr
}

// TestWinoTransforms: every path's tile transforms give the pure-Go loops' bits, for tile counts
// below, at and past whole 16-tile steps (the last partial step redone).
func TestWinoTransforms(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	for _, n := range []int{1, 5, 15, 16, 17, 20, 37, 64, 85} {
		rowTiles := 1 + n%7
		pe, po := randSlice(r, 2*(n+rowTiles)+2), randSlice(r, 2*(n+rowTiles)+2)
		vs := n + 3
		m := randSlice(r, 16*vs)
		ge, gqo := randSlice(r, 2*n), randSlice(r, 2*n)
		var first [4][]float32
		for i, p := range Supported() {
			prev, _ := SetPath(p)
			v, qe, qo, gw := make([]float32, 16*vs), make([]float32, 2*n), make([]float32, 2*n), make([]float32, 16*vs)
			WinoIn(pe, po, rowTiles, n, v, vs)
			WinoOut(m, vs, n, qe, qo)
			WinoGrad(ge, gqo, n, gw, vs)
			SetPath(prev)
			got := [4][]float32{v, qe, qo, gw}
			if i == 0 {
				first = got
				// The reference for one tile: Bᵀ d B and Aᵀ m A in float64.
				z := n - 1
				d := [4][]float32{pe[2*z:], po[2*z:], pe[2*z+2*rowTiles:], po[2*z+2*rowTiles:]}
				bt := [][]float64{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
				at := [][]float64{{1, 1, 1, 0}, {0, 1, -1, -1}}
				checkSandwich(t, fmt.Sprintf("n %d: V", n), bt, func(k, j int) float32 { return d[k][j] },
					func(a, b int) float32 { return v[(4*a+b)*vs+z] }, 1e-5)
				checkSandwich(t, fmt.Sprintf("n %d: Y", n), at, func(k, j int) float32 { return m[(4*k+j)*vs+z] },
					func(a, b int) float32 { return [2][]float32{qe, qo}[a][2*z+b] }, 1e-5)
				y := [2][]float32{ge[2*z:], gqo[2*z:]}
				checkSandwich(t, fmt.Sprintf("n %d: WinoGrad", n), transpose(at), func(k, j int) float32 { return y[k][j] },
					func(a, b int) float32 { return gw[(4*a+b)*vs+z] }, 1e-5)
				continue
			}
			for k, name := range []string{"WinoIn", "WinoOut top", "WinoOut bottom", "WinoGrad"} {
				if !slices.Equal(got[k], first[k]) {
					t.Errorf("n %d: %s on %v differs from %v", n, name, p, Supported()[0])
				}
			}
		}
	}
}

// TestWino5Transforms: the F(2×2, 5×5) transforms against Bᵀ d B, Aᵀ m A and A y Aᵀ in float64
// for every tile, and every path's bits against the pure-Go loops', for tile counts below, at
// and past whole 16-tile steps.
func TestWino5Transforms(t *testing.T) {
	at := [][]float64{{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 1}}
	r := rand.New(rand.NewSource(13))
	for _, n := range []int{1, 5, 15, 16, 17, 20, 37, 64, 85} {
		rowTiles := 2 + n%7
		pe, po := randSlice(r, 2*(n+2*rowTiles)+4), randSlice(r, 2*(n+2*rowTiles)+4)
		vs := n + 3
		m := randSlice(r, 36*vs)
		ge, gqo := randSlice(r, 2*n), randSlice(r, 2*n)
		var first [4][]float32
		for i, p := range Supported() {
			prev, _ := SetPath(p)
			v, qe, qo, gw := make([]float32, 36*vs), make([]float32, 2*n), make([]float32, 2*n), make([]float32, 36*vs)
			Wino5In(pe, po, rowTiles, n, v, vs)
			Wino5Out(m, vs, n, qe, qo)
			Wino5Grad(ge, gqo, n, gw, vs)
			SetPath(prev)
			got := [4][]float32{v, qe, qo, gw}
			if i > 0 {
				for k, name := range []string{"Wino5In", "Wino5Out top", "Wino5Out bottom", "Wino5Grad"} {
					if !slices.Equal(got[k], first[k]) {
						t.Errorf("n %d: %s on %v differs from %v", n, name, p, Supported()[0])
					}
				}
				continue
			}
			first = got
			rs := 2 * rowTiles
			for z := range n {
				d := [6][]float32{pe[2*z:], po[2*z:], pe[2*z+rs:], po[2*z+rs:], pe[2*z+2*rs:], po[2*z+2*rs:]}
				checkWino6(t, fmt.Sprintf("n %d tile %d: ", n, z), at, d, vs, z, v, m, gw,
					func(a, b int) float32 { return [2][]float32{qe, qo}[a][2*z+b] },
					func(k, j int) float32 { return [2][]float32{ge, gqo}[k][2*z+j] })
			}
		}
	}
}

// TestWino4Transforms: the F(4×4, 3×3) transforms against Bᵀ d B, Aᵀ m A and A y Aᵀ in float64
// for every tile, and every path's bits against the pure-Go loops', for tile counts below, at
// and past whole 16-tile steps.
func TestWino4Transforms(t *testing.T) {
	at := [][]float64{{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}}
	r := rand.New(rand.NewSource(14))
	for _, n := range []int{1, 5, 15, 16, 17, 20, 37, 64, 85} {
		rowTiles := 2 + n%5
		rs := 4 * rowTiles
		ps := 4*n + rs + 16 + n%3
		p := randSlice(r, 4*ps)
		vs, qs := n+3, 4*n+1+n%2
		m := randSlice(r, 36*vs)
		gq := randSlice(r, 4*qs)
		var first [3][]float32
		for i, path := range Supported() {
			prev, _ := SetPath(path)
			v, q, gw := make([]float32, 36*vs), make([]float32, 4*qs), make([]float32, 36*vs)
			Wino4In(p, ps, rowTiles, n, v, vs)
			Wino4Out(m, vs, n, q, qs)
			Wino4Grad(gq, qs, n, gw, vs)
			SetPath(prev)
			got := [3][]float32{v, q, gw}
			if i > 0 {
				for k, name := range []string{"Wino4In", "Wino4Out", "Wino4Grad"} {
					if !slices.Equal(got[k], first[k]) {
						t.Errorf("n %d: %s on %v differs from %v", n, name, path, Supported()[0])
					}
				}
				continue
			}
			first = got
			for z := range n {
				var d [6][]float32
				for k := range 6 {
					d[k] = p[k%4*ps+k/4*rs+4*z:]
				}
				checkWino6(t, fmt.Sprintf("n %d tile %d: ", n, z), at, d, vs, z, v, m, gw,
					func(a, b int) float32 { return q[a*qs+4*z+b] },
					func(k, j int) float32 { return gq[k*qs+4*z+j] })
			}
		}
	}
}
