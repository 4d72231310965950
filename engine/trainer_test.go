package engine_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/engine/models"
)

// run trains lenet-lca-like small nets: a model with dropout and a BN model, so that resume
// must restore dropout streams, running statistics and momentum.
type runSpec struct {
	model string
	in    []int
	opt   engine.OptConfig
}

var specs = []runSpec{
	{"mlp:64-16-4", []int{1, 8, 8}, engine.OptConfig{Kind: "sgd", LR: 0.05, Momentum: 0.9, Milestones: []int{1}, Gamma: 0.5}},
	{"resnet8", []int{3, 8, 8}, engine.OptConfig{Kind: "adam", LR: 1e-3, Beta2: 0.99}},
	{"lenet-lca", []int{1, 12, 12}, engine.OptConfig{Kind: "adam", LR: 1e-3, WeightDecay: 1e-4}},
}

func newRun(t *testing.T, s runSpec, ckpt string) (*engine.Trainer, *[]float64) {
	t.Helper()
	train, err := data.Synthetic(60, s.in[0], s.in[1], s.in[2], 4, 5)
	if err != nil {
		t.Fatal(err)
	}
	test, err := data.Synthetic(20, s.in[0], s.in[1], s.in[2], 4, 6)
	if err != nil {
		t.Fatal(err)
	}
	dev := cpu.New()
	m, err := models.New(dev, s.model, s.in, 4, 16)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	opt, err := engine.NewOptimizer(dev, m.Arena, s.opt)
	if err != nil {
		t.Fatal(err)
	}
	// 60 examples in batches of 16: 4 steps an epoch, the last one short.
	tr, err := engine.NewTrainer(m, opt, train, test, engine.TrainConfig{Epochs: 3, Batch: 16, Seed: 9, Checkpoint: ckpt, CheckpointEvery: 3})
	if err != nil {
		t.Fatal(err)
	}
	losses := &[]float64{}
	tr.OnStep = func(s engine.StepInfo) { *losses = append(*losses, s.Loss) }
	return tr, losses
}

// The same seed gives bit-identical losses and parameters.
func TestTrainingIsBitReproducible(t *testing.T) {
	for _, s := range specs {
		a, la := newRun(t, s, "")
		b, lb := newRun(t, s, "")
		if err := a.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := b.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(*la, *lb) {
			t.Errorf("%s: loss curves differ:\n%v\n%v", s.model, *la, *lb)
		}
		if !slices.Equal(a.Model.Theta(), b.Model.Theta()) {
			t.Errorf("%s: final θ differs", s.model)
		}
		if len(*la) != 12 {
			t.Errorf("%s: %d steps, want 12", s.model, len(*la))
		}
	}
}

// A run interrupted after any iteration and resumed from its checkpoint continues the same loss
// curve, bit for bit, and ends at the same θ, as the uninterrupted run.
func TestResumeContinuesTheSameCurve(t *testing.T) {
	for _, s := range specs {
		full, lf := newRun(t, s, "")
		if err := full.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, stopAt := range []int{3, 4, 6, 9} { // mid-epoch and epoch boundaries
			ck := filepath.Join(t.TempDir(), "run.ckpt")
			first, l1 := newRun(t, s, ck)
			ctx, cancel := context.WithCancel(context.Background())
			first.OnStep = func(st engine.StepInfo) {
				*l1 = append(*l1, st.Loss)
				if st.Iter+1 == stopAt {
					cancel()
				}
			}
			if err := first.Run(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("%s: interrupted run returned %v", s.model, err)
			}
			second, l2 := newRun(t, s, ck)
			if err := second.LoadCheckpoint(ck); err != nil {
				t.Fatal(err)
			}
			if second.Iter != stopAt {
				t.Fatalf("%s: resumed at iteration %d, want %d", s.model, second.Iter, stopAt)
			}
			if err := second.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := append(*l1, *l2...)
			if !slices.Equal(got, *lf) {
				t.Errorf("%s stopped at %d: resumed curve\n%v\nwant\n%v", s.model, stopAt, got, *lf)
			}
			if !slices.Equal(second.Model.Theta(), full.Model.Theta()) {
				t.Errorf("%s stopped at %d: final θ differs from the uninterrupted run", s.model, stopAt)
			}
		}
	}
}

