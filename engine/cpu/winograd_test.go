package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gazeml/gaze/engine"
)

// refConvData is the float64 backward-data reference: dx = ∂(x ⋆ w)/∂x · dy.
func refConvData(g engine.ConvGeom, dy, w []float32) []float64 {
	dx := make([]float64, g.InputLen())
	convTaps(g, func(yi, xi, wi int) { dx[xi] += float64(dy[yi]) * float64(w[wi]) })
	return dx
}

// refConvFilter is the float64 filter-gradient reference: dw = ∂(x ⋆ w)/∂w · dy.
func refConvFilter(g engine.ConvGeom, x, dy []float32) []float64 {
	dw := make([]float64, g.WeightLen())
	convTaps(g, func(yi, xi, wi int) { dw[wi] += float64(dy[yi]) * float64(x[xi]) })
	return dw
}

func same3x3(n, c, h, w, k int) engine.ConvGeom {
	return engine.ConvGeom{N: n, C: c, H: h, W: w, K: k, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: h, OutW: w}
}

func same5x5(n, c, h, w, k int) engine.ConvGeom {
	return engine.ConvGeom{N: n, C: c, H: h, W: w, K: k, R: 5, S: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, OutH: h, OutW: w}
}

// maxRelErr is max |got - want| over max |want|: the error on the scale of the output.
func maxRelErr(got []float32, want []float64) float64 {
	var e, m float64
	for i, v := range want {
		e = max(e, math.Abs(float64(got[i])-v))
		m = max(m, math.Abs(v))
	}
	return e / max(m, 1e-300)
}

// TestWinograd checks the Winograd forms (forward, backward data and filter gradient; F(2×2, 3×3),
// F(4×4, 3×3) and F(2×2, 5×5)) against float64 references and against the direct (stack or
// im2col) form, on odd and even planes, C = 3 and several C/K, beta 0, 1 and 0.5, in several
// chunks with a ragged last one, and with small planes side by side in a ragged last group.
func TestWinograd(t *testing.T) { forPaths(t, testWinograd) }

func testWinograd(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	geoms := []engine.ConvGeom{
		same3x3(5, 3, 8, 8, 16),
		same3x3(3, 16, 7, 9, 8),
		same3x3(4, 5, 1, 1, 3),
		same3x3(2, 4, 2, 3, 5),
		same3x3(11, 8, 6, 5, 12), // many chunks with the small chunk target below
		same3x3(6, 32, 16, 16, 16),
		same3x3(3, 16, 15, 14, 32),
		same3x3(40, 3, 9, 9, 4), // TestConvPaths' deep product
		same3x3(13, 16, 8, 8, 16),
		same3x3(3, 5, 17, 19, 7),
		// F(2×2, 5×5): lenet-lca's conv2 and odd, tiny and ragged planes.
		same5x5(3, 20, 14, 14, 40),
		same5x5(2, 3, 7, 9, 5),
		same5x5(4, 5, 1, 1, 3),
		same5x5(3, 4, 2, 3, 6),
		same5x5(9, 8, 13, 11, 12),
	}
	type form struct {
		g    engine.ConvGeom
		tile winoUse // d.wino4
	}
	var forms []form
	for _, g := range geoms {
		forms = append(forms, form{g, winoNever})
		if g.R == 3 {
			forms = append(forms, form{g, winoAlways})
		}
	}
	for _, f := range forms {
		g := f.g
		for _, flts := range []int{1, 16 * (g.C + g.K) * 3 * ((g.H + 1) / 2) * ((g.W + 1) / 2), winoTargetFloats} {
			d, direct := newDevice(0), newDevice(0)
			d.winoForm, d.winoFlts, d.wino4, direct.winoForm = winoAlways, flts, f.tile, winoNever
			tile, _ := d.winoTileOf(g)
			name := fmt.Sprintf("%dx%dx%dx%d-k%d-F(%d,%d)-chunk%d", g.N, g.C, g.H, g.W, g.K, tile.m, g.R, flts)
			d.workers = 1 + flts%3
			if !d.useWinograd(g) || direct.useWinograd(g) || (tile.m == 4) != (f.tile == winoAlways) {
				t.Fatalf("%s: the forced forms were not taken", name)
			}
			x, w, dy := randSlice(r, g.InputLen()), randSlice(r, g.WeightLen()), randSlice(r, g.OutputLen())
			refY, refDx := refConv(g, x, w), refConvData(g, dy, w)
			y0, dx0 := randSlice(r, g.OutputLen()), randSlice(r, g.InputLen())
			// The filter gradient accumulates into dw: start from dw0.
			refDw, dw0 := refConvFilter(g, x, dy), randSlice(r, g.WeightLen())
			for i := range refDw {
				refDw[i] += float64(dw0[i])
			}
			var dws [2][]float32
			for k, dev := range []*Device{d, direct} {
				dws[k] = append([]float32(nil), dw0...)
				dev.ConvBackwardFilter(g, Wrap(x), Wrap(dy), Wrap(dws[k]))
			}
			e, ed := maxRelErr(dws[0], refDw), maxRelErr(dws[1], refDw)
			t.Logf("%s: filter gradient max error %.3g (direct %.3g)", name, e, ed)
			// F(2×2, 5×5)'s and F(4×4, 3×3)'s transforms (coefficients up to 5 and down to
			// 1/24) cost more precision than F(2×2, 3×3)'s; TestWinogradError reports them.
			tol, tolFilter := 1e-5, 1e-5
			if tile.a == 6 {
				tol, tolFilter = 2e-5, 3e-5
			}
			if !(e <= tolFilter) {
				t.Fatalf("%s: Winograd filter gradient: max error %.3g of the largest (direct form %.3g)", name, e, ed)
			}
			for _, beta := range []float32{0, 1, 0.5} {
				wantY, wantDx := make([]float64, len(refY)), make([]float64, len(refDx))
				for i := range wantY {
					wantY[i] = refY[i] + float64(beta)*float64(y0[i])
				}
				for i := range wantDx {
					wantDx[i] = refDx[i] + float64(beta)*float64(dx0[i])
				}
				var got, gotDirect [2][]float32
				for k, dev := range []*Device{d, direct} {
					y, dx := append([]float32(nil), y0...), append([]float32(nil), dx0...)
					if beta == 0 {
						y, dx = fill(len(y), float32(math.NaN())), fill(len(dx), float32(math.NaN()))
					}
					if beta == 0 {
						dev.ConvForward(g, Wrap(x), Wrap(w), Wrap(y))
					} else {
						dev.convForward(dev.planConv(g, false), x, w, y, beta)
					}
					dev.ConvBackwardData(g, Wrap(dy), Wrap(w), Wrap(dx), beta)
					if k == 0 {
						got = [2][]float32{y, dx}
					} else {
						gotDirect = [2][]float32{y, dx}
					}
				}
				for k, what := range []string{"forward", "backward data"} {
					want := [2][]float64{wantY, wantDx}[k]
					e, ed := maxRelErr(got[k], want), maxRelErr(gotDirect[k], want)
					if !(e <= tol) {
						t.Fatalf("%s beta %v: Winograd %s: max error %.3g of the largest output (direct form %.3g)", name, beta, what, e, ed)
					}
					direct64 := make([]float64, len(gotDirect[k]))
					for i, v := range gotDirect[k] {
						direct64[i] = float64(v)
					}
					if e := maxRelErr(got[k], direct64); !(e <= tol) {
						t.Fatalf("%s beta %v: Winograd %s differs from the direct form by %.3g of the largest output", name, beta, what, e)
					}
				}
			}
		}
	}
}

