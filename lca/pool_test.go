package lca

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/engine/models"
	"github.com/gazeml/gaze/internal/npy"
)

func TestPlanChunks(t *testing.T) {
	sizes := func(cs []chunk) (out []string) {
		for _, c := range cs {
			out = append(out, fmt.Sprintf("%d:%d", c.class, len(c.idx)))
		}
		return out
	}
	if got := sizes(planChunks(0, 72, 15, nil, 0)); !slices.Equal(got, []string{"-1:15", "-1:15", "-1:15", "-1:15", "-1:12"}) {
		t.Errorf("index-order plan: %v", got)
	}
	labels := []int32{2, 0, 2, 1, 2, 0, 2, 2}
	cs := planChunks(1, len(labels), 2, labels, 4)
	if got := sizes(cs); !slices.Equal(got, []string{"0:2", "1:1", "2:2", "2:2", "2:1"}) {
		t.Errorf("per-class plan: %v", got)
	}
	// Stable: each class's examples in their order; every example exactly once.
	var all []int
	for _, c := range cs {
		for _, i := range c.idx {
			if labels[i] != int32(c.class) || c.set != 1 {
				t.Errorf("example %d of class %d in a chunk of class %d (set %d)", i, labels[i], c.class, c.set)
			}
		}
		all = append(all, c.idx...)
	}
	if !slices.Equal(all, []int{1, 5, 3, 0, 2, 4, 6, 7}) {
		t.Errorf("per-class order %v", all)
	}
}

// testDevice is a CPU device that sleeps on every Sync (its chunks come late, out of order) and
// fails the Sync at which the countdown fail reaches zero.
type testDevice struct {
	engine.Device
	delay time.Duration
	fail  *atomic.Int64
}

func (d testDevice) Sync() error {
	time.Sleep(d.delay)
	if d.fail != nil && d.fail.Add(-1) == 0 {
		return errors.New("injected device failure")
	}
	return d.Device.Sync()
}

// shardOpts is one sharded LCA run of shardedRun.
type shardOpts struct {
	threads  []int // one CPU device per entry (its threads; 0: all)
	slow     int   // this device sleeps on every Sync (-1: none)
	failAt   int   // device 1 fails during this iteration's LCA (-1: never)
	perClass bool  // per-class LCA, and held-out LCA
	resume   bool
}

