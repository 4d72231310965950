package lca

import (
	"fmt"
	"math"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/engine/data"
)

// memSet is a tiny regression data set: inputs and targets given explicitly.
type memSet struct {
	x, y   []float32
	in, tg int
}

func (s *memSet) Len() int         { return len(s.x) / s.in }
func (s *memSet) ExampleSize() int { return s.in }
func (s *memSet) TargetSize() int  { return s.tg }
func (s *memSet) Gather(idx []int, x, y []float32) error {
	for k, i := range idx {
		copy(x[k*s.in:(k+1)*s.in], s.x[i*s.in:(i+1)*s.in])
		copy(y[k*s.tg:(k+1)*s.tg], s.y[i*s.tg:(i+1)*s.tg])
	}
	return nil
}

// newTestIntegrator starts a gradient pool of one CPU device per entry of threads (0: all
// cores), each with a model from build, and an integrator on m over sets.
func newTestIntegrator(t testing.TB, m *engine.Model, build func(engine.Device) (*engine.Model, error), sets []Set, cfg Config, threads ...int) *Integrator {
	t.Helper()
	if len(threads) == 0 {
		threads = []int{0}
	}
	var devs []engine.Device
	var names []string
	for i, th := range threads {
		devs = append(devs, cpu.NewThreads(th))
		names = append(names, fmt.Sprintf("cpu#%d", i))
	}
	pool, err := NewPool(devs, names, build)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	it, err := NewIntegrator(m, sets, cfg, pool)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// A one-unit linear model y = w·x + b under MSE: the loss is quadratic in θ, its gradient is
// linear, so the path average is the gradient at the midpoint, by hand:
// ∂L/∂w_j = 2/N Σ_n (w·x_n + b − y_n) x_nj and ∂L/∂b = 2/N Σ_n (w·x_n + b − y_n).
func TestLCAByHandOnAQuadratic(t *testing.T) {
	dev := cpu.New()
	build := func(dev engine.Device) (*engine.Model, error) {
		net := engine.NewSequential("net", engine.NewFlatten("f"), engine.NewLinear("fc", 1, true))
		return engine.NewModel(dev, "lin", net, []int{1, 1, 2}, engine.MeanSquaredError, 4)
	}
	m, err := build(dev)
	if err != nil {
		t.Fatal(err)
	}
	ds := &memSet{x: []float32{1, 2, -1, 0.5, 3, -2}, y: []float32{1, -1, 2}, in: 2, tg: 1}
	before := []float32{0.5, -0.25, 0.125} // w1, w2, b
	after := []float32{0.25, 0.5, -0.5}
	cfg := DefaultConfig()
	cfg.Chunk = 2 // two chunks: 2 + 1 examples
	it := newTestIntegrator(t, m, build, []Set{{Data: ds}}, cfg)
	bb, _ := dev.Alloc(3)
	dev.Upload(bb, before)
	m.SetTheta(after)
	st, err := it.Step(bb, m.Arena.Theta)
	if err != nil {
		t.Fatal(err)
	}
	loss := func(th []float64) float64 {
		var s float64
		for n := 0; n < 3; n++ {
			r := th[0]*float64(ds.x[2*n]) + th[1]*float64(ds.x[2*n+1]) + th[2] - float64(ds.y[n])
			s += r * r
		}
		return s / 3
	}
	mid := make([]float64, 3)
	b64, a64 := make([]float64, 3), make([]float64, 3)
	for i := range mid {
		b64[i], a64[i] = float64(before[i]), float64(after[i])
		mid[i] = (b64[i] + a64[i]) / 2
	}
	var g [3]float64
	for n := 0; n < 3; n++ {
		x0, x1 := float64(ds.x[2*n]), float64(ds.x[2*n+1])
		r := mid[0]*x0 + mid[1]*x1 + mid[2] - float64(ds.y[n])
		g[0] += 2 * r * x0 / 3
		g[1] += 2 * r * x1 / 3
		g[2] += 2 * r / 3
	}
	got := st.Out
	var sum float64
	for i := range g {
		want := g[i] * (a64[i] - b64[i])
		sum += want
		if math.Abs(got[i]-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("LCA of parameter %d = %v, by hand %v", i, got[i], want)
		}
	}
	if dl := loss(a64) - loss(b64); math.Abs(dl-sum) > 1e-12 {
		t.Fatalf("hand computation inconsistent: ΔL %v, Σ %v", dl, sum)
	}
	if math.Abs(st.Sum-sum) > 1e-5 || st.Error() > 1e-5 || st.N != 2 {
		t.Errorf("Σ LCA %v (want %v), error %v, n %d (want 2)", st.Sum, sum, st.Error(), st.N)
	}
	if math.Abs(st.LossBefore-loss(b64)) > 1e-6 || math.Abs(st.LossAfter-loss(a64)) > 1e-6 {
		t.Errorf("losses %v → %v, by hand %v → %v", st.LossBefore, st.LossAfter, loss(b64), loss(a64))
	}
	// The model's θ is left at θ_{t+1}.
	th := m.Theta()
	for i := range th {
		if th[i] != after[i] {
			t.Fatalf("θ after Step = %v, want %v", th, after)
		}
	}
}

// Refinement keeps every computed point and applies Simpson's weights (1,4,2,…,4,1)/(3n):
// forcing n to 8 must give exactly the sum an independent 9-point Simpson rule gives.
func TestSimpsonRefinementWeights(t *testing.T) {
	dev := cpu.New()
	ds, err := data.Synthetic(30, 1, 4, 4, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	build := func(dev engine.Device) (*engine.Model, error) {
		net := engine.NewSequential("net", engine.NewFlatten("f"), engine.NewLinear("fc1", 8, true), engine.NewReLU("r"), engine.NewLinear("fc2", 3, true))
		return engine.NewModel(dev, "mlp", net, []int{1, 4, 4}, engine.SoftmaxCrossEntropy, 8)
	}
	m, err := build(dev)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	before := m.Theta()
	after := make([]float32, len(before))
	for i := range after {
		after[i] = before[i] + 0.3*float32(math.Sin(float64(i)))
	}
	cfg := DefaultConfig()
	cfg.Threshold, cfg.MaxN, cfg.Chunk = 1e-12, 8, 7
	it := newTestIntegrator(t, m, build, []Set{{Data: ds}}, cfg)
	bb, _ := dev.Alloc(len(before))
	dev.Upload(bb, before)
	m.SetTheta(after)
	st, err := it.Step(bb, m.Arena.Theta)
	if err != nil {
		t.Fatal(err)
	}
	if st.N != 8 || st.Evaluations != 9 {
		t.Fatalf("n = %d after %d evaluations, want 8 after 9 (every point once)", st.N, st.Evaluations)
	}
	// Independent Simpson: g at the 9 points, weighted in float64.
	w := []float64{1, 4, 2, 4, 2, 4, 2, 4, 1}
	var want float64
	th := make([]float32, len(before))
	for k := 0; k <= 8; k++ {
		for i := range th {
			th[i] = before[i] + float32(k)/8*(after[i]-before[i])
		}
		m.SetTheta(th)
		if _, err := m.Gradient(ds, 30, engine.Mode{BatchStats: true}); err != nil {
			t.Fatal(err)
		}
		g := m.GradHost()
		for i := range g {
			want += w[k] / 24 * float64(g[i]) * float64(after[i]-before[i])
		}
	}
	if math.Abs(st.Sum-want) > 1e-5*math.Abs(want)+1e-7 {
		t.Errorf("Σ LCA with n = 8: %v, independent Simpson: %v", st.Sum, want)
	}
	if len(st.Layers) != 2 || math.Abs(st.Layers[0]+st.Layers[1]-st.Sum) > 1e-12 {
		t.Errorf("per-layer sums %v do not add up to %v", st.Layers, st.Sum)
	}
}

// Along a real training trajectory Simpson's error is far below the first-order one, and the
// adaptive rule meets the threshold.
func TestSimpsonBeatsFirstOrder(t *testing.T) {
	dev := cpu.New()
	ds, err := data.Synthetic(64, 1, 6, 6, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	build := func(dev engine.Device) (*engine.Model, error) {
		net := engine.NewSequential("net", engine.NewFlatten("f"), engine.NewLinear("fc1", 16, true), engine.NewReLU("r"), engine.NewLinear("fc2", 4, true))
		return engine.NewModel(dev, "mlp", net, []int{1, 6, 6}, engine.SoftmaxCrossEntropy, 16)
	}
	m, err := build(dev)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	opt, _ := engine.NewOptimizer(dev, m.Arena, engine.OptConfig{Kind: "sgd", LR: 0.1, Momentum: 0.9})
	tr, err := engine.NewTrainer(m, opt, ds, nil, engine.TrainConfig{Epochs: 2, Batch: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Threshold = 1e-4
	it := newTestIntegrator(t, m, build, []Set{{Data: ds}}, cfg)
	var simpson, first float64
	tr.Hook = func(s engine.StepInfo) error {
		st, err := it.Step(s.Before, s.After)
		if err != nil {
			return err
		}
		if st.Error() > cfg.Threshold && st.N < cfg.MaxN {
			t.Errorf("iteration %d: error %v above the threshold with n = %d", s.Iter, st.Error(), st.N)
		}
		simpson += st.Error()
		first += st.FirstOrderError()
		return nil
	}
	if err := tr.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !(simpson*10 < first) {
		t.Errorf("summed |ΔL − ΣLCA|: Simpson %v, first order %v; want Simpson ≥ 10× smaller", simpson, first)
	}
	t.Logf("summed error over %d iterations: Simpson %.3g, first order %.3g", tr.Iter, simpson, first)
}

// Held-out LCA refines while either split's error is above the threshold. A constructed case
// where only the held-out error is large: y = w2·relu(w1·x + b1) + b2 under MSE, a step that
// moves w1 from 1 to −1. On the training example (x = 0.05) the ReLU stays active along the
// path, the loss is quadratic in the step and Simpson's n = 2 is exact; on the held-out example
// (x = 1) the ReLU switches off halfway, and n = 2 misses the loss change by about 0.2.
func TestHeldOutErrorDrivesRefinement(t *testing.T) {
	dev := cpu.New()
	build := func(dev engine.Device) (*engine.Model, error) {
		net := engine.NewSequential("net", engine.NewFlatten("f"), engine.NewLinear("fc1", 1, true), engine.NewReLU("r"), engine.NewLinear("fc2", 1, true))
		return engine.NewModel(dev, "kink", net, []int{1, 1, 1}, engine.MeanSquaredError, 2)
	}
	m, err := build(dev)
	if err != nil {
		t.Fatal(err)
	}
	train := Set{Name: "train", Data: &memSet{x: []float32{0.05}, y: []float32{0}, in: 1, tg: 1}}
	held := Set{Name: "held_out", Data: &memSet{x: []float32{1}, y: []float32{0}, in: 1, tg: 1}}
	before := []float32{1, 0.1, 1, 0} // w1, b1, w2, b2
	after := []float32{-1, 0.1, 1, 0}
	step := func(sets []Set, maxN int) Step {
		t.Helper()
		cfg := DefaultConfig()
		cfg.MaxN = maxN
		it := newTestIntegrator(t, m, build, sets, cfg)
		bb, _ := dev.Alloc(4)
		dev.Upload(bb, before)
		m.SetTheta(after)
		st, err := it.Step(bb, m.Arena.Theta)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	alone := step([]Set{train}, 32)
	if alone.N != 2 || alone.Error() > 1e-9 || alone.HeldOut != nil {
		t.Fatalf("training split alone: n = %d, error %g", alone.N, alone.Error())
	}
	coarse := step([]Set{train, held}, 2)
	if coarse.HeldOut == nil || coarse.HeldOut.Error() < 0.1 || coarse.Error() > 1e-9 {
		t.Fatalf("the construction: at n = 2 the held-out error is %g and the training error %g", coarse.HeldOut.Error(), coarse.Error())
	}
	both := step([]Set{train, held}, 32)
	if both.N <= 2 || both.Error() > 1e-9 || !(both.HeldOut.Error() < coarse.HeldOut.Error()/4) {
		t.Errorf("with the held-out split: n = %d, training error %g, held-out error %g (at n = 2: %g)", both.N, both.Error(), both.HeldOut.Error(), coarse.HeldOut.Error())
	}
	if both.HeldOut.Error() > DefaultConfig().Threshold && both.N < 32 {
		t.Errorf("stopped at n = %d with the held-out error %g above the threshold", both.N, both.HeldOut.Error())
	}
	// The training split's allocation is the same at every n (its Simpson sum is exact, up to the
	// float32 rounding of the gradients at the points).
	if math.Abs(both.Sum-alone.Sum) > 1e-8 || math.Abs(both.LossAfter-both.LossBefore-both.Sum) > 1e-9 {
		t.Errorf("training ΣLCA %v with refinement, %v without", both.Sum, alone.Sum)
	}
	t.Logf("held-out error %.3g at n = 2, %.3g at n = %d; training error %.2g", coarse.HeldOut.Error(), both.HeldOut.Error(), both.N, both.Error())
}