// TestWinogradError reports the error of the Winograd and direct forms against float64 on
// resnet20's stride-1 shapes and lenet-lca's conv2 (a few images), and bounds it.
func TestWinogradError(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	type shape struct {
		g    engine.ConvGeom
		tile winoUse // d.wino4
	}
	var shapes []shape
	for _, g := range []engine.ConvGeom{same3x3(4, 16, 32, 32, 16), same3x3(4, 32, 16, 16, 32), same3x3(4, 64, 8, 8, 64)} {
		shapes = append(shapes, shape{g, winoNever}, shape{g, winoAlways})
	}
	shapes = append(shapes, shape{same5x5(4, 20, 14, 14, 40), winoNever})
	for _, sh := range shapes {
		g := sh.g
		x, w, dy := randSlice(r, g.InputLen()), randSlice(r, g.WeightLen()), randSlice(r, g.OutputLen())
		refY, refDx, refDw := refConv(g, x, w), refConvData(g, dy, w), refConvFilter(g, x, dy)
		var errs [2][3]float64
		var tile winoTile
		for k, form := range []winoUse{winoAlways, winoNever} {
			d := newDevice(0)
			d.winoForm, d.wino4 = form, sh.tile
			if k == 0 {
				tile, _ = d.winoTileOf(g)
			}
			y, dx := make([]float32, len(refY)), make([]float32, len(refDx))
			d.ConvForward(g, Wrap(x), Wrap(w), Wrap(y))
			d.ConvBackwardData(g, Wrap(dy), Wrap(w), Wrap(dx), 0)
			dw := make([]float32, len(refDw))
			d.ConvBackwardFilter(g, Wrap(x), Wrap(dy), Wrap(dw))
			errs[k] = [3]float64{maxRelErr(y, refY), maxRelErr(dx, refDx), maxRelErr(dw, refDw)}
		}
		t.Logf("F(%d×%d, %d×%d) %d→%d on %d×%d, N=%d: max error / max |output|: forward Winograd %.2g direct %.2g; backward data Winograd %.2g direct %.2g; filter Winograd %.2g direct %.2g",
			tile.m, tile.m, g.R, g.R, g.C, g.K, g.H, g.W, g.N, errs[0][0], errs[1][0], errs[0][1], errs[1][1], errs[0][2], errs[1][2])
		// Measured: F(2×2, 3×3) up to 4e-7; F(4×4, 3×3) 2.9–5.4e-6 forward, 4–5e-6 backward
		// data, 2.1–4.6e-6 filter; lenet's 5×5 2.4e-6 forward, 3.1e-6 backward data and
		// 1.1e-5 filter at N = 4 (3.1e-6, 3.9e-6 and 4.3e-6 at N = 64; the direct form 3e-7 to
		// 5e-7).
		bound, boundFilter := 5e-6, 5e-6
		if tile.m == 4 {
			bound, boundFilter = 1e-5, 1e-5
		}
		if g.R == 5 {
			bound, boundFilter = 1e-5, 2.5e-5
		}
		if errs[0][0] > bound || errs[0][1] > bound || errs[0][2] > boundFilter {
			t.Errorf("%+v: Winograd error %.3g, %.3g, %.3g", g, errs[0][0], errs[0][1], errs[0][2])
		}
	}
}

