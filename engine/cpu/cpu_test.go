package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/rng"
)

// Quick sanity tests with hand-computed values. The conformance suite in engine/enginetest checks
// every kernel against float64 references and finite differences; these pin the CPU device's own
// code paths (im2col grouping, the 1×1 shortcut, the 2×2 pooling fast path, determinism).

func buf(v ...float32) engine.Buffer { return Wrap(append([]float32(nil), v...)) }

func zeros(n int) engine.Buffer { return Wrap(make([]float32, n)) }

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

func checkClose(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !near(float64(got[i]), want[i], tol) {
			t.Fatalf("%s[%d] = %v, want %v (all: %v)", what, i, got[i], want[i], got)
		}
	}
}

func TestRegisteredAndMemory(t *testing.T) {
	dev, err := engine.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	b, err := dev.Alloc(5)
	if err != nil || b.Len() != 5 {
		t.Fatalf("Alloc(5) = %v, %v", b, err)
	}
	if _, err := dev.Alloc(-1); err == nil {
		t.Fatal("Alloc(-1) succeeded")
	}
	dev.Upload(b, []float32{1, 2, 3})
	v := b.Slice(1, 3)
	Data(v)[0] = 7 // views share memory
	out := make([]float32, 5)
	dev.Download(out, b)
	if want := []float32{1, 7, 3, 0, 0}; !equal(out, want) {
		t.Fatalf("Download = %v, want %v", out, want)
	}
	if err := dev.Sync(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Slice out of range did not panic")
		}
	}()
	b.Slice(3, 3)
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

var x3x3 = []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
var w2x2 = []float32{1, 2, 3, 4}

func TestConvHand(t *testing.T) {
	d := New()
	cases := []struct {
		name string
		g    engine.ConvGeom
		want []float64
	}{
		{"valid", engine.ConvGeom{N: 1, C: 1, H: 3, W: 3, K: 1, R: 2, S: 2, StrideH: 1, StrideW: 1, OutH: 2, OutW: 2},
			[]float64{37, 47, 67, 77}},
		{"stride2pad1", engine.ConvGeom{N: 1, C: 1, H: 3, W: 3, K: 1, R: 2, S: 2, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, OutH: 2, OutW: 2},
			[]float64{4, 18, 36, 77}},
		// TensorFlow "same" for an even kernel: no padding before, one after.
		{"sameAsym", engine.ConvGeom{N: 1, C: 1, H: 3, W: 3, K: 1, R: 2, S: 2, StrideH: 1, StrideW: 1, OutH: 3, OutW: 3},
			[]float64{37, 47, 21, 67, 77, 33, 23, 26, 9}},
	}
	for _, c := range cases {
		y := Wrap(fill(c.g.OutputLen(), float32(math.NaN()))) // y is overwritten
		d.ConvForward(c.g, buf(x3x3...), buf(w2x2...), y)
		checkClose(t, c.name, Data(y), c.want, 0)
	}

	g := cases[0].g
	// dy = 1: dx[i,j] is the sum of the weights that touch (i, j).
	dx := Wrap(fill(9, float32(math.NaN())))
	d.ConvBackwardData(g, buf(1, 1, 1, 1), buf(w2x2...), dx, 0)
	checkClose(t, "backward data", Data(dx), []float64{1, 3, 2, 4, 10, 6, 3, 7, 4}, 0)
	d.ConvBackwardData(g, buf(1, 1, 1, 1), buf(w2x2...), dx, 0.5) // beta 0.5 halves what is there
	checkClose(t, "backward data beta", Data(dx), []float64{1.5, 4.5, 3, 6, 15, 9, 4.5, 10.5, 6}, 0)
	// dy = 1: dw[r,s] is the sum of the inputs under tap (r, s); dw accumulates.
	dw := buf(1, 1, 1, 1)
	d.ConvBackwardFilter(g, buf(x3x3...), buf(1, 1, 1, 1), dw)
	checkClose(t, "backward filter", Data(dw), []float64{13, 17, 25, 29}, 0)
}

