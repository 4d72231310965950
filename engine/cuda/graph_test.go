//go:build cuda

package cuda_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cuda"
	gdata "github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/engine/models"
)

// CUDA graphs: the engine records a training step (and a chunk of a full-set gradient) once and
// replays it. These tests compare runs with graphs against runs without on the same device, to
// the bit: the recorded kernels are the same kernels with the same arguments, and the per-step
// scalars read from device memory are the values the eager step passes by value. They run on the
// emulator (make test-cuda-emu, where capture records ops and a launch replays them) and on a GPU
// (scripts/gpu-check.sh, with the driver's stream capture and cuGraphLaunch).

// raw is the CUDA device behind the checking layer, for its graph and variant switches.
func raw(t testing.TB) *cuda.Device {
	d, ok := engine.Unwrap(dev).(*cuda.Device)
	if !ok {
		t.Fatalf("the device under test is a %T", engine.Unwrap(dev))
	}
	return d
}

// withGraphs runs f with the device's graphs on or off, and restores the setting.
func withGraphs(t testing.TB, on bool, f func()) {
	d := raw(t)
	was := d.GraphsEnabled()
	d.SetGraphs(on)
	defer d.SetGraphs(was)
	f()
}

// graphCase is a short training run: model, data shape, optimizer and the features a step graph
// must carry (L2 penalty, the step hook's copy of θ, a per-layer override that starts mid-run
// and so changes the optimizer's segments, a milestone that changes the learning rate).
type graphCase struct {
	name     string
	model    string
	in       []int
	n, batch int
	opt      engine.OptConfig
	l2       float64
	hook     bool
	override bool // a learning rate of its own for the first layer from iteration 2 on
}

var graphCases = []graphCase{
	{name: "mnist-fc_sgd_nesterov_l2_hook_override", model: "mnist-fc", in: []int{1, 28, 28}, n: 40, batch: 16,
		opt: engine.OptConfig{Kind: "sgd", LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4, Milestones: []int{1}, Gamma: 0.5},
		l2:  1e-3, hook: true, override: true},
	{name: "lenet-lca_adam_dropout", model: "lenet-lca", in: []int{1, 28, 28}, n: 20, batch: 8,
		opt: engine.OptConfig{Kind: "adam", LR: 1e-3, Beta2: 0.99, Milestones: []int{1}}},
	{name: "resnet20_sgd_batchnorm", model: "resnet20", in: []int{3, 8, 8}, n: 20, batch: 8,
		opt: engine.OptConfig{Kind: "sgd", LR: 0.02, Momentum: 0.9}},
}