// poisoned returns NaN pixels from its at-th Gather on, as a run whose weights blew up would.
type poisoned struct {
	engine.Examples
	calls, at int
}

func (p *poisoned) Gather(idx []int, x, y []float32) error {
	err := p.Examples.Gather(idx, x, y)
	p.calls++
	if p.calls > p.at {
		x[0] = float32(math.NaN())
	}
	return err
}

// A diverging run stops at the first non-finite loss, names the iteration, and keeps the last
// good checkpoint.
func TestDivergenceStopsAndKeepsCheckpoint(t *testing.T) {
	s := specs[0]
	ck := filepath.Join(t.TempDir(), "run.ckpt")
	tr, losses := newRun(t, s, ck)
	tr.Train = &poisoned{Examples: tr.Train, at: 7}
	err := tr.Run(context.Background())
	var de *engine.DivergedError
	if !errors.As(err, &de) {
		t.Fatalf("want a DivergedError, got %v", err)
	}
	if de.Iter != 7 || len(*losses) != 7 {
		t.Errorf("diverged at iteration %d after %d finite steps, want 7 and 7", de.Iter, len(*losses))
	}
	if !strings.Contains(err.Error(), "iteration 7") || !strings.Contains(err.Error(), ck) {
		t.Errorf("error does not name the iteration and the checkpoint: %v", err)
	}
	// Checkpoints were written at iterations 3, 4 (epoch end) and 6; the latest good one is kept.
	if de.CheckIter != 6 || de.Checkpoint != ck {
		t.Errorf("last good checkpoint %q at %d, want %q at 6", de.Checkpoint, de.CheckIter, ck)
	}
	again, _ := newRun(t, s, ck)
	if err := again.LoadCheckpoint(ck); err != nil {
		t.Fatalf("the kept checkpoint does not load: %v", err)
	}
	if again.Iter != 6 {
		t.Errorf("kept checkpoint is at iteration %d, want 6", again.Iter)
	}
	for _, v := range again.Model.Theta() {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatal("the kept checkpoint holds non-finite parameters")
		}
	}
}

// Corrupt, truncated and mismatched checkpoints are refused with a message naming the file.
func TestCheckpointErrors(t *testing.T) {
	s := specs[0]
	ck := filepath.Join(t.TempDir(), "run.ckpt")
	tr, _ := newRun(t, s, ck)
	if err := tr.SaveCheckpoint(ck); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(ck)
	bad := filepath.Join(t.TempDir(), "bad.ckpt")
	cases := map[string][]byte{
		"truncated":    good[:len(good)/2],
		"flipped byte": append(append([]byte{}, good[:100]...), append([]byte{good[100] ^ 1}, good[101:]...)...),
		"not gaze":     []byte("hello world, not a checkpoint"),
	}
	for name, b := range cases {
		os.WriteFile(bad, b, 0o644)
		fresh, _ := newRun(t, s, "")
		err := fresh.LoadCheckpoint(bad)
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s: error %v does not name %s", name, err, bad)
		}
	}
	other, _ := newRun(t, specs[1], "")
	if err := other.LoadCheckpoint(ck); err == nil || !strings.Contains(err.Error(), "model") {
		t.Errorf("checkpoint of another model: %v", err)
	}
	if err := tr.SaveCheckpoint(filepath.Join(t.TempDir(), "no", "such", "dir", "x.ckpt")); err == nil {
		t.Error("checkpoint into a missing folder: no error")
	}
}

