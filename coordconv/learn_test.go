package coordconv

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/internal/rundir"
)

// smallCanvas is coordinate classification on a side×side canvas (every pixel a centre): the
// paper's task scaled down so that a test trains in seconds.
type smallCanvas struct {
	side    int
	centres []Centre
}

func (s *smallCanvas) Len() int         { return len(s.centres) }
func (s *smallCanvas) ExampleSize() int { return 2 }
func (s *smallCanvas) TargetSize() int  { return 1 }
func (s *smallCanvas) Gather(idx []int, x, y []float32) error {
	for k, i := range idx {
		c := s.centres[i]
		x[2*k], x[2*k+1] = float32(c.X), float32(c.Y)
		y[k] = float32(c.Y*s.side + c.X)
	}
	return nil
}

// quadrantSplit holds out the centres with x, y ≥ side/2.
func quadrantSplit(side int) (train, test *smallCanvas) {
	train, test = &smallCanvas{side: side}, &smallCanvas{side: side}
	for y := range side {
		for x := range side {
			if x >= side/2 && y >= side/2 {
				test.centres = append(test.centres, Centre{x, y})
			} else {
				train.centres = append(train.centres, Centre{x, y})
			}
		}
	}
	return train, test
}

func trainSmall(t *testing.T, net engine.Layer, side int, lr float64, epochs int) (trainAcc, testAcc float64) {
	t.Helper()
	dev := cpu.New()
	train, test := quadrantSplit(side)
	m, err := engine.NewModel(dev, "small", net, []int{2, 1, 1}, engine.SoftmaxCrossEntropy, 16)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	m.L2 = 1e-3
	opt, err := engine.NewOptimizer(dev, m.Arena, engine.OptConfig{Kind: "adam", LR: lr, Beta2: 0.99})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := engine.NewTrainer(m, opt, train, nil, engine.TrainConfig{Epochs: epochs, Batch: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, trainAcc, err = m.Evaluate(train, 64, engine.EvalMode)
	if err != nil {
		t.Fatal(err)
	}
	_, testAcc, err = m.Evaluate(test, 64, engine.EvalMode)
	if err != nil {
		t.Fatal(err)
	}
	return trainAcc, testAcc
}

// The CoordConv painter learns coordinate classification and generalises to a quadrant it never
// saw, on a 16×16 canvas; the deconv painter (four stride-2 layers from 1×1 to 16×16) fits its
// training set no better and paints nothing right in the unseen quadrant.
func TestSmallQuadrant(t *testing.T) {
	trA, teA := trainSmall(t, CoordConvPainter("cc", 1, 16, 16), 16, 0.01, 50)
	t.Logf("coordconv painter: train %.1f%%, test %.1f%%", 100*trA, 100*teA)
	if trA < 0.99 || teA < 0.95 {
		t.Errorf("coordconv painter: train accuracy %.1f%%, test %.1f%%; want ≥ 99%% and ≥ 95%%", 100*trA, 100*teA)
	}
	var layers []engine.Layer
	for i, c := range []int{64, 64, 32} {
		n := string(rune('1' + i))
		layers = append(layers, engine.NewConvTranspose2d("deconv"+n, c, 3, 2, true),
			engine.NewBatchNorm2d("bn"+n, bnMomentum, bnEps), engine.NewReLU("relu"+n))
	}
	layers = append(layers, engine.NewConvTranspose2d("deconv4", 1, 3, 2, true))
	trB, teB := trainSmall(t, engine.NewSequential("deconv", layers...), 16, 0.002, 50)
	t.Logf("deconv painter: train %.1f%%, test %.1f%%", 100*trB, 100*teB)
	if teB > 0.5 {
		t.Errorf("deconv painter: test accuracy %.1f%% on the unseen quadrant; the paper's finding is that it fails there", 100*teB)
	}
}

// smallOneHot is coordinate regression on a side×side canvas: the one-hot map → (x, y)/side.
type smallOneHot struct{ *smallCanvas }

func (s smallOneHot) ExampleSize() int { return s.side * s.side }
func (s smallOneHot) TargetSize() int  { return 2 }
func (s smallOneHot) Gather(idx []int, x, y []float32) error {
	n := s.side * s.side
	for k, i := range idx {
		c := s.centres[i]
		clear(x[k*n : (k+1)*n])
		x[k*n+c.Y*s.side+c.X] = 1
		y[2*k], y[2*k+1] = float32(c.X)/float32(s.side), float32(c.Y)/float32(s.side)
	}
	return nil
}

// The paper's 906-parameter CoordConv regressor reads coordinates off a one-hot map of a
// quadrant it never saw, on a 16×16 canvas (the model does not depend on the canvas size),
// to within a pixel or two; predicting the training mean would err by about 7 pixels there.
func TestSmallRegression(t *testing.T) {
	const side = 16
	tr, te := quadrantSplit(side)
	train, test := smallOneHot{tr}, smallOneHot{te}
	dev := cpu.New()
	m, err := engine.NewModel(dev, "regressor", CoordConvRegressor(), []int{1, side, side}, engine.MeanSquaredError, 16)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	m.L2 = 1e-5
	opt, err := engine.NewOptimizer(dev, m.Arena, engine.OptConfig{Kind: "adam", LR: 0.01, Beta2: 0.99})
	if err != nil {
		t.Fatal(err)
	}
	trainer, err := engine.NewTrainer(m, opt, train, nil, engine.TrainConfig{Epochs: 40, Batch: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := trainer.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	dist := func(ds smallOneHot) float64 {
		n := ds.Len()
		x, y, idx := make([]float32, n*side*side), make([]float32, 2*n), make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		if err := ds.Gather(idx, x, y); err != nil {
			t.Fatal(err)
		}
		out, err := m.Forward(x, n, engine.EvalMode)
		if err != nil {
			t.Fatal(err)
		}
		o := make([]float32, 2*n)
		dev.Download(o, out.Buf)
		var d float64
		for i := range n {
			d += side * math.Hypot(float64(o[2*i]-y[2*i]), float64(o[2*i+1]-y[2*i+1]))
		}
		return d / float64(n)
	}
	trD, teD := dist(train), dist(test)
	t.Logf("coordconv regressor: mean distance train %.2f px, test %.2f px", trD, teD)
	if trD > 1.5 || teD > 2.5 {
		t.Errorf("coordconv regressor: mean distance train %.2f px, test %.2f px; want ≤ 1.5 and ≤ 2.5", trD, teD)
	}
}

// A run cancelled after an epoch and resumed from its folder gives what an uninterrupted run
// gives, to the bit: curves, best epochs and predictions (the shuffling order derives from
// (seed, epoch) and the CPU kernels are deterministic). Resuming refuses another configuration,
// and a new run refuses the folder.
//
// The configuration is gaze's regressor recipe: the hot-pixel initialisation, and a
// learning-rate milestone after epoch 2, which the resumed process must apply to epoch 3.
func TestResume(t *testing.T) {
	cfg := Defaults(Regression, "coordconv")
	if cfg.Recipe != "gaze" || !slices.Contains(cfg.LRMilestones, 2) {
		t.Fatalf("the default regressor recipe is %q with milestones %v; the test wants gaze's, with a milestone at 2", cfg.Recipe, cfg.LRMilestones)
	}
	cfg.Split, cfg.Epochs, cfg.Subsample, cfg.Seeds = "quadrant", 3, 40, []uint64{4, 5}
	dev := cpu.New()
	whole, err := Run(context.Background(), dev, cfg, RunOptions{Dir: filepath.Join(t.TempDir(), "whole")})
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "cut")
	ctx, cancel := context.WithCancel(context.Background())
	cut := func(seed uint64, e EpochResult) {
		if seed == 5 && e.Epoch == 2 {
			cancel()
		}
	}
	part, err := Run(ctx, dev, cfg, RunOptions{Dir: dir, Progress: cut})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: error %v, want context.Canceled", err)
	}
	if len(part.Seeds) != 2 || !part.Seeds[1].Interrupted || part.Seeds[1].Epochs != 2 {
		t.Fatalf("cancelled run holds %+v, want seed 4 done and seed 5 interrupted after 2 epochs", part.Seeds)
	}
	if _, err := os.Stat(checkpointPath(dir, 5)); err != nil {
		t.Fatalf("no checkpoint for the interrupted seed: %v", err)
	}
	if _, err := os.Stat(checkpointPath(dir, 4)); err == nil {
		t.Error("the finished seed's checkpoint was not removed")
	}
	if saved, err := Load(dir); err != nil || len(saved.Seeds) != 2 || !saved.Seeds[1].Interrupted {
		t.Fatalf("saved result after the cut: %v, %+v", err, saved)
	}

	if _, err := Run(context.Background(), dev, cfg, RunOptions{Dir: dir}); err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Errorf("a new run into a used folder: %v", err)
	}
	other := cfg
	other.LR *= 2
	if _, err := Run(context.Background(), dev, other, RunOptions{Dir: dir, Resume: true}); err == nil || !strings.Contains(err.Error(), "holds another run") {
		t.Errorf("resuming with another learning rate: %v", err)
	}
	if _, err := Run(context.Background(), dev, cfg, RunOptions{Dir: filepath.Join(t.TempDir(), "none"), Resume: true}); err == nil || !strings.Contains(err.Error(), "no run to resume") {
		t.Errorf("resuming an empty folder: %v", err)
	}

	var epochs []int
	rest, err := Run(context.Background(), dev, cfg, RunOptions{Dir: dir, Resume: true, Progress: func(seed uint64, e EpochResult) {
		epochs = append(epochs, e.Epoch)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(epochs, []int{3}) {
		t.Errorf("the resumed run trained epochs %v, want [3] (seed 5's last)", epochs)
	}
	if _, err := os.Stat(checkpointPath(dir, 5)); err == nil {
		t.Error("the checkpoint outlived its finished seed")
	}
	for _, res := range []*Result{rest, mustLoad(t, dir)} {
		if len(res.Seeds) != 2 {
			t.Fatalf("resumed result has %d seeds", len(res.Seeds))
		}
		for i, w := range whole.Seeds {
			g := res.Seeds[i]
			if g.Interrupted || g.BestEpoch != w.BestEpoch || g.BestTest != w.BestTest || g.TrainAtBest != w.TrainAtBest || len(g.Curve) != len(w.Curve) ||
				g.InitDiag == nil || g.FinalDiag == nil || *g.InitDiag != *w.InitDiag || *g.FinalDiag != *w.FinalDiag {
				t.Fatalf("seed %d: resumed %+v, uninterrupted %+v", w.Seed, g, w)
			}
			for j, e := range w.Curve {
				ge := g.Curve[j]
				if ge.TrainLoss != e.TrainLoss || ge.TrainMetric != e.TrainMetric || ge.TestMetric != e.TestMetric {
					t.Errorf("seed %d epoch %d: resumed %+v, uninterrupted %+v", w.Seed, e.Epoch, ge, e)
				}
				if j > 0 && ge.Seconds < g.Curve[j-1].Seconds {
					t.Errorf("seed %d: wall time goes back at epoch %d", w.Seed, e.Epoch)
				}
			}
		}
	}
	// The predictions come back from the checkpoint (seed 5) and from predictions.json (seed 4).
	if len(rest.Seeds[0].Pred) == 0 || !reflect.DeepEqual(rest.Seeds[0].Pred, whole.Seeds[0].Pred) || !reflect.DeepEqual(rest.Seeds[1].Pred, whole.Seeds[1].Pred) {
		t.Error("the resumed run's predictions differ from the uninterrupted run's")
	}

	// Resuming the finished run changes nothing and says so.
	before, _ := os.ReadFile(filepath.Join(dir, "result.json"))
	again, err := Run(context.Background(), dev, cfg, RunOptions{Dir: dir, Resume: true})
	after, _ := os.ReadFile(filepath.Join(dir, "result.json"))
	if !errors.Is(err, rundir.ErrFinished) || again == nil || len(again.Seeds) != 2 || !bytes.Equal(before, after) {
		t.Errorf("resuming the finished run: %v", err)
	}

	// A folder from before config.json (and finished.json) existed: its result.json names the
	// configuration.
	if err := os.Remove(filepath.Join(dir, "config.json")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, rundir.FinishedFile))
	if _, err := Run(context.Background(), dev, other, RunOptions{Dir: dir, Resume: true}); err == nil || !strings.Contains(err.Error(), "lr: saved 0.01, flags 0.02") {
		t.Errorf("resuming a folder without config.json with another learning rate: %v", err)
	}
	epochs = nil
	if _, err := Run(context.Background(), dev, cfg, RunOptions{Dir: dir, Resume: true, Progress: func(uint64, EpochResult) { epochs = append(epochs, 0) }}); err != nil || len(epochs) != 0 {
		t.Errorf("resuming a finished folder without config.json: %v, trained %d epochs", err, len(epochs))
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		t.Errorf("the resumed folder has no config.json: %v", err)
	}
}

func mustLoad(t *testing.T, dir string) *Result {
	t.Helper()
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