func fill(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// Direct-loop float64 references, for the random geometry test below.
func refConv(g engine.ConvGeom, x, w []float32) []float64 {
	y := make([]float64, g.OutputLen())
	convTaps(g, func(yi, xi, wi int) { y[yi] += float64(x[xi]) * float64(w[wi]) })
	return y
}

// convTaps calls f with the indices into y, x and w of every multiply-add of the convolution g
// (taps in the padding left out), output by output and, within one, over (c, r, s) in order: the
// loop of the float64 references of all three passes.
func convTaps(g engine.ConvGeom, f func(yi, xi, wi int)) {
	for n := 0; n < g.N; n++ {
		for k := 0; k < g.K; k++ {
			for oh := 0; oh < g.OutH; oh++ {
				for ow := 0; ow < g.OutW; ow++ {
					yi := ((n*g.K+k)*g.OutH+oh)*g.OutW + ow
					for c := 0; c < g.C; c++ {
						for r := 0; r < g.R; r++ {
							for q := 0; q < g.S; q++ {
								ih, iw := oh*g.StrideH-g.PadH+r, ow*g.StrideW-g.PadW+q
								if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
									continue
								}
								f(yi, ((n*g.C+c)*g.H+ih)*g.W+iw, ((k*g.C+c)*g.R+r)*g.S+q)
							}
						}
					}
				}
			}
		}
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// TestConvPaths checks the grouped im2col, single-image and 1×1 paths against a direct loop
// (forward and backward data; with the stack form forced, strided backward data takes the
// phase form on every path), and the backward kernels through the adjoint identities ⟨conv(x,w), dy⟩ = ⟨x, dx⟩ = ⟨w, dw⟩.
func TestConvPaths(t *testing.T) { forPaths(t, testConvPaths) }

func testConvPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	geoms := []engine.ConvGeom{
		{N: 7, C: 3, H: 6, W: 5, K: 4, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: 6, OutW: 5},     // grouped, ragged last group
		{N: 3, C: 2, H: 40, W: 33, K: 5, R: 3, S: 2, StrideH: 2, StrideW: 3, PadH: 1, PadW: 0, OutH: 20, OutW: 11}, // strides
		{N: 5, C: 4, H: 4, W: 4, K: 6, R: 1, S: 1, StrideH: 1, StrideW: 1, OutH: 4, OutW: 4},                       // 1×1 direct
		{N: 2, C: 4, H: 5, W: 5, K: 3, R: 1, S: 1, StrideH: 2, StrideW: 2, OutH: 3, OutW: 3},                       // 1×1 strided
		{N: 4, C: 2, H: 7, W: 7, K: 3, R: 4, S: 4, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, OutH: 4, OutW: 4},     // TF same, s2, k4
		{N: 5, C: 3, H: 11, W: 16, K: 4, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, OutH: 6, OutW: 8},   // resnet's downsampling, odd height
		{N: 3, C: 2, H: 13, W: 10, K: 3, R: 5, S: 3, StrideH: 4, StrideW: 3, PadH: 2, PadW: 2, OutH: 4, OutW: 4},   // strides 4 and 3, shifts of both signs
		{N: 2, C: 1, H: 3, W: 3, K: 2, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, OutH: 5, OutW: 5},     // "full" (transposed-conv) geometry
		// Products deep and wide enough that sgemm's kc and nc blocks of the implicit im2col
		// start and end inside images (ohw 81 and 64 divide neither).
		{N: 40, C: 3, H: 9, W: 9, K: 4, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: 9, OutW: 9},
		{N: 30, C: 2, H: 12, W: 12, K: 5, R: 5, S: 5, StrideH: 1, StrideW: 1, OutH: 8, OutW: 8},
		{N: 20, C: 2, H: 11, W: 12, K: 3, R: 3, S: 4, StrideH: 1, StrideW: 1, PadH: 2, PadW: 1, OutH: 11, OutW: 11}, // asymmetric padding
	}
	for _, g := range geoms {
		if err := g.Validate(); err != nil {
			t.Fatal(err)
		}
		// Group sizes 1 (GEMM straight into y), 3 (ragged last group) and the default, in the
		// im2col and the stack form (chunks of one image, a few and the default), whichever
		// the path would choose.
		for _, cols := range []int{1, 3 * g.OutH * g.OutW, convTargetCols} {
			for _, form := range []stackUse{stackNever, stackAlways} {
				d := newDevice(0)
				d.workers = 1 + cols%3
				d.convCols, d.convFlops, d.stackFlts = cols, 1, cols*(g.C+g.K)
				if cols == convTargetCols {
					d.stackFlts = stackTargetFloats
				}
				d.stackForm = form
				x, w, dy := randSlice(r, g.InputLen()), randSlice(r, g.WeightLen()), randSlice(r, g.OutputLen())
				y := Wrap(make([]float32, g.OutputLen()))
				d.ConvForward(g, Wrap(x), Wrap(w), y)
				checkClose(t, "forward", Data(y), refConv(g, x, w), 1e-5)

				dx := Wrap(fill(g.InputLen(), float32(math.NaN())))
				d.ConvBackwardData(g, Wrap(dy), Wrap(w), dx, 0)
				checkClose(t, "backward data", Data(dx), refConvData(g, dy, w), 1e-5)
				dw := zeros(g.WeightLen())
				d.ConvBackwardFilter(g, Wrap(x), Wrap(dy), dw)
				// beta 0.5 on top of the beta-0 result: dx becomes 1.5 dx.
				dx15 := zeros(g.InputLen())
				d.Copy(dx15, dx)
				d.ConvBackwardData(g, Wrap(dy), Wrap(w), dx15, 0.5)
				for i, v := range Data(dx) {
					// 0.5·dx + Σ taps rounds differently from 1.5·Σ taps: allow a few float32 ulps.
					if !near(float64(Data(dx15)[i]), 1.5*float64(v), 4e-6) {
						t.Fatalf("%+v cols %d: beta 0.5: dx[%d] = %v, want 1.5·%v", g, cols, i, Data(dx15)[i], v)
					}
				}
				var yy, xx, ww float64
				ref := refConv(g, x, w)
				for i := range ref {
					yy += ref[i] * float64(dy[i])
				}
				for i := range x {
					xx += float64(x[i]) * float64(Data(dx)[i])
				}
				for i := range w {
					ww += float64(w[i]) * float64(Data(dw)[i])
				}
				if !near(xx, yy, 1e-4) || !near(ww, yy, 1e-4) {
					t.Fatalf("%+v cols %d stack form %d: adjoint identities: <y,dy>=%v <x,dx>=%v <w,dw>=%v", g, cols, form, yy, xx, ww)
				}
			}
		}
	}
}

// TestGemvDeterministic: both matrix–vector products (the stored dense projection's) are
// bit-identical for any core count; the sizes make projSplit use every core, and n is no multiple
// of the column blocks, so the last core's range ends in the scalar tail.
func TestGemvDeterministic(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		const m, n, lda = 37, 70001, 70005
		r := rand.New(rand.NewPCG(7, 8))
		a, xn, xt := randSlice(r, (m-1)*lda+n), randSlice(r, n), randSlice(r, m)
		y0n, y0t := randSlice(r, m), randSlice(r, n)
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
		var first [2][]float32
		for i, procs := range []int{1, 2, 3, 4} {
			runtime.GOMAXPROCS(procs)
			d := New()
			yn, yt := Wrap(append([]float32(nil), y0n...)), Wrap(append([]float32(nil), y0t...))
			d.Gemv(false, m, n, 0.5, Wrap(a), lda, Wrap(xn), 1, yn)
			d.Gemv(true, m, n, 0.5, Wrap(a), lda, Wrap(xt), 1, yt)
			got := [2][]float32{Data(yn), Data(yt)}
			if i == 0 {
				first = got
				continue
			}
			for k, name := range []string{"A·x", "Aᵀ·x"} {
				if !equal(got[k], first[k]) {
					t.Fatalf("GOMAXPROCS %d: %s differs from GOMAXPROCS 1", procs, name)
				}
			}
		}
	})
}

