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

// fusedCalls counts the fused batch-norm calls a model makes and the largest ReLU pass.
type fusedCalls struct {
	engine.Device
	fwd, bwd int
	relu     int // the most elements one Relu or ReluBackward call took
}

func (d *fusedCalls) BatchNormTrainReLU(x, res, y, gamma, beta, sm, si, rm, rv engine.Buffer, n, c, hw int, mom, eps float32) {
	d.fwd++
	d.Device.BatchNormTrainReLU(x, res, y, gamma, beta, sm, si, rm, rv, n, c, hw, mom, eps)
}

func (d *fusedCalls) BatchNormBackwardReLU(x, y, dy, dz, dx, gamma, sm, si, dg, db engine.Buffer, n, c, hw int, bs bool) {
	d.bwd++
	d.Device.BatchNormBackwardReLU(x, y, dy, dz, dx, gamma, sm, si, dg, db, n, c, hw, bs)
}

func (d *fusedCalls) Relu(x, y engine.Buffer) {
	d.relu = max(d.relu, x.Len())
	d.Device.Relu(x, y)
}

func (d *fusedCalls) ReluBackward(y, dy, dx engine.Buffer) {
	d.relu = max(d.relu, y.Len())
	d.Device.ReluBackward(y, dy, dx)
}

// The fused layers of Sequential.Build train to the same bytes as the separate ones (loss curve,
// test losses, final θ, on every kernel path): in ResNet, batch norm + ReLU and batch norm +
// shortcut add + ReLU (the running statistics and the eval-mode path included), and backward
// the blocks' first convolutions adding their input gradients onto the shortcuts' (identity
// and projection, Residual.acc) instead of an add pass; in the LeNets,
// ReLU + max pool, where the pool applies the ReLU to its output (lenet-lca's "same" 5×5 convs
// and dropout, lenet5's valid ones and its ReLUs between linear layers, which stay separate).
func TestFusedLayersKeepTheBits(t *testing.T) {
	for _, tc := range []struct {
		model    string
		in       []int
		fwd, bwd int // fused batch-norm calls over the 12 training steps
		relu     int // the largest ReLU pass, fused and separate, at the test set's batch of 20
		sepRelu  int
	}{
		// resnet8: the stem's bn1+relu1 and, in each of 3 blocks, bn1+relu1 and bn2+add+relu2.
		// (Its eval-mode batch norms apply their ReLUs separately, so the largest pass stays.)
		{model: "resnet8", in: []int{3, 8, 8}, fwd: 7 * 12, bwd: 7 * 12, relu: 20 * 16 * 8 * 8, sepRelu: 20 * 16 * 8 * 8},
		// lenet-lca: conv1's 20×12×12 output was the largest pass; fused, pool1's 20×6×6.
		{model: "lenet-lca", in: []int{1, 12, 12}, relu: 20 * 20 * 6 * 6, sepRelu: 20 * 20 * 12 * 12},
		// lenet5: conv1's 6×12×12 output; fused, fc1's 120 (pool1's 6×6×6 = 216 would be larger).
		{model: "lenet5", in: []int{1, 16, 16}, relu: 20 * 6 * 6 * 6, sepRelu: 20 * 6 * 12 * 12},
	} {
		t.Run(tc.model, func(t *testing.T) { fusedKeepTheBits(t, tc.model, tc.in, tc.fwd, tc.bwd, tc.relu, tc.sepRelu) })
	}
}

func fusedKeepTheBits(t *testing.T, model string, in []int, wantFwd, wantBwd, wantRelu, wantSepRelu int) {
	train, err := data.Synthetic(60, in[0], in[1], in[2], 4, 5)
	if err != nil {
		t.Fatal(err)
	}
	test, err := data.Synthetic(20, in[0], in[1], in[2], 4, 6)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		losses, testLosses []float64
		theta              []float32
		fwd, bwd, relu     int
	}
	runOnce := func(t *testing.T, fused bool) result {
		defer engine.SetFusion(engine.SetFusion(fused))
		dev := &fusedCalls{Device: cpu.New()}
		m, err := models.New(dev, model, in, 4, 16)
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
		r.theta, r.fwd, r.bwd, r.relu = m.Theta(), dev.fwd, dev.bwd, dev.relu
		return r
	}
	sgemmtest.ForPaths(t, func(t *testing.T) {
		sep, fus := runOnce(t, false), runOnce(t, true)
		if sep.fwd != 0 || sep.bwd != 0 || fus.fwd != wantFwd || fus.bwd != wantBwd {
			t.Fatalf("fused batch-norm calls (forward, backward) over 12 steps: separate %d, %d; fused %d, %d (want 0, 0; %d, %d)", sep.fwd, sep.bwd, fus.fwd, fus.bwd, wantFwd, wantBwd)
		}
		if sep.relu != wantSepRelu || fus.relu != wantRelu {
			t.Fatalf("largest ReLU pass: separate %d, fused %d elements (want %d, %d)", sep.relu, fus.relu, wantSepRelu, wantRelu)
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
