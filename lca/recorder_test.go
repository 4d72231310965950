package lca

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/engine/models"
	"github.com/gazeml/gaze/internal/npy"
)

// lcaRun trains lenet-lca-sized-down (dropout, so masks must resume too) with online LCA into dir.
func lcaRun(t *testing.T, dir string, resume bool, stopAt int) (*engine.Trainer, *Recorder, error) {
	t.Helper()
	train, err := data.Synthetic(48, 1, 8, 8, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	dev := cpu.New()
	build := func(dev engine.Device) (*engine.Model, error) {
		return models.New(dev, "lenet-lca", []int{1, 8, 8}, 4, 16)
	}
	m, err := build(dev)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	opt, _ := engine.NewOptimizer(dev, m.Arena, engine.OptConfig{Kind: "sgd", LR: 0.05, Momentum: 0.9})
	ck := filepath.Join(dir, "checkpoint.ckpt")
	tr, err := engine.NewTrainer(m, opt, train, nil, engine.TrainConfig{Epochs: 2, Batch: 16, Seed: 2, Checkpoint: ck, CheckpointEvery: 2})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Chunk = 20
	it := newTestIntegrator(t, m, build, []Set{{Data: train}}, cfg)
	rec := NewRecorder(dir, m, it, Outputs{LCA: true, Weights: true})
	tr.Hook, tr.Extra = rec.Hook, rec
	if resume {
		if err := tr.LoadCheckpoint(ck); err != nil {
			t.Fatal(err)
		}
	} else if err := rec.Start(0, m.Arena.Theta); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if stopAt > 0 {
		tr.OnStep = func(s engine.StepInfo) {
			if s.Iter+1 == stopAt {
				cancel()
			}
		}
	}
	err = tr.Run(ctx)
	// A killed process does not close its files: only what Sync made durable counts. Close
	// only on success, like the command line does on a normal exit.
	if err == nil {
		err = rec.Close()
	}
	return tr, rec, err
}

// A run killed after a checkpoint and resumed writes exactly the files of an uninterrupted run:
// no iteration lost, none repeated.
func TestResumedLCARunMatchesUninterrupted(t *testing.T) {
	full := t.TempDir()
	if _, _, err := lcaRun(t, full, false, 0); err != nil {
		t.Fatal(err)
	}
	for _, stop := range []int{3, 5} { // one past a checkpoint (2, 4): its rows must be cut back
		dir := t.TempDir()
		_, rec, err := lcaRun(t, dir, false, stop)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted run: %v", err)
		}
		// Simulate the kill: rows after the cancellation checkpoint are on disk unsynced; the
		// resumed run must cut back to the checkpoint's iteration whatever is there.
		rec.splits[0].losses.Row("999", "junk")
		rec.splits[0].losses.Flush()
		if _, _, err := lcaRun(t, dir, true, 0); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{LossesFile, LayersFile, HelpedLayers, NeuronsFile, TotalFile, HelpedFile, FullFile, WeightsFile} {
			a, _ := os.ReadFile(filepath.Join(full, f))
			b, _ := os.ReadFile(filepath.Join(dir, f))
			// The checkpoint keeps the integrator's cached g(θ_t): the resumed run evaluates the
			// same gradients, and even the evaluation counts of losses.csv agree.
			if len(a) == 0 || !bytes.Equal(a, b) {
				t.Errorf("stopped at %d: %s differs from the uninterrupted run (%d vs %d bytes)", stop, f, len(b), len(a))
			}
		}
	}
	m, err := npy.Read(filepath.Join(full, WeightsFile), 0, -1)
	if err != nil || m.Rows() != 7 {
		t.Fatalf("weights.npy: %v rows (want T+1 = 7), %v", m, err)
	}
}

func TestNeuronMap(t *testing.T) {
	dev := cpu.New()
	net := engine.NewSequential("n", engine.NewConv2d("c", 3, 3, 1, engine.Pad(1), true), engine.NewBatchNorm2d("bn", 0.1, 1e-5),
		engine.NewConvTranspose2d("up", 2, 3, 2, true), engine.NewFlatten("f"), engine.NewLinear("fc", 4, false))
	m, err := engine.NewModel(dev, "n", net, []int{1, 4, 4}, engine.SoftmaxCrossEntropy, 2)
	if err != nil {
		t.Fatal(err)
	}
	nm := NeuronMap(m.Arena)
	// c: 3 units (weight 3×1×3×3 + bias 3), bn: 3, up: 2 (weight [3, 2, 3, 3] + bias 2), fc: 4.
	if nm.Count != 12 || len(nm.Layers) != 4 {
		t.Fatalf("neurons %d in %v", nm.Count, nm.Layers)
	}
	w, _ := m.Arena.Find("c.weight")
	if p := m.Arena.Params[w]; nm.Of[p.Offset+9] != 1 || nm.Of[p.Offset+8] != 0 {
		t.Error("conv weight rows map to the wrong neurons")
	}
	up, _ := m.Arena.Find("up.weight")
	p := m.Arena.Params[up]
	// Element [i=1, o=1, 0, 0] of a [3, 2, 3, 3] weight belongs to output unit 1 of "up" (index 7).
	if got := nm.Of[p.Offset+1*18+1*9]; got != 7 {
		t.Errorf("transposed-conv weight maps to neuron %d, want 7", got)
	}
	b, _ := m.Arena.Find("bn.bias")
	if got := nm.Of[m.Arena.Params[b].Offset+2]; got != 5 {
		t.Errorf("bn.bias[2] maps to neuron %d, want 5", got)
	}
}