// TestConvDeterministic: convolution results are bit-identical for any core count (sgemm splits
// by GOMAXPROCS, the O(n) stages by d.workers), for a stride-1 and a stride-2 convolution (on
// AVX-512 the padded stack and its phase form). The sizes make sgemm go parallel; the third
// runs the stack form in two groups of images (57 and 7) with its filter gradient (K = 16 <
// dotMaxM) on the dot kernel, whose parts split the columns of dw by the core count.
func TestConvDeterministic(t *testing.T) {
	for _, g := range []engine.ConvGeom{
		{N: 9, C: 16, H: 16, W: 16, K: 32, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: 16, OutW: 16},
		{N: 9, C: 16, H: 32, W: 32, K: 32, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, OutH: 16, OutW: 16},
		{N: 64, C: 16, H: 16, W: 16, K: 16, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: 16, OutW: 16},
		// 32→32 channels: the Winograd form on AVX-512, forward and backward data.
		{N: 40, C: 32, H: 8, W: 8, K: 32, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: 8, OutW: 8},
		// lenet-lca's conv1: the one-channel filter gradient on AVX-512 (chunks of images).
		{N: 37, C: 1, H: 28, W: 28, K: 20, R: 5, S: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, OutH: 28, OutW: 28},
	} {
		t.Run(fmt.Sprintf("c%d-stride%d-n%d", g.C, g.StrideH, g.N), func(t *testing.T) {
			forPaths(t, func(t *testing.T) { testConvDeterministic(t, g) })
		})
	}
}

