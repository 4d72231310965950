package lca

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/internal/npy"
)

// Window LCA by hand on the quadratic of TestLCAByHandOnAQuadratic: a trajectory of four steps
// that turns (θ₀ … θ₄ not on a line), recorded in windows of 3, gives two rows: θ₀ → θ₃ and the
// short last window θ₃ → θ₄. On a quadratic the chord's average gradient is the gradient at its
// midpoint, so each row is g((θ_a + θ_b)/2)·(θ_b − θ_a) exactly, and its sum is the window's ΔL.
// The per-iteration allocation of the same trajectory sums to the same ΔL but allocates it
// differently among the parameters: the path differs, not the error.
func TestWindowLCAByHandOnAQuadratic(t *testing.T) {
	dev := cpu.New()
	build := func(dev engine.Device) (*engine.Model, error) {
		net := engine.NewSequential("net", engine.NewFlatten("f"), engine.NewLinear("fc", 1, true))
		return engine.NewModel(dev, "lin", net, []int{1, 1, 2}, engine.MeanSquaredError, 4)
	}
	ds := &memSet{x: []float32{1, 2, -1, 0.5, 3, -2}, y: []float32{1, -1, 2}, in: 2, tg: 1}
	traj := [][]float32{{0.5, -0.25, 0.125}, {0.25, 0.5, -0.5}, {-0.5, 0.75, 0.25}, {0.125, -0.5, 0.5}, {1, 0.25, -0.25}}
	loss := func(th []float64) float64 {
		var s float64
		for n := range 3 {
			r := th[0]*float64(ds.x[2*n]) + th[1]*float64(ds.x[2*n+1]) + th[2] - float64(ds.y[n])
			s += r * r
		}
		return s / 3
	}
	byHand := func(a, b []float32) []float64 {
		var mid, out [3]float64
		for i := range mid {
			mid[i] = (float64(a[i]) + float64(b[i])) / 2
		}
		for n := range 3 {
			x0, x1 := float64(ds.x[2*n]), float64(ds.x[2*n+1])
			r := mid[0]*x0 + mid[1]*x1 + mid[2] - float64(ds.y[n])
			for i, g := range []float64{2 * r * x0 / 3, 2 * r * x1 / 3, 2 * r / 3} {
				out[i] += g
			}
		}
		for i := range out {
			out[i] *= float64(b[i]) - float64(a[i])
		}
		return out[:]
	}
	record := func(k int) (dir string) {
		dir = t.TempDir()
		m, err := build(dev)
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.Chunk = 2
		it := newTestIntegrator(t, m, build, []Set{{Data: ds}}, cfg)
		rec := NewRecorder(dir, m, it, Outputs{LCA: true, Every: k})
		rec.T = len(traj) - 1
		m.SetTheta(traj[0])
		if err := rec.Start(0, m.Arena.Theta); err != nil {
			t.Fatal(err)
		}
		before, _ := dev.Alloc(3)
		for s := range rec.T {
			dev.Upload(before, traj[s])
			m.SetTheta(traj[s+1])
			if err := rec.Record(s, 0, float64(s), before, m.Arena.Theta); err != nil {
				t.Fatal(err)
			}
		}
		if err := rec.Close(); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	win, step := record(3), record(1)
	wl, _ := npy.Read(filepath.Join(win, FullFile), 0, -1)
	sl, _ := npy.Read(filepath.Join(step, FullFile), 0, -1)
	if wl.Rows() != 2 || sl.Rows() != 4 {
		t.Fatalf("%d window rows (want 2: 0:3 and the short 3:4), %d iteration rows", wl.Rows(), sl.Rows())
	}
	rows, err := readCSV(filepath.Join(win, LossesFile))
	if err != nil {
		t.Fatal(err)
	}
	for r, w := range [][2]int{{0, 3}, {3, 4}} {
		a, b := traj[w[0]], traj[w[1]]
		want := byHand(a, b)
		var sum float64
		for i, v := range want {
			sum += v
			if got := wl.Data[r*3+i]; math.Abs(got-v) > 1e-6*math.Max(1, math.Abs(v)) {
				t.Errorf("window %d:%d, parameter %d: LCA %v, by hand %v", w[0], w[1], i, got, v)
			}
		}
		a64, b64 := make([]float64, 3), make([]float64, 3)
		for i := range a64 {
			a64[i], b64[i] = float64(a[i]), float64(b[i])
		}
		if dl := loss(b64) - loss(a64); math.Abs(dl-sum) > 1e-12 {
			t.Fatalf("hand computation inconsistent: ΔL %v, Σ %v", dl, sum)
		}
		if rows[r][0] != itoa(w[0]) || rows[r][2] != itoa(w[0]) || math.Abs(parseF(rows[r][6])-sum) > 1e-6 || parseF(rows[r][7]) > 1e-6 {
			t.Errorf("window %d:%d: losses.csv row %v (want it under iteration %d with its train loss, ΣLCA %v)", w[0], w[1], rows[r], w[0], sum)
		}
	}
	// The first window's ΔL is the sum of its iterations' ΔL, but not parameter by parameter.
	var stepSum, winSum, apart float64
	for i := range 3 {
		var s float64
		for r := range 3 {
			s += sl.Data[r*3+i]
		}
		stepSum += s
		winSum += wl.Data[i]
		apart = math.Max(apart, math.Abs(s-wl.Data[i]))
	}
	if math.Abs(stepSum-winSum) > 1e-5 || apart < 1e-3 {
		t.Errorf("window 0:3 allocates %v, its iterations %v; largest per-parameter difference %v (the chord and the turning path should differ)", winSum, stepSum, apart)
	}
}