// trainRun trains c for two epochs and returns every step's loss and L2 term, the final θ, the
// steps that ran as graphs and the trainer's GraphErr.
func trainRun(t *testing.T, c graphCase) (losses []float64, theta []float32, graphSteps int, gerr error) {
	t.Helper()
	m, err := models.New(dev, c.model, c.in, 10, c.batch)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Init(3)
	m.L2 = c.l2
	cfg := c.opt
	if c.override {
		lr := 0.2
		cfg.Groups = []engine.GroupOverride{{Layers: []string{m.Arena.Layers()[0]}, LR: &lr, FromIter: 2}}
	}
	opt, err := engine.NewOptimizer(dev, m.Arena, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer opt.Close()
	ds := syntheticSet(t, c.n, c.in)
	tr, err := engine.NewTrainer(m, opt, ds, nil, engine.TrainConfig{Epochs: 2, Batch: c.batch, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	tr.OnStep = func(s engine.StepInfo) {
		losses = append(losses, s.Loss, s.L2)
		if tr.UsesGraphs() {
			graphSteps++
		}
	}
	if c.hook {
		tr.Hook = func(s engine.StepInfo) error {
			// The copy of θ before the step is part of the recording: it must hold θ_t.
			if s.Before == nil {
				return errors.New("no θ before the step")
			}
			return nil
		}
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return losses, m.Theta(), graphSteps, tr.GraphErr()
}

// syntheticSet is n seeded examples of shape in with labels in 0..9.
func syntheticSet(t testing.TB, n int, in []int) *gdata.Dataset {
	r := rand.New(rand.NewPCG(21, 22))
	x := make([]float32, n*in[0]*in[1]*in[2])
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(r.IntN(10))
	}
	ds, err := gdata.New("graph-test", x, y, in[0], in[1], in[2], 10)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestGraphsMatchEager trains each case with and without CUDA graphs: every step's loss and L2
// term and the final θ must be equal to the bit, and with graphs every step must have run as one.
func TestGraphsMatchEager(t *testing.T) {
	for _, c := range graphCases {
		t.Run(c.name, func(t *testing.T) {
			var le, lg []float64
			var te, tg []float32
			var ge, gg int
			var errG error
			withGraphs(t, false, func() { le, te, ge, _ = trainRun(t, c) })
			before := raw(t).GraphLaunches()
			withGraphs(t, true, func() { lg, tg, gg, errG = trainRun(t, c) })
			launched := raw(t).GraphLaunches() - before
			if errG != nil {
				t.Fatalf("the trainer stopped using graphs: %v", errG)
			}
			steps := len(le) / 2
			if ge != 0 || gg != steps || launched != int64(steps) {
				t.Fatalf("graph steps: %d without graphs, %d of %d with (%d launches)", ge, gg, steps, launched)
			}
			for i := range le {
				if math.Float64bits(le[i]) != math.Float64bits(lg[i]) {
					t.Errorf("step %d %s: eager %.17g, graph %.17g", i/2, []string{"loss", "L2"}[i%2], le[i], lg[i])
				}
			}
			diff := 0
			for i := range te {
				if math.Float32bits(te[i]) != math.Float32bits(tg[i]) {
					diff++
				}
			}
			if diff > 0 {
				t.Errorf("θ after %d steps: %d of %d parameters differ between eager and graph runs", steps, diff, len(te))
			}
		})
	}
}

// TestGradientGraphMatchesEager compares Model.Gradient with and without graphs: the chunk loop
// (chunks of 8, 8 and a short 4) in training mode with dropout and batch statistics.
func TestGradientGraphMatchesEager(t *testing.T) {
	for _, c := range []struct {
		model string
		in    []int
	}{{"lenet-lca", []int{1, 28, 28}}, {"resnet20", []int{3, 8, 8}}} {
		t.Run(c.model, func(t *testing.T) {
			ds := syntheticSet(t, 20, c.in)
			grad := func() (float64, []float32) {
				m, err := models.New(dev, c.model, c.in, 10, 8)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				m.Init(4)
				m.SetSeed(6)
				var l float64
				for step := range 2 { // the second pass replays the recordings of the first
					m.SetStep(10 + step)
					if l, err = m.Gradient(ds, 8, engine.TrainMode); err != nil {
						t.Fatal(err)
					}
				}
				return l, m.GradHost()
			}
			var le, lg float64
			var ge, gg []float32
			withGraphs(t, false, func() { le, ge = grad() })
			before := raw(t).GraphLaunches()
			withGraphs(t, true, func() { lg, gg = grad() })
			if n := raw(t).GraphLaunches() - before; n != 6 {
				t.Errorf("%d graph launches for two passes of 3 chunks, want 6", n)
			}
			if math.Float64bits(le) != math.Float64bits(lg) {
				t.Errorf("mean loss: eager %.17g, graph %.17g", le, lg)
			}
			for i := range ge {
				if math.Float32bits(ge[i]) != math.Float32bits(gg[i]) {
					t.Fatalf("gradient [%d]: eager %g, graph %g", i, ge[i], gg[i])
				}
			}
		})
	}
}

// TestGraphReplay checks the capture itself: nothing runs while recording, every launch runs the
// recorded kernels again (y += a·x three times), and a per-step scalar read from device memory
// takes the value written before each launch.
func TestGraphReplay(t *testing.T) {
	c := engine.CapturerOf(dev)
	if c == nil {
		t.Fatal("the CUDA device offers no Capturer")
	}
	x, _ := dev.Alloc(1000)
	y, _ := dev.Alloc(1000)
	vars, _ := dev.Alloc(2)
	theta, _ := dev.Alloc(1000)
	grad, _ := dev.Alloc(1000)
	defer func() {
		for _, b := range []engine.Buffer{x, y, vars, theta, grad} {
			dev.Free(b)
		}
	}()
	ones := make([]float32, 1000)
	for i := range ones {
		ones[i] = 1
	}
	dev.Upload(x, ones)
	dev.Upload(grad, ones)
	if err := c.BeginCapture(); err != nil {
		t.Fatal(err)
	}
	dev.Axpy(2, x, y)
	c.SGDStepVar(theta, grad, nil, 0, 0, false, vars.Slice(0, 1))
	g, err := c.EndCapture()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if s := dev.Sum(y); s != 0 {
		t.Fatalf("after the capture Σy = %v, want 0 (nothing runs while recording)", s)
	}
	lrs := []float32{0.5, 0.25, 1}
	for _, lr := range lrs {
		dev.Upload(vars, []float32{lr})
		if err := g.Launch(); err != nil {
			t.Fatal(err)
		}
	}
	if err := dev.Sync(); err != nil {
		t.Fatal(err)
	}
	if s := dev.Sum(y); s != 6000 {
		t.Errorf("after 3 launches Σy = %v, want 6000", s)
	}
	if s := dev.Sum(theta); s != -1750 {
		t.Errorf("after SGD steps with lr 0.5, 0.25, 1 read from device memory Σθ = %v, want -1750", s)
	}
}

// TestGraphStale frees a buffer a graph uses: the next launch must refuse (ErrGraphStale)
// rather than write into memory that may belong to another buffer by then.
func TestGraphStale(t *testing.T) {
	c := engine.CapturerOf(dev)
	x, _ := dev.Alloc(64)
	y, _ := dev.Alloc(64)
	other, _ := dev.Alloc(64)
	if err := c.BeginCapture(); err != nil {
		t.Fatal(err)
	}
	dev.Axpy(1, x.Slice(8, 16), y.Slice(8, 16)) // views: the freed root must still be found
	g, err := c.EndCapture()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	dev.Free(other) // unrelated: the graph stays valid
	if err := g.Launch(); err != nil {
		t.Fatalf("launch after freeing an unrelated buffer: %v", err)
	}
	dev.Free(y)
	if err := g.Launch(); !errors.Is(err, engine.ErrGraphStale) {
		t.Errorf("launch after freeing a buffer the graph writes: %v, want ErrGraphStale", err)
	}
	dev.Free(x)
	if err := dev.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestCaptureRefusesHost: work that needs the host cannot be recorded; the capture fails with the
// reason, nothing ran, and the device works normally afterwards.
func TestCaptureRefusesHost(t *testing.T) {
	c := engine.CapturerOf(dev)
	x, _ := dev.Alloc(16)
	defer dev.Free(x)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Upload", func() { dev.Upload(x, make([]float32, 16)) }},
		{"Download", func() { dev.Download(make([]float32, 16), x) }},
		{"Sum", func() {
			if s := dev.Sum(x); !math.IsNaN(s) {
				t.Errorf("Sum during a capture returned %v, want NaN", s)
			}
		}},
		{"Sync", func() {
			if err := dev.Sync(); err == nil {
				t.Error("Sync during a capture returned no error")
			}
		}},
		{"Alloc", func() {
			if _, err := dev.Alloc(4); err == nil {
				t.Error("Alloc during a capture succeeded")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev.Fill(x, 1)
			if err := c.BeginCapture(); err != nil {
				t.Fatal(err)
			}
			dev.Fill(x, 5)
			tc.f()
			g, err := c.EndCapture()
			if err == nil || g != nil {
				t.Fatalf("EndCapture after %s: graph %v, error %v; want an error", tc.name, g, err)
			}
			if !strings.Contains(err.Error(), "CUDA graph") {
				t.Errorf("the error does not say what happened: %v", err)
			}
			if s := dev.Sum(x); s != 16 {
				t.Errorf("after the failed capture Σx = %v, want 16 (the recorded Fill must not run)", s)
			}
			if err := dev.Sync(); err != nil {
				t.Errorf("Sync after the failed capture: %v", err)
			}
		})
	}
}

// BenchmarkGraphStep times a ResNet-20 training step (batch 32, 3×32×32) with and without CUDA
// graphs: on a GPU the difference is the launch overhead graphs remove.
func BenchmarkGraphStep(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("graphs=%t", on), func(b *testing.B) {
			withGraphs(b, on, func() {
				m, err := models.New(dev, "resnet20", []int{3, 32, 32}, 10, 32)
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				m.Init(1)
				opt, _ := engine.NewOptimizer(dev, m.Arena, engine.OptConfig{Kind: "sgd", LR: 0.01, Momentum: 0.9})
				defer opt.Close()
				ds := syntheticSet(b, 320, []int{3, 32, 32})
				tr, err := engine.NewTrainer(m, opt, ds, nil, engine.TrainConfig{Epochs: (b.N + 9) / 10, Batch: 32})
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				if err := tr.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
