package sgemm

import (
	"math/rand"
	"slices"
	"testing"
)

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
				bt := [4][4]float64{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
				for a := range 4 {
					for b := range 4 {
						var s float64
						for k := range 4 {
							for j := range 4 {
								s += bt[a][k] * float64(d[k][j]) * bt[b][j]
							}
						}
						if g := float64(v[(4*a+b)*vs+z]); g-s > 1e-5 || s-g > 1e-5 {
							t.Fatalf("n %d: V[%d][%d] = %v, want %v", n, a, b, g, s)
						}
					}
				}
				at := [2][4]float64{{1, 1, 1, 0}, {0, 1, -1, -1}}
				for a := range 2 {
					for b := range 2 {
						var s float64
						for k := range 4 {
							for j := range 4 {
								s += at[a][k] * float64(m[(4*k+j)*vs+z]) * at[b][j]
							}
						}
						g := float64([2][]float32{qe, qo}[a][2*z+b])
						if g-s > 1e-5 || s-g > 1e-5 {
							t.Fatalf("n %d: Y[%d][%d] = %v, want %v", n, a, b, g, s)
						}
					}
				}
				a4 := [4][2]float64{{1, 0}, {1, 1}, {1, -1}, {0, -1}}
				yt := [2][2]float64{{float64(ge[2*z]), float64(ge[2*z+1])}, {float64(gqo[2*z]), float64(gqo[2*z+1])}}
				for a := range 4 {
					for b := range 4 {
						var s float64
						for k := range 2 {
							for j := range 2 {
								s += a4[a][k] * yt[k][j] * a4[b][j]
							}
						}
						if g := float64(gw[(4*a+b)*vs+z]); g-s > 1e-5 || s-g > 1e-5 {
							t.Fatalf("n %d: WinoGrad[%d][%d] = %v, want %v", n, a, b, g, s)
						}
					}
				}
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
	bt := [6][6]float64{{4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}}
	at := [2][6]float64{{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 1}}
	near := func(g float32, s float64) bool { d := float64(g) - s; return d <= 1e-4 && d >= -1e-4 }
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
				for a := range 6 {
					for b := range 6 {
						var s float64
						for k := range 6 {
							for j := range 6 {
								s += bt[a][k] * float64(d[k][j]) * bt[b][j]
							}
						}
						if g := v[(6*a+b)*vs+z]; !near(g, s) {
							t.Fatalf("n %d tile %d: V[%d][%d] = %v, want %v", n, z, a, b, g, s)
						}
					}
				}
				for a := range 2 {
					for b := range 2 {
						var s float64
						for k := range 6 {
							for j := range 6 {
								s += at[a][k] * float64(m[(6*k+j)*vs+z]) * at[b][j]
							}
						}
						if g := [2][]float32{qe, qo}[a][2*z+b]; !near(g, s) {
							t.Fatalf("n %d tile %d: Y[%d][%d] = %v, want %v", n, z, a, b, g, s)
						}
					}
				}
				yt := [2][2]float64{{float64(ge[2*z]), float64(ge[2*z+1])}, {float64(gqo[2*z]), float64(gqo[2*z+1])}}
				for a := range 6 {
					for b := range 6 {
						var s float64
						for k := range 2 {
							for j := range 2 {
								s += at[k][a] * yt[k][j] * at[j][b]
							}
						}
						if g := gw[(6*a+b)*vs+z]; !near(g, s) {
							t.Fatalf("n %d tile %d: Wino5Grad[%d][%d] = %v, want %v", n, z, a, b, g, s)
						}
					}
				}
			}
		}
	}
}

// TestWino4Transforms: the F(4×4, 3×3) transforms against Bᵀ d B, Aᵀ m A and A y Aᵀ in float64
// for every tile, and every path's bits against the pure-Go loops', for tile counts below, at
// and past whole 16-tile steps.
func TestWino4Transforms(t *testing.T) {
	bt := [6][6]float64{{4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}}
	at := [4][6]float64{{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}}
	near := func(g float32, s float64) bool { d := float64(g) - s; return d <= 1e-4 && d >= -1e-4 }
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
				for a := range 6 {
					for b := range 6 {
						var s float64
						for k := range 6 {
							for j := range 6 {
								s += bt[a][k] * float64(d[k][j]) * bt[b][j]
							}
						}
						if g := v[(6*a+b)*vs+z]; !near(g, s) {
							t.Fatalf("n %d tile %d: V[%d][%d] = %v, want %v", n, z, a, b, g, s)
						}
					}
				}
				for a := range 4 {
					for b := range 4 {
						var s float64
						for k := range 6 {
							for j := range 6 {
								s += at[a][k] * float64(m[(6*k+j)*vs+z]) * at[b][j]
							}
						}
						if g := q[a*qs+4*z+b]; !near(g, s) {
							t.Fatalf("n %d tile %d: Y[%d][%d] = %v, want %v", n, z, a, b, g, s)
						}
					}
				}
				for a := range 6 {
					for b := range 6 {
						var s float64
						for k := range 4 {
							for j := range 4 {
								s += at[k][a] * float64(gq[k*qs+4*z+j]) * at[j][b]
							}
						}
						if g := gw[(6*a+b)*vs+z]; !near(g, s) {
							t.Fatalf("n %d tile %d: Wino4Grad[%d][%d] = %v, want %v", n, z, a, b, g, s)
						}
					}
				}
			}
		}
	}
}