func testConvDeterministic(t *testing.T, g engine.ConvGeom) {
	r := rand.New(rand.NewPCG(3, 4))
	x, w, dy := randSlice(r, g.InputLen()), randSlice(r, g.WeightLen()), randSlice(r, g.OutputLen())
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var first [3][]float32
	for i, procs := range []int{1, 2, 3, 4} {
		runtime.GOMAXPROCS(procs)
		d := New()
		y, dx, dw := zeros(g.OutputLen()), zeros(g.InputLen()), zeros(g.WeightLen())
		d.ConvForward(g, Wrap(x), Wrap(w), y)
		d.ConvBackwardData(g, Wrap(dy), Wrap(w), dx, 0)
		d.ConvBackwardFilter(g, Wrap(x), Wrap(dy), dw)
		got := [3][]float32{Data(y), Data(dx), Data(dw)}
		if i == 0 {
			first = got
			continue
		}
		for k, name := range []string{"y", "dx", "dw"} {
			if !equal(got[k], first[k]) {
				t.Fatalf("GOMAXPROCS %d: %s differs from GOMAXPROCS 1", procs, name)
			}
		}
	}
	// A device with a share of the cores (NewThreads, several instances at once) computes the
	// same bits, alone or beside another instance.
	runtime.GOMAXPROCS(4)
	for _, threads := range []int{1, 2, 3} {
		got := make(chan [3][]float32, 2)
		for range 2 {
			go func() {
				d := NewThreads(threads)
				y, dx, dw := zeros(g.OutputLen()), zeros(g.InputLen()), zeros(g.WeightLen())
				d.ConvForward(g, Wrap(x), Wrap(w), y)
				d.ConvBackwardData(g, Wrap(dy), Wrap(w), dx, 0)
				d.ConvBackwardFilter(g, Wrap(x), Wrap(dy), dw)
				got <- [3][]float32{Data(y), Data(dx), Data(dw)}
			}()
		}
		for range 2 {
			r := <-got
			for k, name := range []string{"y", "dx", "dw"} {
				if !equal(r[k], first[k]) {
					t.Fatalf("NewThreads(%d) beside another instance: %s differs from GOMAXPROCS 1", threads, name)
				}
			}
		}
	}
}

func TestPoolTies(t *testing.T) {
	d := New()
	// A 3×3 window over a 4×4 plane, stride 1, pad 1: plane of equal values everywhere, so every
	// window's first cell (top-left valid cell) must get the gradient.
	g := engine.PoolGeom{N: 1, C: 1, H: 3, W: 3, KH: 2, KW: 2, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: 4, OutW: 4}
	x := buf(-1, -1, -1, -1, -1, -1, -1, -1, -1) // negative: padding (as 0) would win if it took part
	y := zeros(16)
	d.MaxPool(g, x, y)
	checkClose(t, "maxpool", Data(y), []float64{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}, 0)
	dx := Wrap(fill(9, float32(math.NaN())))
	d.MaxPoolBackward(g, x, Wrap(fill(16, 1)), dx)
	// Window (oh, ow) covers rows oh-1..oh and columns ow-1..ow; its first valid cell is
	// (max(oh-1,0), max(ow-1,0)).
	checkClose(t, "maxpool backward", Data(dx), []float64{4, 2, 2, 2, 1, 1, 2, 1, 1}, 0)

	// 2×2 stride 2 fast path: ties go to the first cell in row-major order.
	g2 := engine.PoolGeom{N: 1, C: 2, H: 2, W: 4, KH: 2, KW: 2, StrideH: 2, StrideW: 2, OutH: 1, OutW: 2}
	x2 := buf(1, 5, 2, 2, 5, 3, 2, 2 /* channel 2 */, 0, 0, 7, 1, 0, -1, 7, 7)
	y2 := zeros(4)
	d.MaxPool(g2, x2, y2)
	checkClose(t, "maxpool2x2", Data(y2), []float64{5, 2, 0, 7}, 0)
	dx2 := zeros(16)
	d.MaxPoolBackward(g2, x2, buf(1, 2, 3, 4), dx2)
	checkClose(t, "maxpool2x2 backward", Data(dx2), []float64{0, 1, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0}, 0)

	// Average pooling divides by the full window, padding included.
	ya := zeros(16)
	d.AvgPool(g, buf(x3x3...), ya)
	checkClose(t, "avgpool", Data(ya)[:4], []float64{0.25, 0.75, 1.25, 0.75}, 1e-7)
	dxa := Wrap(fill(9, float32(math.NaN())))
	d.AvgPoolBackward(g, Wrap(fill(16, 4)), dxa)
	checkClose(t, "avgpool backward", Data(dxa), []float64{4, 4, 4, 4, 4, 4, 4, 4, 4}, 0)

	yg := zeros(2)
	d.GlobalAvgPool(buf(1, 2, 3, 4, 5, 6), yg, 1, 2, 3)
	checkClose(t, "global avg", Data(yg), []float64{2, 5}, 0)
	dxg := zeros(6)
	d.GlobalAvgPoolBackward(buf(3, 6), dxg, 1, 2, 3)
	checkClose(t, "global avg backward", Data(dxg), []float64{1, 1, 1, 2, 2, 2}, 0)
}