// TestWinogradDeterministic: the Winograd form gives the same bits for any core count and
// worker count, in several chunks.
func TestWinogradDeterministic(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		g := same3x3(40, 16, 16, 16, 32)
		r := rand.New(rand.NewPCG(11, 12))
		x, w, dy := randSlice(r, g.InputLen()), randSlice(r, g.WeightLen()), randSlice(r, g.OutputLen())
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
		for _, tile := range []winoUse{winoNever, winoAlways} {
			var first [3][]float32
			for i, procs := range []int{1, 2, 3, 4} {
				runtime.GOMAXPROCS(procs)
				d := newDevice(0)
				d.winoForm, d.winoFlts, d.wino4 = winoAlways, 16*48*64*7, tile
				y, dx, dw := make([]float32, g.OutputLen()), make([]float32, g.InputLen()), make([]float32, g.WeightLen())
				d.ConvForward(g, Wrap(x), Wrap(w), Wrap(y))
				d.ConvBackwardData(g, Wrap(dy), Wrap(w), Wrap(dx), 0)
				d.ConvBackwardFilter(g, Wrap(x), Wrap(dy), Wrap(dw))
				if i == 0 {
					first = [3][]float32{y, dx, dw}
					continue
				}
				if !equal(y, first[0]) || !equal(dx, first[1]) || !equal(dw, first[2]) {
					t.Fatalf("wino4 %v, GOMAXPROCS %d: Winograd results differ from GOMAXPROCS 1", tile, procs)
				}
			}
		}
	})
}

// TestTransformFilters3 checks that the 3×3 filter transforms written out (transformFilters3)
// give the bits of the loops over any r and a, for F(2×2, 3×3) and F(4×4, 3×3), on filters of
// random magnitudes and signs and on a range of filters that starts past 0.
func TestTransformFilters3(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const k, c = 5, 7
	w := make([]float32, k*c*9)
	for i := range w {
		w[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(7)-3)))
	}
	for _, tile := range []winoTile{newWinoTile(3, 2), newWinoTile(3, 4)} {
		us := k*c + 16
		got, want := make([]float32, tile.xi*us), make([]float32, tile.xi*us)
		for _, span := range [][2]int{{0, k * c}, {3, 20}} {
			clear(got)
			clear(want)
			tile.transformFilters(got, w, span[0], span[1], us)
			tile.transformFiltersAny(want, w, span[0], span[1], us)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("F(%d×%d, 3×3) filters [%d, %d): u[%d] = %v, want %v", tile.m, tile.m, span[0], span[1], i, got[i], want[i])
				}
			}
		}
	}
}

// TestWinoBack3 checks that the 3×3 inverse filter transforms written out (winoBackArgs.run3)
// give the bits of the loops over any r and a, for both forms and both layouts of Ŵ, adding onto
// a filter gradient that is not zero.
func TestWinoBack3(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const k, c = 6, 5
	for _, tile := range []winoTile{newWinoTile(3, 2), newWinoTile(3, 4)} {
		sum := make([]float32, tile.xi*k*c)
		for i := range sum {
			sum[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(7)-3)))
		}
		dw0 := make([]float32, k*c*9)
		for i := range dw0 {
			dw0[i] = float32(r.NormFloat64())
		}
		for _, cByK := range []bool{false, true} {
			got, want := append([]float32(nil), dw0...), append([]float32(nil), dw0...)
			(&winoBackArgs{t: tile, sum: sum, c: c, k: k, cByK: cByK, dw: got}).run(2, k*c)
			(&winoBackArgs{t: tile, sum: sum, c: c, k: k, cByK: cByK, dw: want}).runAny(2, k*c)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("F(%d×%d, 3×3) cByK %v: dw[%d] = %v, want %v", tile.m, tile.m, cByK, i, got[i], want[i])
				}
			}
			if got[0] != dw0[0] || got[18] == dw0[18] {
				t.Fatalf("F(%d×%d, 3×3): filters outside [2, %d) changed or inside unchanged", tile.m, tile.m, k*c)
			}
		}
	}
}
