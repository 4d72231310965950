package intdim

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gazeml/gaze/engine"
)

// cancelAfter cancels a context on its n-th Gather: the trainer gathers once per step, so
// this interrupts a point in the middle of an epoch, as Ctrl-C or a pod eviction would.
type cancelAfter struct {
	engine.Examples
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Gather(idx []int, x, y []float32) error {
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return c.Examples.Gather(idx, x, y)
}

// An interrupted subspace point resumes from its checkpoint (θ_d and Adam's state) and ends
// exactly where an uninterrupted run ends.
func TestPointResumesExactly(t *testing.T) {
	spec := Spec{Model: "mlp:64-16-3", Data: "synthetic", Synthetic: "300x1x8x8", Classes: 3, Proj: Dense, Dims: []int{20},
		Seeds: 1, Batch: 32, Epochs: 3, Opt: engine.OptConfig{Kind: "adam", LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, Global: 1}
	ld, err := loadData(spec, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	run := func(dir string, cut int) (Result, error) {
		if err := InitSweep(dir, spec); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		l := *ld
		if cut > 0 {
			l.train = &cancelAfter{Examples: ld.train, n: cut, cancel: cancel}
		}
		r, _, err := runPoint(ctx, dir, spec, 1, Options{}, &l)
		return r, err
	}
	want, err := run(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := run(dir, 15); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted point: %v", err)
	}
	ck := filepath.Join(dir, "points", "d20-s0.ckpt")
	if _, err := os.Stat(ck); err != nil {
		t.Fatalf("no checkpoint after the interruption: %v", err)
	}
	if _, ok, _ := ReadResult(dir, Point{Dim: 20}); ok {
		t.Fatal("an interrupted point left a result")
	}
	got, err := run(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.TestAcc != want.TestAcc || got.TestLoss != want.TestLoss || got.Iters != want.Iters || len(got.History) != len(want.History) {
		t.Fatalf("resumed: accuracy %v, loss %v, %d iterations; uninterrupted: %v, %v, %d", got.TestAcc, got.TestLoss, got.Iters, want.TestAcc, want.TestLoss, want.Iters)
	}
	for i := range got.History {
		g, w := got.History[i], want.History[i]
		g.Seconds, w.Seconds = 0, 0
		if !reflect.DeepEqual(g, w) {
			t.Errorf("epoch %d: resumed %+v, uninterrupted %+v", i+1, g, w)
		}
	}
	for _, f := range []string{ck, filepath.Join(dir, "points", "d20-s0.epochs.json")} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s of a finished point is left behind", f)
		}
	}
}

// A point killed in the middle of an epoch (no checkpoint of that moment: the process is gone)
// resumes from the checkpoint of the last finished epoch and still ends exactly where an
// uninterrupted run ends: killing a sweep loses at most the point's epoch in progress.
func TestPointResumesAfterKill(t *testing.T) {
	spec := Spec{Model: "mlp:64-16-3", Data: "synthetic", Synthetic: "300x1x8x8", Classes: 3, Proj: Sparse, Dims: []int{20},
		Seeds: 1, Batch: 32, Epochs: 3, Opt: engine.OptConfig{Kind: "adam", LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, Global: 1}
	ld, err := loadData(spec, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	run := func(dir string, cut int) (Result, error) {
		if err := InitSweep(dir, spec); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		l := *ld
		if cut > 0 {
			l.train = &cancelAfter{Examples: ld.train, n: cut, cancel: cancel}
		}
		r, _, err := runPoint(ctx, dir, spec, 1, Options{}, &l)
		return r, err
	}
	want, err := run(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ck := filepath.Join(dir, "points", "d20-s0.ckpt")
	hist := filepath.Join(dir, "points", "d20-s0.epochs.json")
	// 10 steps per epoch: stopped before step 11, the files are those the end of epoch 1 left.
	if _, err := run(dir, 11); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted point: %v", err)
	}
	saved := map[string][]byte{}
	for _, f := range []string{ck, hist} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		saved[f] = b
	}
	// The point runs on into epoch 2 and is "killed" at step 15: its later checkpoint never
	// reaches the disk, so the folder holds what epoch 1 left.
	if _, err := run(dir, 5); !errors.Is(err, context.Canceled) {
		t.Fatalf("second interruption: %v", err)
	}
	for f, b := range saved {
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := run(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.TestAcc != want.TestAcc || got.TestLoss != want.TestLoss || got.Iters != want.Iters || len(got.History) != len(want.History) {
		t.Fatalf("after a kill: accuracy %v, loss %v, %d iterations, %d epochs; uninterrupted: %v, %v, %d, %d",
			got.TestAcc, got.TestLoss, got.Iters, len(got.History), want.TestAcc, want.TestLoss, want.Iters, len(want.History))
	}
}