func TestSoftmaxXent(t *testing.T) {
	d := New()
	// Row 0: softmax(0, ln2, ln3) = (1/6, 2/6, 3/6). Row 1: huge equal logits, loss ln 2 + 0
	// for the third (−∞-like) class.
	logits := buf(0, float32(math.Log(2)), float32(math.Log(3)), 1000, 1000, -1000)
	losses := zeros(2)
	dl := zeros(6)
	d.SoftmaxXent(logits, buf(2, 0), losses, dl, 2, 3, 0.5)
	checkClose(t, "losses", Data(losses), []float64{math.Log(2), math.Log(2)}, 1e-6)
	checkClose(t, "dlogits", Data(dl), []float64{0.5 / 6, 0.5 * 2 / 6, 0.5 * (3.0/6 - 1), 0.5 * (0.5 - 1), 0.25, 0}, 1e-6)
	d.SoftmaxXent(logits, buf(2, 0), losses, nil, 2, 3, 1) // dlogits may be nil

	out := zeros(2)
	d.Argmax(buf(1, 3, 3, 0, 0, 0), out, 2, 3)
	checkClose(t, "argmax", Data(out), []float64{1, 0}, 0)

	d.MSE(buf(1, 2, 3, 4), buf(0, 0, 3, 2), losses, dl.Slice(0, 4), 2, 2, 0.5)
	checkClose(t, "mse", Data(losses), []float64{5, 4}, 0)
	checkClose(t, "dmse", Data(dl)[:4], []float64{1, 2, 0, 2}, 0)

	// BCE at z = 0 is ln 2 whatever t; z = ±100 must not overflow.
	d.SigmoidBCE(buf(0, 100, -100, 0), buf(1, 1, 0, 0.5), losses, dl.Slice(0, 4), 2, 2, 1)
	checkClose(t, "bce", Data(losses), []float64{math.Log(2), math.Log(2)}, 1e-6)
	checkClose(t, "dbce", Data(dl)[:4], []float64{-0.5, 0, 0, 0}, 1e-6)
}

