//go:build cuda

package cuda_test

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cuda"
	"github.com/gazeml/gaze/engine/enginetest"
	"github.com/gazeml/gaze/kernels"
)

// --precision tf32: the convolutions and GEMMs on TF32 tensor cores (on the emulator: the same
// kernels with every operand rounded to TF32 and float32 accumulation, which is what the tensor
// cores compute).

// tf32On switches the device to TF32 for the test, or skips it where TF32 is refused (a compute
// 7.x GPU, or the compute 7.0 PTX forced with GAZE_PTX_DIR).
func tf32On(t *testing.T) {
	t.Helper()
	if err := engine.SetPrecision(dev, engine.PrecisionTF32); err != nil {
		t.Skipf("no TF32 on this device: %v", err)
	}
	t.Cleanup(func() {
		if err := engine.SetPrecision(dev, engine.PrecisionFP32); err != nil {
			t.Error(err)
		}
	})
}

// TestConformanceTF32 runs the suite's GEMM, GEMV and convolution groups in TF32 mode against the
// float64 references with TF32's stated tolerance (enginetest.productTol).
func TestConformanceTF32(t *testing.T) {
	if err := engine.SetPrecision(dev, engine.PrecisionTF32); err != nil {
		t.Skipf("no TF32 on this device: %v", err)
	}
	if err := engine.SetPrecision(dev, engine.PrecisionFP32); err != nil {
		t.Fatal(err)
	}
	enginetest.RunTF32(t, dev)
}

// roundTF32 rounds x to 11 significant bits, ties away from zero (cvt.rna.tf32.f32), written
// independently of the kernels' bit manipulation: through the fraction and exponent. Normal
// numbers only.
func roundTF32(x float32) float32 {
	if x == 0 || math.IsInf(float64(x), 0) || math.IsNaN(float64(x)) {
		return x
	}
	m, e := math.Frexp(float64(x)) // x = m·2^e, 0.5 ≤ |m| < 1
	return float32(math.Ldexp(math.Round(m*2048)/2048, e))
}

// TestTF32Rounding multiplies a column of chosen values by ones (C = A·B, k = 1): each result is
// the TF32 rounding of its value, exactly, which pins the rounding down to the tie cases.
func TestTF32Rounding(t *testing.T) {
	tf32On(t)
	u := float32(math.Ldexp(1, -11)) // half a TF32 unit at 1
	vals := []float32{1, 1 + u, 1 + 3*u, -(1 + u), 1 + u - float32(math.Ldexp(1, -23)), 1 + u + float32(math.Ldexp(1, -23)),
		3.14159265, -2.7182818, 1e-3, 12345.678, 65504.5, float32(math.Ldexp(1.99951171875, 100)), -0.1}
	r := rand.New(rand.NewPCG(1, 2))
	for len(vals) < 64 {
		vals = append(vals, float32(r.NormFloat64()*math.Pow(10, float64(r.IntN(7)-3))))
	}
	m := len(vals)
	a, _ := dev.Alloc(m)
	b, _ := dev.Alloc(2)
	c, _ := dev.Alloc(2 * m)
	defer dev.Free(a)
	defer dev.Free(b)
	defer dev.Free(c)
	dev.Upload(a, vals)
	dev.Upload(b, []float32{1, 1})
	dev.Gemm(false, false, m, 2, 1, 1, a, 1, b, 2, 0, c, 2)
	got := make([]float32, 2*m)
	dev.Download(got, c)
	if err := dev.Sync(); err != nil {
		t.Fatal(err)
	}
	rounded := 0
	for i, v := range vals {
		want := roundTF32(v)
		if want != v {
			rounded++
		}
		for j := range 2 {
			if got[2*i+j] != want {
				t.Errorf("TF32(%.9g) = %.9g, want %.9g", v, got[2*i+j], want)
			}
		}
	}
	if rounded < 40 {
		t.Fatalf("only %d of %d test values change under rounding", rounded, m)
	}
}

