package lca

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/internal/rundir"
	"github.com/gazeml/gaze/train"
)

// bnRun is a small ResNet-8 (batch norm in every block) on synthetic 8×8 images of four classes.
func bnRun(perClass, batchStats bool) TrainConfig {
	cfg := TrainConfig{Config: train.Config{Model: "resnet8", Data: data.Spec{Name: "synthetic", Dir: "data", Synthetic: "96x1x8x8", Classes: 4},
		Opt: engine.OptConfig{Kind: "sgd", LR: 0.05, Momentum: 0.9, Gamma: 0.1}, Batch: 32, Epochs: 1, Device: "cpu", CkptEvery: 500, EvalBatch: 1000},
		LCA: Spec{Config: DefaultConfig()}}
	cfg.LCA.Config.Chunk = 40
	cfg.LCA.Config.PerClass, cfg.LCA.Config.BatchStats = perClass, batchStats
	return cfg
}

// Per-class LCA with batch norm in batch-statistics mode is refused before the run folder
// exists, naming --bn-running-stats: its class-pure chunks would each be normalised with one
// class's statistics. With running statistics the split by class is exact: the total loss of
// the per-class run (class-pure chunks) is the loss of the same run without --per-class (chunks
// that mix classes) up to the order of the float64 sums, and the classes add up to the total.
func TestPerClassBatchNormNeedsRunningStats(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	opts := TrainOptions{Options: train.Options{Dir: dir, Quiet: true}, NoReport: true}
	_, err := Train(context.Background(), bnRun(true, true), opts)
	if err == nil || !strings.Contains(err.Error(), "--bn-running-stats") {
		t.Fatalf("per-class LCA with batch-statistics batch norm: err = %v, want a refusal naming --bn-running-stats", err)
	}
	if _, serr := os.Stat(dir); !errors.Is(serr, fs.ErrNotExist) {
		t.Fatalf("the refusal left %s behind (%v)", dir, serr)
	}
	if _, err := Train(context.Background(), bnRun(true, false), opts); err != nil {
		t.Fatal(err)
	}
	checkPerClassIdentity(t, dir, 1e-9)
	plain := filepath.Join(t.TempDir(), "plain")
	if _, err := Train(context.Background(), bnRun(false, false), TrainOptions{Options: train.Options{Dir: plain, Quiet: true}, NoReport: true}); err != nil {
		t.Fatal(err)
	}
	a, err := readCSV(filepath.Join(dir, LossesFile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := readCSV(filepath.Join(plain, LossesFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("%d and %d rows", len(a), len(b))
	}
	for k := range a {
		for _, col := range []int{3, 4, 6} { // L(θ_t), L(θ_{t+1}), ΣLCA
			x, _ := strconv.ParseFloat(a[k][col], 64)
			y, _ := strconv.ParseFloat(b[k][col], 64)
			if math.Abs(x-y) > 1e-5*math.Max(1e-3, math.Abs(y)) {
				t.Errorf("iteration %d, %s: per-class run %v, without --per-class %v", k, lossesHeader[col], x, y)
			}
		}
	}
}

// cancelOn is a log that cancels a run when a line it receives contains s.
type cancelOn struct {
	s      string
	cancel context.CancelFunc
}

func (c cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.s) {
		c.cancel()
	}
	return len(p), nil
}

// The report of a run that has not finished covers its committed iterations, is labelled
// partial, goes to report-partial/, leaves every file of the run as it was and takes no lock (a
// writer holds the run's lock throughout); the run then resumes to the files of an
// uninterrupted run. Its numbers are the uninterrupted run's over the same iterations.
func TestPartialReportOfAnInterruptedRun(t *testing.T) {
	cfg := TrainConfig{Config: train.Config{Model: "mlp:64-16-4", Data: data.Spec{Name: "synthetic", Dir: "data", Synthetic: "96x1x8x8", Classes: 4, HeldOut: 32},
		Opt: engine.OptConfig{Kind: "sgd", LR: 0.05, Momentum: 0.9, Gamma: 0.1}, Batch: 16, Epochs: 3, Device: "cpu", CkptEvery: 500, EvalBatch: 1000},
		LCA: Spec{Config: DefaultConfig(), HeldOut: true}}
	cfg.LCA.Config.Chunk, cfg.LCA.Config.PerClass = 20, true
	full := filepath.Join(t.TempDir(), "full")
	if _, err := Train(context.Background(), cfg, TrainOptions{Options: train.Options{Dir: full, Quiet: true}, NoReport: true}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Train(ctx, cfg, TrainOptions{Options: train.Options{Dir: dir, Quiet: true, Log: cancelOn{"epoch 1/3:", cancel}}, NoReport: true})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	// What a kill leaves after the checkpoint: a row written since and one cut short.
	f, err := os.OpenFile(filepath.Join(dir, LossesFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("999,9,1,1,1,0,0,0,2,0,0,0.5,2\n1000,9,1")
	f.Close()
	before := snapshot(t, dir)
	lock, err := rundir.AcquireLock(filepath.Join(dir, rundir.LockFile), dir) // the writer's
	if err != nil {
		t.Fatal(err)
	}
	s, err := Report(dir)
	lock.Release()
	if err != nil {
		t.Fatal(err)
	}
	steps := 4 // 64 training examples in batches of 16
	if !s.Partial || s.Iterations != steps || s.PlannedIterations != 3*steps || s.HeldOut == nil || !s.HeldOut.Partial {
		t.Fatalf("summary: partial %v, %d of %d iterations, held out %v", s.Partial, s.Iterations, s.PlannedIterations, s.HeldOut)
	}
	html, err := os.ReadFile(filepath.Join(dir, PartialReportDir, "report.html"))
	if err != nil || !strings.Contains(string(html), "Partial report") {
		t.Fatalf("report-partial/report.html: %v, labelled partial: %v", err, strings.Contains(string(html), "Partial report"))
	}
	if _, err := os.Stat(filepath.Join(dir, ReportDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the partial report wrote the run's own report folder (%v)", err)
	}
	if after := snapshot(t, dir); !maps.Equal(before, after) {
		t.Errorf("the report changed the run's files")
	}
	// The uninterrupted run's numbers over the same iterations.
	r, err := ReadRun(full)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for k := range steps {
		sum += r.Sum[k]
	}
	if want := r.After[steps-1] - r.Before[0]; s.DeltaLoss != want || s.SumLCA != sum {
		t.Errorf("partial ΔL %v, ΣLCA %v; the uninterrupted run's first %d iterations: %v, %v", s.DeltaLoss, s.SumLCA, steps, want, sum)
	}
	if len(s.Classes) != 4 || s.Classes[0].SumLCA != sumFirst(r.Classes.Sum[0], steps) {
		t.Errorf("partial per-class numbers %v", s.Classes)
	}
	cfgR := TrainOptions{Options: train.Options{Dir: dir, Quiet: true, Resume: true}, NoReport: true}
	if _, err := Train(context.Background(), cfg, cfgR); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{LossesFile, LayersFile, ClassLossesFile, filepath.Join(HeldOutDir, LayersFile)} {
		a, _ := os.ReadFile(filepath.Join(full, name))
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s of the resumed run differs from the uninterrupted run's", name)
		}
	}
}

func sumFirst(v []float64, k int) float64 {
	var s float64
	for _, x := range v[:k] {
		s += x
	}
	return s
}

// snapshot is every file of a run folder but the partial report, with its bytes.
func snapshot(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == PartialReportDir {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[path] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