func TestBatchNorm(t *testing.T) {
	d := New()
	// n=2, c=2, hw=2. Channel 0 holds 1, 2 (image 0) and 3, 4 (image 1): mean 2.5, var 1.25.
	// Channel 1 is constant 7: var 0.
	x := buf(1, 2, 7, 7, 3, 4, 7, 7)
	y := zeros(8)
	gamma, beta := buf(2, 1), buf(0.5, -1)
	sm, si := zeros(2), zeros(2)
	rm, rv := buf(1, 1), buf(1, 1)
	const eps = 1e-5
	d.BatchNormTrain(x, y, gamma, beta, sm, si, rm, rv, 2, 2, 2, 0.25, eps)
	is := 1 / math.Sqrt(1.25+eps)
	checkClose(t, "saveMean", Data(sm), []float64{2.5, 7}, 1e-7)
	checkClose(t, "saveInvStd", Data(si), []float64{is, 1 / math.Sqrt(eps)}, 1e-6)
	checkClose(t, "runMean", Data(rm), []float64{0.75 + 0.25*2.5, 0.75 + 0.25*7}, 1e-7)
	checkClose(t, "runVar", Data(rv), []float64{0.75 + 0.25*1.25*4/3, 0.75}, 1e-7)
	checkClose(t, "y", Data(y), []float64{0.5 - 3*is, 0.5 - is, -1, -1, 0.5 + is, 0.5 + 3*is, -1, -1}, 1e-5)

	// Training-mode backward against central differences of L = Σ y·r.
	r := rand.New(rand.NewPCG(5, 6))
	n, c, hw := 3, 2, 4
	xs := randSlice(r, n*c*hw)
	dys := randSlice(r, n*c*hw)
	g := buf(1.5, -0.5)
	loss := func(xv []float32) float64 {
		yv := zeros(len(xv))
		d.BatchNormTrain(Wrap(xv), yv, g, buf(0, 0), zeros(c), zeros(c), nil, nil, n, c, hw, 0, 1e-3)
		var s float64
		for i, v := range Data(yv) {
			s += float64(v) * float64(dys[i])
		}
		return s
	}
	d.BatchNormTrain(Wrap(xs), zeros(len(xs)), g, buf(0, 0), sm, si, nil, nil, n, c, hw, 0, 1e-3)
	dx, dg, db := zeros(len(xs)), zeros(c), zeros(c)
	d.BatchNormBackward(Wrap(xs), Wrap(dys), dx, g, sm, si, dg, db, n, c, hw, true)
	for i := range xs {
		const h = 1e-2
		xp := append([]float32(nil), xs...)
		xp[i] += h
		lp := loss(xp)
		xp[i] -= 2 * h
		lm := loss(xp)
		if fd := (lp - lm) / (2 * h); math.Abs(fd-float64(Data(dx)[i])) > 2e-3*(1+math.Abs(fd)) {
			t.Fatalf("dx[%d] = %v, finite difference %v", i, Data(dx)[i], fd)
		}
	}
	// Inference mode: dx = γ·invStd·dy.
	d.BatchNormBackward(Wrap(xs), Wrap(dys), dx, g, sm, si, dg, db, n, c, hw, false)
	if got, want := Data(dx)[hw], 1.5*Data(si)[1]*0+(-0.5)*Data(si)[1]*dys[hw]; !near(float64(got), float64(want), 1e-6) {
		t.Fatalf("inference dx = %v, want %v", got, want)
	}
	// Infer uses the running statistics.
	d.BatchNormInfer(buf(3, 5), y.Slice(0, 2), buf(2), buf(1), buf(1), buf(3), sm.Slice(0, 1), si.Slice(0, 1), 1, 1, 2, 1)
	checkClose(t, "infer", Data(y)[:2], []float64{3, 5}, 1e-7) // (x-1)·(1/2)·2 + 1
}

// TestBatchNormStatsOffset: channels whose mean is 10⁵ standard deviations from zero, with plane
// means that differ image by image (the merge term of the per-plane statistics carries a third
// of the variance) and planes of odd lengths: mean and 1/sqrt(var+eps) against a float64
// two-pass reference, to float32 rounding. E[x²] − E[x]² in float64 misses by ~1e-6 here.
func TestBatchNormStatsOffset(t *testing.T) {
	d := New()
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range [][3]int{{5, 3, 37}, {4, 70, 9}, {33, 2, 1}} {
		n, c, hw := s[0], s[1], s[2]
		xs := make([]float32, n*c*hw)
		for i := range xs {
			img, ch := i/(c*hw), i/hw%c
			xs[i] = float32(float64(1000*(ch+1)) + 0.01*float64(img%3) + 0.01*r.NormFloat64())
		}
		sm, si := zeros(c), zeros(c)
		d.BatchNormTrain(Wrap(xs), zeros(len(xs)), zeros(c), zeros(c), sm, si, nil, nil, n, c, hw, 0, 0)
		for ch := 0; ch < c; ch++ {
			var sum, ss float64
			var v []float64
			for img := 0; img < n; img++ {
				for _, x := range xs[(img*c+ch)*hw : (img*c+ch+1)*hw] {
					v = append(v, float64(x))
					sum += float64(x)
				}
			}
			mean := sum / float64(len(v))
			for _, x := range v {
				ss += (x - mean) * (x - mean)
			}
			invStd := 1 / math.Sqrt(ss/float64(len(v)))
			if got := float64(Data(sm)[ch]); math.Abs(got-mean) > 1e-7*mean {
				t.Fatalf("%v channel %d: mean %v, want %v", s, ch, got, mean)
			}
			if got := float64(Data(si)[ch]); math.Abs(got-invStd) > 2e-7*invStd {
				t.Fatalf("%v channel %d: invStd %v, want %v (relative error %.2g)", s, ch, got, invStd, math.Abs(got-invStd)/invStd)
			}
		}
	}
}