// TestTF32Products compares a TF32 GEMM with a float64 reference of the TF32-rounded operands,
// within the float32 accumulation's tolerance (four times the suite's margin, for the tensor
// cores' grouped additions), and checks that the result differs from float32's: the kernels do
// round their operands.
func TestTF32Products(t *testing.T) {
	tf32On(t)
	const m, n, k = 37, 70, 300
	r := rand.New(rand.NewPCG(3, 4))
	av, bv := make([]float32, m*k), make([]float32, k*n)
	for i := range av {
		av[i] = float32(r.NormFloat64())
	}
	for i := range bv {
		bv[i] = float32(r.NormFloat64())
	}
	a, _ := dev.Alloc(m * k)
	b, _ := dev.Alloc(k * n)
	c, _ := dev.Alloc(m * n)
	defer dev.Free(a)
	defer dev.Free(b)
	defer dev.Free(c)
	dev.Upload(a, av)
	dev.Upload(b, bv)
	dev.Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
	got := make([]float32, m*n)
	dev.Download(got, c)
	if err := dev.Sync(); err != nil {
		t.Fatal(err)
	}
	rtol := 4 * 8 * (math.Sqrt(k) + 1) / (1 << 24)
	far := 0
	for i := range m {
		for j := range n {
			var s, sr, mag float64
			for p := range k {
				x, y := float64(av[i*k+p]), float64(bv[p*n+j])
				s += x * y
				sr += float64(roundTF32(av[i*k+p])) * float64(roundTF32(bv[p*n+j]))
				mag += math.Abs(x * y)
			}
			g := float64(got[i*n+j])
			if d := math.Abs(g - sr); d > 1e-6+rtol*mag {
				t.Fatalf("C[%d,%d] = %.9g, TF32 reference %.9g (|Δ| %.3g > %.3g)", i, j, g, sr, d, 1e-6+rtol*mag)
			}
			if math.Abs(g-s) > 1e-4*mag {
				far++
			}
		}
	}
	if far == 0 {
		t.Error("no element differs from the float32 product by more than 1e-4 of its magnitude: the operands were not rounded to TF32")
	}
}

// TestTF32Convolutions runs each convolution kernel at float32 and at TF32 on the same random
// data: the results must differ (the TF32 kernels ran) and agree within TF32's tolerance. The
// suite's TF32 groups check each against the float64 reference.
func TestTF32Convolutions(t *testing.T) {
	if err := engine.SetPrecision(dev, engine.PrecisionTF32); err != nil {
		t.Skipf("no TF32 on this device: %v", err)
	}
	engine.SetPrecision(dev, engine.PrecisionFP32)
	g := engine.ConvGeom{N: 4, C: 16, H: 8, W: 8, K: 32, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: 8, OutW: 8}
	r := rand.New(rand.NewPCG(5, 6))
	rnd := func(n int) engine.Buffer {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		b, _ := dev.Alloc(n)
		dev.Upload(b, v)
		t.Cleanup(func() { dev.Free(b) })
		return b
	}
	x, w, dy := rnd(g.InputLen()), rnd(g.WeightLen()), rnd(g.OutputLen())
	for _, c := range []struct {
		name string
		n    int
		run  func(out engine.Buffer)
	}{
		{"forward", g.OutputLen(), func(out engine.Buffer) { dev.ConvForward(g, x, w, out) }},
		{"backward_data", g.InputLen(), func(out engine.Buffer) { dev.ConvBackwardData(g, dy, w, out, 0) }},
		{"backward_filter", g.WeightLen(), func(out engine.Buffer) { dev.ConvBackwardFilter(g, x, dy, out) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := [2][]float32{}
			for i, p := range []string{engine.PrecisionFP32, engine.PrecisionTF32} {
				if err := engine.SetPrecision(dev, p); err != nil {
					t.Fatal(err)
				}
				out, _ := dev.Alloc(c.n)
				c.run(out)
				res[i] = make([]float32, c.n)
				dev.Download(res[i], out)
				dev.Free(out)
			}
			engine.SetPrecision(dev, engine.PrecisionFP32)
			if err := dev.Sync(); err != nil {
				t.Fatal(err)
			}
			differ := 0
			var num, den float64
			for i := range res[0] {
				d := float64(res[1][i]) - float64(res[0][i])
				if d != 0 {
					differ++
				}
				num += d * d
				den += float64(res[0][i]) * float64(res[0][i])
			}
			rel := math.Sqrt(num / den)
			if differ == 0 {
				t.Error("TF32 and float32 results are identical: the TF32 kernels did not run")
			}
			if rel > 2e-3 {
				t.Errorf("TF32 differs from float32 by %.3g (relative, 2-norm), more than TF32 rounding explains", rel)
			}
			t.Logf("%d of %d values differ, relative difference %.3g", differ, c.n, rel)
		})
	}
}

// TestTF32RefusedWithOldPTX forces the compute 7.0 PTX set (GAZE_PTX_DIR=kernels/sm70) on a
// second device: TF32 must be refused, since that set's TF32 entry points compute in float32.
func TestTF32RefusedWithOldPTX(t *testing.T) {
	dir := ""
	for _, d := range []string{"../../kernels/sm70", "kernels/sm70"} {
		if _, err := os.Stat(filepath.Join(d, "conv.ptx")); err == nil {
			dir = d
		}
	}
	if dir == "" {
		t.Skip("kernels/sm70 not found from here")
	}
	t.Setenv(kernels.PTXDirEnv, dir)
	d, err := cuda.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = d.SetPrecision(engine.PrecisionTF32)
	if err == nil || !strings.Contains(err.Error(), "compute 8.0 PTX") {
		t.Errorf("SetPrecision(tf32) with the 7.0 PTX: %v, want a refusal naming the PTX", err)
	}
	if !strings.Contains(d.Describe(), "GAZE_PTX_DIR") {
		t.Errorf("Describe does not say where the PTX came from: %s", d.Describe())
	}
}
