package train

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	_ "github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/internal/rundir"
)

func synthConfig(epochs int) Config {
	return Config{Model: "mlp:64-16-4", Data: data.Spec{Name: "synthetic", Dir: "data", Synthetic: "96x1x8x8", Classes: 4},
		Opt: engine.OptConfig{Kind: "sgd", LR: 0.05, Momentum: 0.9, Gamma: 0.1}, Batch: 32, Epochs: epochs,
		Device: "cpu", CkptEvery: 500, EvalBatch: 1000}
}

// config.json as the command line wrote it before this package existed (gaze train --data
// synthetic --synthetic 96x1x8x8 --classes 4 --model mlp:64-16-4 --batch 32 --epochs 2 --lr 0.05).
const oldConfig = `{
  "model": "mlp:64-16-4",
  "data": {
    "name": "synthetic",
    "dir": "data",
    "synthetic": "96x1x8x8",
    "classes": 4
  },
  "optimizer": {
    "kind": "sgd",
    "lr": 0.05,
    "momentum": 0.9,
    "gamma": 0.1
  },
  "l2": 0,
  "batch": 32,
  "epochs": 2,
  "seed": 0,
  "device": "cpu",
  "checkpoint_every": 500,
  "eval_batch": 1000,
  "input_shape": [
    1,
    8,
    8
  ],
  "parameters": 1108,
  "identity": "%s"
}
`

// The same run's result.json, seconds aside.
const oldResultKeys = `{
  "epochs": 2,
  "iterations": 6,
  "model": "mlp:64-16-4",
  "parameters": 1108,
  "seconds_this_process": `

// A run writes config.json and result.json as the earlier command line did, byte for byte, and
// resumes a folder holding that config.json.
func TestFilesKeepTheirLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	res, err := Run(context.Background(), synthConfig(2), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// The layout of the first runs, with the run's identity added at the end.
	want := fmt.Sprintf(oldConfig, identityOf(t, dir))
	if b, _ := os.ReadFile(filepath.Join(dir, "config.json")); string(b) != want {
		t.Errorf("config.json:\n%s\nwant:\n%s", b, want)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "result.json"))
	if !strings.HasPrefix(string(b), oldResultKeys) || !strings.Contains(string(b), "\n  \"test_acc\": ") || res.HeldOutAcc != nil || strings.Contains(string(b), "held_out") {
		t.Errorf("result.json:\n%s", b)
	}

	// A folder written by the earlier binary (its exact config.json, no identity; no
	// finished.json) resumes with more epochs.
	old := strings.Replace(oldConfig, ",\n  \"identity\": \"%s\"", "", 1)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, rundir.FinishedFile))
	more := synthConfig(3)
	more.Data.Dir = "/elsewhere"
	res, err = Run(context.Background(), more, Options{Dir: dir, Resume: true})
	if err != nil {
		t.Fatalf("resuming the earlier layout: %v", err)
	}
	if res.Iterations != 9 {
		t.Errorf("resumed to %d iterations, want 9", res.Iterations)
	}
}

// Resuming refuses what the saved run is not, and says in which fields.
func TestResumeRefusals(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), synthConfig(1), Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), synthConfig(1), Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "already holds a run (config.json)") {
		t.Errorf("a new run into a used folder: %v", err)
	}
	other := synthConfig(2)
	other.Opt.LR, other.Opt.Nesterov = 0.07, true
	_, err := Run(context.Background(), other, Options{Dir: dir, Resume: true})
	if !errors.Is(err, rundir.ErrMismatch) || !strings.Contains(err.Error(), "optimizer.lr: saved 0.05, flags 0.07") ||
		!strings.Contains(err.Error(), "optimizer.nesterov: saved (not set), flags true") {
		t.Errorf("another learning rate: %v", err)
	}
	// An LCA study's folder is not a plain training run.
	cfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	lca := bytes.Replace(cfg, []byte(`"parameters": 1108`), []byte(`"parameters": 1108, "lca": {"examples": 0, "integrator": {"lca_batch": 40}}`), 1)
	os.WriteFile(filepath.Join(dir, "config.json"), lca, 0o644)
	if _, err := Run(context.Background(), synthConfig(2), Options{Dir: dir, Resume: true}); !errors.Is(err, rundir.ErrMismatch) || !strings.Contains(err.Error(), "lca: saved") {
		t.Errorf("resuming an LCA folder as a training run: %v", err)
	}
	// A bad configuration is refused before the folder is touched.
	bad := synthConfig(0)
	fresh := filepath.Join(t.TempDir(), "fresh")
	if _, err := Run(context.Background(), bad, Options{Dir: fresh}); err == nil || !strings.Contains(err.Error(), "--epochs 0") {
		t.Errorf("zero epochs: %v", err)
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Error("a refused configuration created its folder")
	}
}

// Cancelling the context stops the run with an *InterruptedError after a checkpoint; resuming
// gives the metrics of an uninterrupted run, bit for bit.
func TestInterruptAndResume(t *testing.T) {
	straight := filepath.Join(t.TempDir(), "straight")
	if _, err := Run(context.Background(), synthConfig(3), Options{Dir: straight}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cut")
	s, err := Open(synthConfig(3), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.Trainer.Hook = func(st engine.StepInfo) error {
		if st.Iter == 4 {
			cancel()
		}
		return nil
	}
	_, err = s.Train(ctx)
	s.Close()
	var ie *InterruptedError
	if !errors.As(err, &ie) || !errors.Is(err, context.Canceled) || ie.Checkpoint != filepath.Join(dir, "checkpoint.ckpt") || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, err := Run(context.Background(), synthConfig(3), Options{Dir: dir, Resume: true}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"metrics.csv", "checkpoint.ckpt"} {
		a, _ := os.ReadFile(filepath.Join(straight, f))
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if f == "checkpoint.ckpt" { // its header records timings (the epochs' seconds)
			a, b = ckPayload(t, a), ckPayload(t, b)
		}
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s of the interrupted and resumed run differs from the uninterrupted run's", f)
		}
	}
}

// ckPayload is a checkpoint file without its header and checksum: θ, statistics, optimizer and
// extra state.
func ckPayload(t *testing.T, b []byte) []byte {
	t.Helper()
	if len(b) < 16 {
		t.Fatalf("a checkpoint of %d bytes", len(b))
	}
	hl := int(binary.LittleEndian.Uint32(b[12:16]))
	return b[16+hl : len(b)-4] // the checksum covers the header too
}

func identityOf(t *testing.T, dir string) string {
	t.Helper()
	f, ok, err := rundir.ReadFinished(dir)
	if !ok || err != nil || len(f.Identity) != 32 {
		t.Fatalf("finished.json of %s: %+v %v %v", dir, f, ok, err)
	}
	return f.Identity
}

// A held-out split is evaluated at the end and recorded.
func TestHeldOut(t *testing.T) {
	cfg := synthConfig(1)
	cfg.Data.HeldOut, cfg.Data.SplitSeed = 16, 3
	res, err := Run(context.Background(), cfg, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if res.HeldOutAcc == nil || res.HeldOutLoss == nil || *res.HeldOutLoss <= 0 || res.Iterations != 3 { // 80 examples: 3 steps
		t.Errorf("held-out result %+v", res)
	}
}