func TestAdamFirstStep(t *testing.T) {
	d := New()
	// At t = 1 with eps → 0, m̂ = g and v̂ = g², so θ moves by exactly lr·sign(g).
	theta := buf(1, 1, 1, 1)
	grad := buf(0.3, -2, 1e-3, -50)
	m, v := zeros(4), zeros(4)
	d.AdamStep(theta, grad, m, v, 0.01, 0.9, 0.999, 0, 0, 1)
	checkClose(t, "theta", Data(theta), []float64{0.99, 1.01, 0.99, 1.01}, 1e-6)

	// SGD with momentum 0.9, weight decay 0.1, two steps.
	th, gr, vel := buf(1), buf(0.5), zeros(1)
	d.SGDStep(th, gr, vel, 0.1, 0.9, 0.1, false)
	// g = 0.6, vel = 0.6, θ = 0.94; then g = 0.5+0.094 = 0.594, vel = 1.134, θ = 0.8266.
	d.SGDStep(th, gr, vel, 0.1, 0.9, 0.1, false)
	checkClose(t, "sgd", Data(th), []float64{0.8266}, 1e-6)
}

func TestDropout(t *testing.T) {
	d := New()
	const n, p = 100003, 0.3
	x := Wrap(fill(n, 2))
	mask, y := zeros(n), zeros(n)
	d.Dropout(x, mask, y, p, 42, 5)
	kept := 0
	for i, m := range Data(mask) {
		want := float32(0)
		if rng.Uniform(42, 5+uint64(i)) >= p {
			want = 1 / (1 - float32(p))
			kept++
		}
		if m != want || Data(y)[i] != 2*want {
			t.Fatalf("mask[%d] = %v, y = %v; want %v", i, m, Data(y)[i], want)
		}
	}
	if rate := float64(kept) / n; math.Abs(rate-0.7) > 0.01 {
		t.Fatalf("keep rate %v, want 0.7", rate)
	}
	// Same seed and offset: same mask, also for a view starting mid-block; y may alias x.
	m2 := zeros(n - 3)
	d.Dropout(x.Slice(3, n-3), m2, x.Slice(3, n-3), p, 42, 8)
	if !equal(Data(m2), Data(mask)[3:]) {
		t.Fatal("mask not reproducible at an offset")
	}
}

func TestReductionsDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x := Wrap(randSlice(r, 3*reduceBlock+17))
	y := Wrap(randSlice(r, 3*reduceBlock+17))
	var ref [3]float64
	for i := range Data(x) {
		a, b := float64(Data(x)[i]), float64(Data(y)[i])
		ref[0] += a
		ref[1] += a * a
		ref[2] += a * b
	}
	var first [3]float64
	for _, workers := range []int{1, 2, 5} {
		d := newDevice(0)
		d.workers = workers
		got := [3]float64{d.Sum(x), d.SumSquares(x), d.Dot(x, y)}
		for i := range got {
			if !near(got[i], ref[i], 1e-12) {
				t.Fatalf("reduction %d = %v, want %v", i, got[i], ref[i])
			}
		}
		if workers == 1 {
			first = got
		} else if got != first {
			t.Fatalf("workers %d: %v differs from %v", workers, got, first)
		}
	}
}

