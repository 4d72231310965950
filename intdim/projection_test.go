package intdim

import (
	"math"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
)

// column returns P·e_j.
func column(t *testing.T, dev engine.Device, p Projection, j int) []float32 {
	t.Helper()
	D, d := p.Dims()
	x := make([]float32, d)
	x[j] = 1
	xb, yb := cpu.Wrap(x), cpu.Wrap(make([]float32, D))
	p.Apply(xb, yb)
	if err := dev.Sync(); err != nil {
		t.Fatal(err)
	}
	return cpu.Data(yb)
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

var testSegs = ProjConfig{D: 1000, Starts: []int{0, 600, 990}, Ends: []int{600, 990, 1000}}

func newTestProj(t *testing.T, dev engine.Device, kind string, d int, seed uint64) Projection {
	t.Helper()
	c := testSegs
	c.Kind, c.Dim, c.Seed = kind, d, seed
	p, err := NewProjection(dev, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Columns have unit norm: exactly (up to float32 rounding) for dense, dense-otf and sparse, in
// expectation for fastfood (the mean over 256 columns within 1 ± 0.05).
func TestUnitColumns(t *testing.T) {
	dev := cpu.New()
	for _, kind := range Kinds {
		d := 64
		if kind == Fastfood {
			d = 256
		}
		p := newTestProj(t, dev, kind, d, 7)
		var sum float64
		for j := range d {
			n := norm(column(t, dev, p, j))
			sum += n
			if kind != Fastfood && math.Abs(n-1) > 2e-6 {
				t.Errorf("%s: column %d has norm %.8f, want 1", kind, j, n)
			}
		}
		if mean := sum / float64(d); math.Abs(mean-1) > 0.05 {
			t.Errorf("%s: mean column norm %.4f, want 1 ± 0.05", kind, mean)
		} else {
			t.Logf("%s: mean column norm %.6f", kind, mean)
		}
	}
}

// The stored and the on-the-fly dense projections are the same matrix, bit for bit, and their
// transposes agree to float32 accumulation.
func TestDenseOTFSameP(t *testing.T) {
	dev := cpu.New()
	a := newTestProj(t, dev, Dense, 20, 42)
	b := newTestProj(t, dev, DenseOTF, 20, 42)
	for j := range 20 {
		ca, cb := column(t, dev, a, j), column(t, dev, b, j)
		for i := range ca {
			if ca[i] != cb[i] {
				t.Fatalf("column %d row %d: dense %v, dense-otf %v", j, i, ca[i], cb[i])
			}
		}
	}
	g := make([]float32, 1000)
	for i := range g {
		g[i] = float32(math.Sin(float64(i)))
	}
	oa, ob := cpu.Wrap(make([]float32, 20)), cpu.Wrap(make([]float32, 20))
	a.ApplyT(cpu.Wrap(g), oa)
	b.ApplyT(cpu.Wrap(g), ob)
	for j, v := range cpu.Data(oa) {
		if w := cpu.Data(ob)[j]; math.Abs(float64(v-w)) > 1e-5*(1+math.Abs(float64(w))) {
			t.Errorf("Pᵀg[%d]: dense %v, dense-otf %v", j, v, w)
		}
	}
	c := newTestProj(t, dev, DenseOTF, 20, 43)
	if col := column(t, dev, c, 0); col[0] == column(t, dev, b, 0)[0] {
		t.Error("another seed gives the same P")
	}
}

// ApplyT is the transpose of Apply: ⟨y, P·x⟩ = ⟨Pᵀ·y, x⟩.
func TestAdjoint(t *testing.T) {
	dev := cpu.New()
	for _, kind := range Kinds {
		p := newTestProj(t, dev, kind, 37, 3)
		x, y := make([]float32, 37), make([]float32, 1000)
		for i := range x {
			x[i] = float32(math.Cos(float64(3 * i)))
		}
		for i := range y {
			y[i] = float32(math.Sin(float64(i) * 0.7))
		}
		px, pty := cpu.Wrap(make([]float32, 1000)), cpu.Wrap(make([]float32, 37))
		p.Apply(cpu.Wrap(x), px)
		p.ApplyT(cpu.Wrap(y), pty)
		var l, r, mag float64
		for i, v := range cpu.Data(px) {
			l += float64(v) * float64(y[i])
			mag += math.Abs(float64(v) * float64(y[i]))
		}
		for i, v := range cpu.Data(pty) {
			r += float64(v) * float64(x[i])
		}
		if math.Abs(l-r) > 1e-5*mag {
			t.Errorf("%s: ⟨y, Px⟩ = %.8g but ⟨Pᵀy, x⟩ = %.8g", kind, l, r)
		}
	}
}

// The sparse projection draws each layer with density 1/√n and equal magnitudes inside a layer.
func TestSparseDensity(t *testing.T) {
	dev := cpu.New()
	p := newTestProj(t, dev, Sparse, 200, 9).(*sparseProj)
	want := 200 * (math.Sqrt(600) + math.Sqrt(390) + math.Sqrt(10))
	if got := float64(p.nnz); math.Abs(got-want) > 0.1*want {
		t.Errorf("%d non-zeros, want about %.0f", p.nnz, want)
	}
	for j := range 10 {
		col := column(t, dev, p, j)
		for l := range testSegs.Starts {
			var mag float32
			for _, v := range col[testSegs.Starts[l]:testSegs.Ends[l]] {
				if v == 0 {
					continue
				}
				if mag == 0 {
					mag = abs32(v)
				} else if abs32(v) != mag {
					t.Fatalf("column %d layer %d: magnitudes %v and %v differ", j, l, mag, abs32(v))
				}
			}
		}
	}
}

func abs32(v float32) float32 { return float32(math.Abs(float64(v))) }

func TestProjectionBadInput(t *testing.T) {
	for _, c := range []struct {
		cfg  ProjConfig
		want string
	}{
		{ProjConfig{Kind: Dense, D: 100, Dim: 0}, "d = 0 must be in [1, D = 100]"},
		{ProjConfig{Kind: Sparse, D: 100, Dim: -3}, "d = -3"},
		{ProjConfig{Kind: Fastfood, D: 100, Dim: 101}, "d = 101 must be in [1, D = 100]"},
		{ProjConfig{Kind: "gaussian", D: 100, Dim: 1}, `unknown projection "gaussian"`},
		// ResNet-20 with d = 100,000: a stored P is 109 GB.
		{ProjConfig{Kind: Dense, D: 272474, Dim: 100000, MemLimit: 8 << 30}, "needs 101.5 GiB, over the 8.0 GiB limit; these fit: dense-otf (390.6 KiB), sparse"},
	} {
		_, err := NewProjection(cpu.New(), c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want it to contain %q", c.cfg, err, c.want)
		}
	}
}