// The full-set gradient equals the mean of per-example gradients whatever the chunk size.
func TestGradientChunking(t *testing.T) {
	ds, err := data.Synthetic(37, 1, 8, 8, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	dev := cpu.New()
	m, err := models.New(dev, "lenet-lca", []int{1, 8, 8}, 4, 8)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	mode := engine.Mode{} // dropout off, running statistics
	ref, err := m.Gradient(ds, 1, mode)
	if err != nil {
		t.Fatal(err)
	}
	refG := m.GradHost()
	for _, chunk := range []int{5, 16, 37, 100} {
		l, err := m.Gradient(ds, chunk, mode)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(l-ref) > 1e-6*math.Abs(ref) {
			t.Errorf("chunk %d: loss %v, want %v", chunk, l, ref)
		}
		g := m.GradHost()
		var maxd, maxg float64
		for i := range g {
			maxd = math.Max(maxd, math.Abs(float64(g[i]-refG[i])))
			maxg = math.Max(maxg, math.Abs(float64(refG[i])))
		}
		if maxd > 1e-5*maxg {
			t.Errorf("chunk %d: gradient differs by %g (max |g| %g)", chunk, maxd, maxg)
		}
	}
	// And the loss matches Evaluate's.
	el, _, err := m.Evaluate(ds, 10, engine.EvalMode)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(el-ref) > 1e-6*math.Abs(ref) {
		t.Errorf("Evaluate loss %v, Gradient loss %v", el, ref)
	}
}

// Per-group overrides: a frozen layer does not move; the others do.
func TestFrozenGroup(t *testing.T) {
	s := specs[0]
	s.opt.Groups = []engine.GroupOverride{{Layers: []string{"fc1"}, Frozen: true, FromIter: 2}}
	tr, _ := newRun(t, s, "")
	var fc1At2 []float32
	i, _ := tr.Model.Arena.Find("fc1.weight")
	p := tr.Model.Arena.Params[i]
	var moved bool
	tr.OnStep = func(st engine.StepInfo) {
		th := tr.Model.Theta()
		switch {
		case st.Iter == 1:
			fc1At2 = slices.Clone(th[p.Offset : p.Offset+p.Size])
		case st.Iter > 1:
			if !slices.Equal(fc1At2, th[p.Offset:p.Offset+p.Size]) {
				t.Fatalf("frozen fc1 moved at iteration %d", st.Iter)
			}
			moved = true
		}
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !moved {
		t.Fatal("no step after the freeze")
	}
	if _, err := engine.NewOptimizer(tr.Model.Dev, tr.Model.Arena, engine.OptConfig{Kind: "sgd", LR: 0.1,
		Groups: []engine.GroupOverride{{Layers: []string{"nosuchlayer"}, Frozen: true}}}); err == nil {
		t.Error("a group naming no layer: no error")
	}
}

// Model.Gradient, the most expensive call of an LCA run, allocates nothing in steady state.
func TestGradientDoesNotAllocate(t *testing.T) {
	for _, name := range []string{"mnist-fc", "lenet-lca", "resnet8"} {
		in := []int{1, 12, 12}
		if name == "resnet8" {
			in = []int{3, 8, 8}
		}
		ds, err := data.Synthetic(40, in[0], in[1], in[2], 4, 1)
		if err != nil {
			t.Fatal(err)
		}
		m, err := models.New(cpu.New(), name, in, 4, 16)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(1)
		mode := engine.Mode{BatchStats: true}
		m.Gradient(ds, 16, mode)
		allocs := testing.AllocsPerRun(3, func() {
			if _, err := m.Gradient(ds, 16, mode); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 0 {
			t.Errorf("%s: Gradient allocates %.0f times per call", name, allocs)
		}
	}
}

// The step hook sees θ before and after each step: for plain SGD, after = before − lr·∇θ.
func TestStepHookSeesBeforeAndAfter(t *testing.T) {
	s := runSpec{"mlp:64-16-4", []int{1, 8, 8}, engine.OptConfig{Kind: "sgd", LR: 0.05}}
	tr, _ := newRun(t, s, "")
	dev := tr.Model.Dev
	calls := 0
	tr.Hook = func(st engine.StepInfo) error {
		before := make([]float32, tr.Model.Arena.D)
		after := make([]float32, tr.Model.Arena.D)
		dev.Download(before, st.Before)
		dev.Download(after, st.After)
		g := tr.Model.GradHost()
		for i := range before {
			if want := before[i] - float32(0.05)*g[i]; after[i] != want {
				t.Fatalf("iteration %d, θ[%d]: after %v, before − lr·g = %v", st.Iter, i, after[i], want)
			}
		}
		calls++
		return nil
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls != tr.TotalSteps() {
		t.Errorf("hook ran %d times for %d steps", calls, tr.TotalSteps())
	}
}