func TestElementwise(t *testing.T) {
	d := New()
	a, b, o := buf(1, -2, 3), buf(4, 5, -6), zeros(3)
	d.Add(a, b, o)
	checkClose(t, "add", Data(o), []float64{5, 3, -3}, 0)
	d.Mul(a, b, a)
	checkClose(t, "mul", Data(a), []float64{4, -10, -18}, 0)
	d.Axpy(2, b, a)
	checkClose(t, "axpy", Data(a), []float64{12, 0, -30}, 0)
	d.Scale(a, 0.5)
	checkClose(t, "scale", Data(a), []float64{6, 0, -15}, 0)
	d.Relu(a, o)
	checkClose(t, "relu", Data(o), []float64{6, 0, 0}, 0)
	d.ReluBackward(o, b, b)
	checkClose(t, "relu backward", Data(b), []float64{4, 0, 0}, 0)
	d.Fill(o, 3)
	d.Copy(a, o)
	checkClose(t, "fill/copy", Data(a), []float64{3, 3, 3}, 0)
	y := zeros(12)
	d.BiasAdd(y, buf(1, 2), 2, 2, 3)
	checkClose(t, "biasadd", Data(y), []float64{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2}, 0)
	db := buf(10, 20)
	d.BiasGrad(y, db, 2, 2, 3)
	checkClose(t, "biasgrad", Data(db), []float64{16, 32}, 0)
	c := zeros(4)
	d.Gemm(false, true, 2, 2, 3, 1, buf(1, 2, 3, 4, 5, 6), 3, buf(1, 0, 0, 0, 1, 0), 3, 0, c, 2)
	checkClose(t, "gemm", Data(c), []float64{1, 2, 4, 5}, 0)
}

func TestShapePanics(t *testing.T) {
	d := New()
	defer func() {
		if msg, _ := recover().(string); msg == "" {
			t.Fatal("mismatched Add did not panic with a message")
		}
	}()
	d.Add(zeros(3), zeros(4), zeros(3))
}

// TestMaxPool2x2FastPath compares the 2×2 stride-2 path with the generic window scan on odd
// planes (uncovered last row and column) full of ties.
func TestMaxPool2x2FastPath(t *testing.T) {
	d := New()
	r := rand.New(rand.NewPCG(9, 10))
	g := engine.PoolGeom{N: 2, C: 3, H: 5, W: 7, KH: 2, KW: 2, StrideH: 2, StrideW: 2, OutH: 2, OutW: 3}
	xs := make([]float32, g.InputLen())
	for i := range xs {
		xs[i] = float32(r.IntN(3))
	}
	dys := randSlice(r, g.OutputLen())
	y, dx := zeros(g.OutputLen()), Wrap(fill(g.InputLen(), float32(math.NaN())))
	d.MaxPool(g, Wrap(xs), y)
	d.MaxPoolBackward(g, Wrap(xs), Wrap(dys), dx)
	in, out := g.H*g.W, g.OutH*g.OutW
	wantY, wantDx := make([]float64, g.OutputLen()), make([]float64, g.InputLen())
	for p := 0; p < g.N*g.C; p++ {
		for oh := 0; oh < g.OutH; oh++ {
			for ow := 0; ow < g.OutW; ow++ {
				i := maxIndex(&g, xs[p*in:(p+1)*in], oh, ow)
				wantY[p*out+oh*g.OutW+ow] = float64(xs[p*in+i])
				wantDx[p*in+i] += float64(dys[p*out+oh*g.OutW+ow])
			}
		}
	}
	checkClose(t, "y", Data(y), wantY, 0)
	checkClose(t, "dx", Data(dx), wantDx, 0)
}

// TestColSpan: every span of every col row equals the same span of a directly computed row.
func TestColSpan(t *testing.T) {
	for _, g := range []engine.ConvGeom{
		{N: 1, C: 1, H: 5, W: 6, K: 1, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: 5, OutW: 6},
		{N: 1, C: 1, H: 7, W: 7, K: 1, R: 3, S: 4, StrideH: 2, StrideW: 3, PadH: 2, PadW: 1, OutH: 4, OutW: 3},
		{N: 1, C: 1, H: 6, W: 6, K: 1, R: 3, S: 3, StrideH: 1, StrideW: 1, OutH: 4, OutW: 4},
	} {
		plane := make([]float32, g.H*g.W)
		for i := range plane {
			plane[i] = float32(i + 1)
		}
		ohw := g.OutH * g.OutW
		for r := 0; r < g.R; r++ {
			for s := 0; s < g.S; s++ {
				want := make([]float32, ohw)
				for p := range want {
					ih, iw := p/g.OutW*g.StrideH-g.PadH+r, p%g.OutW*g.StrideW-g.PadW+s
					if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
						want[p] = plane[ih*g.W+iw]
					}
				}
				for a := 0; a <= ohw; a++ {
					for b := a; b <= ohw; b++ {
						got := fill(b-a, float32(math.NaN()))
						colSpan(&g, plane, r, s, a, b, got)
						if !equal(got, want[a:b]) {
							t.Fatalf("%+v tap (%d,%d) span [%d,%d): %v, want %v", g, r, s, a, b, got, want[a:b])
						}
					}
				}
			}
		}
	}
}
