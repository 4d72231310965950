package intdim

import (
	"math"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/engine/models"
)

func newSubspace(t *testing.T, m *engine.Model, kind string, d int, seed uint64) *Subspace {
	t.Helper()
	_, starts, ends := m.Arena.LayerSegments()
	p, err := NewProjection(m.Dev, ProjConfig{Kind: kind, D: m.Arena.D, Dim: d, Seed: seed, Starts: starts, Ends: ends})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSubspace(m, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); p.Close(); m.Close() })
	return s
}

// Step 0 (θ_d = 0) reproduces the directly initialised network exactly: the same θ bit for bit
// and the same outputs.
func TestStepZeroExact(t *testing.T) {
	in := make([]float32, 4*784)
	for i := range in {
		in[i] = float32(i%29) / 29
	}
	for _, kind := range Kinds {
		dev := cpu.New()
		direct, err := models.New(dev, "mlp:784-32-10", []int{1, 28, 28}, 10, 4)
		if err != nil {
			t.Fatal(err)
		}
		defer direct.Close()
		direct.Init(5)
		m, _ := models.New(dev, "mlp:784-32-10", []int{1, 28, 28}, 10, 4)
		m.Init(5)
		s := newSubspace(t, m, kind, 30, 11)
		dev.Fill(m.Arena.Theta, 123) // Expand must write all of θ
		if err := s.Expand(); err != nil {
			t.Fatal(err)
		}
		a, b := direct.Theta(), m.Theta()
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s: θ[%d] = %v after Expand at θ_d = 0, initialised %v", kind, i, b[i], a[i])
			}
		}
		ya, _ := direct.Forward(in, 4, engine.EvalMode)
		outA := make([]float32, 40)
		dev.Download(outA, ya.Buf)
		yb, _ := m.Forward(in, 4, engine.EvalMode)
		outB := make([]float32, 40)
		dev.Download(outB, yb.Buf)
		for i := range outA {
			if outA[i] != outB[i] {
				t.Fatalf("%s: output %d differs: %v vs %v", kind, i, outB[i], outA[i])
			}
		}
	}
}

// g_d = Pᵀ(∇L + λθ) matches central finite differences of L(θ₀ + Pθ_d) + λ/2‖w‖², for the
// quadratic toy loss (tight) and a small ReLU network with L2 on the full θ.
func TestSubspaceGradientFD(t *testing.T) {
	type net struct {
		name string
		mk   func(dev engine.Device) (*engine.Model, []float32, []float32, int)
		h    float64
		tol  float64
	}
	nets := []net{
		{"toy", func(dev engine.Device) (*engine.Model, []float32, []float32, int) {
			m, _ := NewToyModel(dev)
			x, y := make([]float32, ToyGroupSize), make([]float32, ToyGroups)
			ToyData{}.Gather([]int{0}, x, y)
			return m, x, y, 1
		}, 1e-2, 2e-3},
		{"mlp+l2", func(dev engine.Device) (*engine.Model, []float32, []float32, int) {
			m, _ := models.New(dev, "mlp:12-16-3", []int{1, 3, 4}, 3, 8)
			m.L2 = 0.05
			x, y := make([]float32, 8*12), make([]float32, 8)
			for i := range x {
				x[i] = float32(math.Sin(float64(i) * 1.3))
			}
			for i := range y {
				y[i] = float32(i % 3)
			}
			return m, x, y, 8
		}, 1e-2, 5e-3},
	}
	for _, nt := range nets {
		for _, kind := range Kinds {
			dev := cpu.New()
			m, x, y, n := nt.mk(dev)
			m.Init(1)
			s := newSubspace(t, m, kind, 6, 2)
			td := []float32{0.3, -0.2, 0.1, 0.5, -0.4, 0.25}
			setTD := func(v []float32) {
				dev.Upload(s.VarArena().Theta, v)
				s.Expand()
			}
			loss := func() float64 {
				l, err := m.Batch(x, y, n, engine.EvalMode, false, 0)
				if err != nil {
					t.Fatal(err)
				}
				return l/float64(n) + m.L2Penalty()
			}
			setTD(td)
			m.ZeroGrad()
			if _, err := m.Batch(x, y, n, engine.EvalMode, true, 1/float64(n)); err != nil {
				t.Fatal(err)
			}
			m.AddL2Grad()
			s.Project()
			g := make([]float32, 6)
			dev.Download(g, s.VarArena().Grad)
			for k := range td {
				v := append([]float32(nil), td...)
				v[k] += float32(nt.h)
				setTD(v)
				lp := loss()
				v[k] -= float32(2 * nt.h)
				setTD(v)
				lm := loss()
				fd := (lp - lm) / (2 * nt.h)
				if math.Abs(fd-float64(g[k])) > nt.tol*(1+math.Abs(fd)) {
					t.Errorf("%s %s: g_d[%d] = %.6g, finite differences %.6g", nt.name, kind, k, g[k], fd)
				}
			}
		}
	}
}
