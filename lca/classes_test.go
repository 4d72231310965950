package lca

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/data"
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