// shardedRun trains a 64-32-16-4 MLP on 72 synthetic 8×8 examples (6 iterations, a checkpoint every 2)
// with online LCA over the training set (chunks of 15: four of 15 and one of 12) or, with
// perClass, per-class LCA over it and the 24-example held-out split, on the pool's devices.
func shardedRun(t *testing.T, dir string, o shardOpts) error {
	t.Helper()
	all, err := data.Synthetic(96, 1, 8, 8, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	tr, held, err := data.Split(all, 24, 1)
	if err != nil {
		t.Fatal(err)
	}
	build := func(dev engine.Device) (*engine.Model, error) {
		return models.New(dev, "mlp:64-32-16-4", []int{1, 8, 8}, 4, 16)
	}
	m, err := build(cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	opt, _ := engine.NewOptimizer(m.Dev, m.Arena, engine.OptConfig{Kind: "sgd", LR: 0.01, Momentum: 0.9})
	ck := filepath.Join(dir, "checkpoint.ckpt")
	trn, err := engine.NewTrainer(m, opt, tr, nil, engine.TrainConfig{Epochs: 2, Batch: 24, Seed: 2, Checkpoint: ck, CheckpointEvery: 2})
	if err != nil {
		t.Fatal(err)
	}
	var fail atomic.Int64
	fail.Store(math.MinInt64 / 2)
	var devs []engine.Device
	var names []string
	for i, th := range o.threads {
		var d engine.Device = cpu.NewThreads(th)
		if i == o.slow {
			d = testDevice{Device: d, delay: time.Millisecond}
		} else if i == 1 && o.failAt >= 0 {
			d = testDevice{Device: d, fail: &fail}
		}
		devs = append(devs, d)
		names = append(names, fmt.Sprintf("cpu#%d", i))
	}
	pool, err := NewPool(devs, names, build)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	cfg := DefaultConfig()
	cfg.Chunk, cfg.PerClass = 15, o.perClass
	sets := []Set{{Name: "train", Data: tr, Labels: tr.Labels(), Classes: 4}}
	if o.perClass {
		sets = append(sets, Set{Name: "held_out", Data: held, Labels: held.Labels(), Classes: 4})
	}
	it, err := NewIntegrator(m, sets, cfg, pool)
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder(dir, m, it, Outputs{LCA: true, Weights: true})
	trn.Hook, trn.Extra = rec.Hook, rec
	trn.OnStep = func(s engine.StepInfo) {
		if s.Iter == o.failAt {
			// Past setting θ and the first chunk's gradient: the download's Sync fails.
			fail.Store(3)
		}
	}
	if o.resume {
		if err := trn.LoadCheckpoint(ck); err != nil {
			t.Fatal(err)
		}
	} else if err := rec.Start(0, m.Arena.Theta); err != nil {
		t.Fatal(err)
	}
	err = trn.Run(context.Background())
	if err == nil {
		err = rec.Close()
	}
	return err
}

// runFiles lists the files of a run folder that LCA writes, relative to it.
func runFiles(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".npy") || strings.HasSuffix(p, ".csv")) {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// sameFiles compares every LCA file of two run folders byte for byte (a resumed run's too: its
// checkpoint kept the integrator's g(θ_t), so even losses.csv's evaluation counts agree).
func sameFiles(t *testing.T, what, want, got string, resumed bool) {
	t.Helper()
	files := runFiles(t, want)
	if len(files) < 5 {
		t.Fatalf("%s holds only %v", want, files)
	}
	for _, f := range files {
		a, _ := os.ReadFile(filepath.Join(want, f))
		b, err := os.ReadFile(filepath.Join(got, f))
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: %s differs from the one-device run (%d vs %d bytes)", what, f, len(b), len(a))
		}
	}
}

// Sharded full-set gradients give the same bytes as one device: two devices, three devices over
// five chunks (the last one short) with one of them slow, so that chunks arrive out of order and
// the shards are uneven; and per-class and held-out LCA on two devices.
func TestShardedLCAIsBitIdentical(t *testing.T) {
	for _, pc := range []bool{false, true} {
		one := t.TempDir()
		if err := shardedRun(t, one, shardOpts{threads: []int{0}, slow: -1, failAt: -1, perClass: pc}); err != nil {
			t.Fatal(err)
		}
		for _, o := range []shardOpts{
			{threads: []int{1, 1}, slow: -1, failAt: -1},
			{threads: []int{1, 1, 1}, slow: 0, failAt: -1},
			{threads: []int{2, 1, 1}, slow: 2, failAt: -1},
		} {
			o.perClass = pc
			dir := t.TempDir()
			if err := shardedRun(t, dir, o); err != nil {
				t.Fatal(err)
			}
			sameFiles(t, fmt.Sprintf("per-class %v, devices %v (slow %d)", pc, o.threads, o.slow), one, dir, false)
		}
		if pc {
			for _, f := range []string{ClassLayersFile, ClassHelpedFile, ClassLossesFile, filepath.Join(HeldOutDir, ClassLayersFile), filepath.Join(HeldOutDir, TotalFile)} {
				if _, err := os.Stat(filepath.Join(one, f)); err != nil {
					t.Errorf("per-class and held-out run: %v", err)
				}
			}
		}
	}
}

// A device that fails mid-run stops it with its name and the chunk; nothing of the failing
// iteration is written; the run resumed from its checkpoint, on another number of devices,
// ends with the bytes of an uninterrupted one-device run.
func TestFailingDeviceStopsCleanlyAndResumes(t *testing.T) {
	one := t.TempDir()
	if err := shardedRun(t, one, shardOpts{threads: []int{0}, slow: -1, failAt: -1, perClass: true}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	err := shardedRun(t, dir, shardOpts{threads: []int{1, 1}, slow: 0, failAt: 3, perClass: true})
	if err == nil || !strings.Contains(err.Error(), "device cpu#1 failed on chunk") || !strings.Contains(err.Error(), "iteration 3") ||
		!strings.Contains(err.Error(), "injected device failure") {
		t.Fatalf("error %v, want one naming device cpu#1, its chunk and iteration 3", err)
	}
	t.Log(err)
	for _, sub := range []string{"", HeldOutDir} {
		rows, err := readCSV(filepath.Join(dir, sub, LossesFile))
		if err != nil {
			t.Fatal(err)
		}
		if last := rows[len(rows)-1][0]; last != "2" {
			t.Errorf("%s: the last row is iteration %s, want 2 (nothing of the failing iteration 3)", filepath.Join(sub, LossesFile), last)
		}
	}
	if err := shardedRun(t, dir, shardOpts{threads: []int{1, 1, 1}, slow: 1, failAt: -1, perClass: true, resume: true}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "failed on 2 devices, resumed on 3", one, dir, true)
}

// Per-class LCA adds up: Σ_c (n_c/n)·L_c is the set's loss, and Σ_c (n_c/n)·ΣLCA_c its ΣLCA within
// 1e-9 relative on every iteration; per layer too.
func TestPerClassAddsUpToTheTotal(t *testing.T) {
	dir := t.TempDir()
	if err := shardedRun(t, dir, shardOpts{threads: []int{1, 1}, slow: -1, failAt: -1, perClass: true}); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"", HeldOutDir} {
		checkPerClassIdentity(t, filepath.Join(dir, sub), 1e-9)
	}
}

// checkPerClassIdentity checks a run folder's per-class files against its totals.
func checkPerClassIdentity(t *testing.T, dir string, tol float64) {
	t.Helper()
	rows, err := readCSV(filepath.Join(dir, LossesFile))
	if err != nil {
		t.Fatal(err)
	}
	crows, err := readCSV(filepath.Join(dir, ClassLossesFile))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := readMatrix(filepath.Join(dir, ClassLayersFile))
	if err != nil {
		t.Fatal(err)
	}
	tl, err := readMatrix(filepath.Join(dir, LayersFile))
	if err != nil {
		t.Fatal(err)
	}
	T := len(rows)
	C := len(crows) / T
	L := tl.Cols()
	if C < 2 || len(crows) != T*C || cl.Rows() != T || cl.Cols() != C*L {
		t.Fatalf("%s: %d iterations, %d class rows, class layers %v", dir, T, len(crows), cl.Shape)
	}
	f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	for k, r := range rows {
		n := 0
		for c := range C {
			n += atoi(crows[k*C+c][2])
		}
		var loss0, sum, total float64
		layers := make([]float64, L)
		for c := range C {
			cr := crows[k*C+c]
			w := float64(atoi(cr[2])) / float64(n)
			loss0 += w * f(cr[3])
			for l := range L {
				layers[l] += w * cl.Row(k)[c*L+l]
				sum += w * cl.Row(k)[c*L+l]
			}
		}
		for _, v := range tl.Row(k) {
			total += v
		}
		if d := math.Abs(sum - total); d > tol*math.Abs(total) {
			t.Errorf("%s iteration %d: Σ_c (n_c/n)·ΣLCA_c = %.17g, ΣLCA = %.17g (relative %.3g)", dir, k, sum, total, d/math.Abs(total))
		}
		if d := math.Abs(total - f(r[6])); d > 1e-11*math.Abs(total) {
			t.Errorf("%s iteration %d: ΣLCA %v in %s, %v in %s", dir, k, f(r[6]), LossesFile, total, LayersFile)
		}
		// The CSV holds 12 significant digits.
		if d := math.Abs(loss0 - f(r[3])); d > 1e-10*math.Abs(f(r[3])) {
			t.Errorf("%s iteration %d: Σ_c (n_c/n)·L_c = %v, L = %v", dir, k, loss0, f(r[3]))
		}
		for l := range L {
			if d := math.Abs(layers[l] - tl.Row(k)[l]); d > tol*math.Abs(tl.Row(k)[l])+1e-300 {
				t.Errorf("%s iteration %d layer %d: per-class sum %.17g, total %.17g", dir, k, l, layers[l], tl.Row(k)[l])
			}
		}
	}
}

func readMatrix(path string) (*npy.Matrix, error) { return npy.Read(path, 0, -1) }
