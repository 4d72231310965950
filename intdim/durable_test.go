package intdim

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gazeml/gaze/internal/rundir"
)

// A sweep that cannot run (a d larger than the model's D, a NaN) leaves no folder behind.
func TestSweepRefusedLeavesNothing(t *testing.T) {
	for _, mut := range []func(*Spec){
		func(s *Spec) { s.Dims = []int{10, 1001} },
		func(s *Spec) { s.L2 = math.NaN() },
		func(s *Spec) { s.BaselineLR = math.Inf(1) },
		func(s *Spec) { s.Opt.Momentum = math.NaN() },
	} {
		s := toySpec(10)
		mut(&s)
		dir := filepath.Join(t.TempDir(), "sweep")
		if _, err := Sweep(context.Background(), dir, s, Options{}); err == nil {
			t.Errorf("%+v: no error", s)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused sweep left its folder: %v", err)
		}
	}
}

// One process per point: while a point's lock is held (a job still running), running the point
// again is refused with the holder named, and the point's files are left alone.
func TestPointLock(t *testing.T) {
	dir := t.TempDir()
	spec := toySpec(10)
	spec.Epochs = 5
	if err := InitSweep(dir, spec); err != nil {
		t.Fatal(err)
	}
	p, _ := spec.Point(2)
	held, err := rundir.AcquireLock(filepath.Join(dir, "points", p.Name()+".lock"), "test")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = RunPoint(context.Background(), dir, 2, Options{})
	if !errors.Is(err, rundir.ErrLocked) || !strings.Contains(err.Error(), "point 2 (d10-s0)") || !strings.Contains(err.Error(), "in use by process") {
		t.Errorf("a point held by another process: %v", err)
	}
	if _, ok, _ := ReadResult(dir, p); ok {
		t.Error("the refused run wrote the point's result")
	}
	held.Release()
	if r, _, err := RunPoint(context.Background(), dir, 2, Options{}); err != nil || r.Status != StatusOK {
		t.Errorf("the point once released: %+v %v", r, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "points", p.Name()+".lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the point's lock file outlived the run: %v", err)
	}
}
