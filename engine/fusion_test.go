package engine_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/engine/models"
	"github.com/gazeml/gaze/internal/sgemm/sgemmtest"
)

// fusedCalls counts the fused batch-norm calls a model makes.
type fusedCalls struct {
	engine.Device
	fwd, bwd int
}

func (d *fusedCalls) BatchNormTrainReLU(x, res, y, gamma, beta, sm, si, rm, rv engine.Buffer, n, c, hw int, mom, eps float32) {
	d.fwd++
	d.Device.BatchNormTrainReLU(x, res, y, gamma, beta, sm, si, rm, rv, n, c, hw, mom, eps)
}

func (d *fusedCalls) BatchNormBackwardReLU(x, y, dy, dz, dx, gamma, sm, si, dg, db engine.Buffer, n, c, hw int, bs bool) {
	d.bwd++
	d.Device.BatchNormBackwardReLU(x, y, dy, dz, dx, gamma, sm, si, dg, db, n, c, hw, bs)
}

// The fused batch norm + ReLU and batch norm + shortcut add + ReLU (Sequential.Build) train
// ResNet to the same bytes as the separate layers: loss curve, test losses (running statistics
// and the eval-mode path), final θ, on every kernel path.
func TestFusedLayersKeepTheBits(t *testing.T) {
	train, err := data.Synthetic(60, 3, 8, 8, 4, 5)
	if err != nil {
		t.Fatal(err)
	}
	test, err := data.Synthetic(20, 3, 8, 8, 4, 6)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		losses, testLosses []float64
		theta              []float32
		fwd, bwd           int
	}
	runOnce := func(t *testing.T, fused bool) result {
		defer engine.SetFusion(engine.SetFusion(fused))
		dev := &fusedCalls{Device: cpu.New()}
		m, err := models.New(dev, "resnet8", []int{3, 8, 8}, 4, 16)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		m.Init(3)
		opt, err := engine.NewOptimizer(dev, m.Arena, engine.OptConfig{Kind: "sgd", LR: 0.05, Momentum: 0.9})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := engine.NewTrainer(m, opt, train, test, engine.TrainConfig{Epochs: 3, Batch: 16, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		var r result
		tr.OnStep = func(s engine.StepInfo) { r.losses = append(r.losses, s.Loss) }
		tr.OnEpoch = func(e engine.EpochInfo) error { r.testLosses = append(r.testLosses, e.TestLoss); return nil }
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		r.theta, r.fwd, r.bwd = m.Theta(), dev.fwd, dev.bwd
		return r
	}
	sgemmtest.ForPaths(t, func(t *testing.T) {
		sep, fus := runOnce(t, false), runOnce(t, true)
		// resnet8: the stem's bn1+relu1 and, in each of 3 blocks, bn1+relu1 and bn2+add+relu2.
		if sep.fwd != 0 || sep.bwd != 0 || fus.fwd != 7*12 || fus.bwd != 7*12 {
			t.Fatalf("fused calls (forward, backward) over 12 steps: separate %d, %d; fused %d, %d (want 0, 0; 84, 84)", sep.fwd, sep.bwd, fus.fwd, fus.bwd)
		}
		if !slices.Equal(sep.losses, fus.losses) {
			t.Errorf("loss curves differ:\nseparate %v\nfused    %v", sep.losses, fus.losses)
		}
		if !slices.Equal(sep.testLosses, fus.testLosses) || len(sep.testLosses) != 3 {
			t.Errorf("test losses differ:\nseparate %v\nfused    %v", sep.testLosses, fus.testLosses)
		}
		if !slices.Equal(sep.theta, fus.theta) {
			t.Error("final θ differs")
		}
	})
}
