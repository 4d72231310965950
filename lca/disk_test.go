package lca

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/train"
)

// The disk plan against the bytes a small run writes, item by item: the T × D files to their
// NPY header (the plan's bound of 128 bytes), the per-row files within 25 % (losses.csv's rows
// are estimated at 160 bytes), the checkpoints at twice the one on disk (the old one and its
// replacement; the last checkpoint, as the last window is whole, holds the cached start
// gradients as every checkpoint does), and the whole folder at its fullest within
// [peak, 1.5 × peak + 100 KiB] without the report (whose allowance bounds it from above). The
// run has windows of 3 over 9 iterations, θ every 2 (the last row at 9), lca.npy, per-class and
// held-out files.
func TestDiskPlanAgainstWrittenBytes(t *testing.T) {
	cfg := TrainConfig{Config: train.Config{Model: "mlp:64-16-4", Data: data.Spec{Name: "synthetic", Dir: "data", Synthetic: "128x1x8x8", Classes: 4, HeldOut: 32},
		Opt: engine.OptConfig{Kind: "sgd", LR: 0.05, Momentum: 0.9, Gamma: 0.1}, Batch: 32, Epochs: 3, Device: "cpu", CkptEvery: 2, EvalBatch: 1000},
		LCA: Spec{Config: DefaultConfig(), SaveLCA: true, SaveW: true, SaveWEvery: 2, Every: 3, HeldOut: true}}
	cfg.LCA.Config.Chunk = 40
	cfg.LCA.Config.PerClass = true
	dir := filepath.Join(t.TempDir(), "run")
	var plan DiskPlan
	_, err := train.Open(cfg.Config, train.Options{Dir: dir, Saved: func(c train.Config) any { return TrainConfig{c, cfg.LCA} },
		Check: func(s *train.Session) error {
			plan = runPlan(s, cfg.LCA)
			return errStop
		}})
	if !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	if _, err := Train(context.Background(), cfg, TrainOptions{Options: train.Options{Dir: dir}}); err != nil {
		t.Fatal(err)
	}
	size := func(names ...string) int64 {
		var n int64
		for _, name := range names {
			st, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			n += st.Size()
		}
		return n
	}
	var files, report int64
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			if strings.Contains(path, string(filepath.Separator)+ReportDir+string(filepath.Separator)) {
				report += info.Size()
			} else {
				files += info.Size()
			}
		}
		return nil
	})
	w, full := size(WeightsFile), size(FullFile)
	rows := size(LossesFile, LayersFile, HelpedLayers, NeuronsFile)
	held := size(filepath.Join(HeldOutDir, LossesFile), filepath.Join(HeldOutDir, LayersFile), filepath.Join(HeldOutDir, HelpedLayers),
		filepath.Join(HeldOutDir, NeuronsFile), filepath.Join(HeldOutDir, TotalFile), filepath.Join(HeldOutDir, HelpedFile),
		filepath.Join(HeldOutDir, ClassLossesFile), filepath.Join(HeldOutDir, ClassLayersFile), filepath.Join(HeldOutDir, ClassHelpedFile))
	ckpt := size("checkpoint.ckpt")
	D := int64(64*16 + 16 + 16*4 + 4)
	t.Logf("plan %s", plan)
	t.Logf("written: weights.npy %d, lca.npy %d, per-row %d, held_out/ %d, checkpoint %d, all but the report %d, report %d", w, full, rows, held, ckpt, files, report)
	if w != 6*4*D+128 || full != 3*D*4+128 {
		t.Errorf("weights.npy %d bytes (want θ at 0, 2, 4, 6, 8, 9), lca.npy %d (want 3 windows)", w, full)
	}
	for _, c := range []struct {
		what         string
		plan, actual int64
		lo, hi       float64
	}{
		{"weights.npy", plan.Weights, w, 1, 1},
		{"lca.npy", plan.Full, full, 1, 1},
		{"per-row files", plan.Rows, rows, 0.75, 1.25},
		{"held_out/", plan.HeldOut, held, 0.75, 1.25},
		{"checkpoints", plan.Checkpoints, 2 * ckpt, 1, 1.1},
	} {
		slack := int64(0)
		if c.lo == 1 && c.hi == 1 {
			slack = 128
		}
		if float64(c.plan) < c.lo*float64(c.actual) || float64(c.plan) > c.hi*float64(c.actual)+float64(slack) {
			t.Errorf("%s: plan %d bytes, written %d", c.what, c.plan, c.actual)
		}
	}
	peak := files + ckpt + 12*D*2 // the checkpoint's and both sets' accumulators' temporary copies
	if need := plan.Total() - plan.Report; need < peak || float64(need) > 1.5*float64(peak)+100<<10 {
		t.Errorf("the plan without the report, %d bytes, against the folder at its fullest, %d", need, peak)
	}
	if plan.Report < report {
		t.Errorf("the report takes %d bytes, the plan allows %d", report, plan.Report)
	}
}

// --max-disk refuses a plan that does not fit before anything is written, naming the flags that
// would make it fit, with the plan's total for each; it accepts the plan the hint names.
func TestMaxDiskRefusesBeforeTraining(t *testing.T) {
	cfg := TrainConfig{Config: train.Config{Model: "mlp:64-16-4", Data: data.Spec{Name: "synthetic", Dir: "data", Synthetic: "640x1x8x8", Classes: 4},
		Opt: engine.OptConfig{Kind: "sgd", LR: 0.05, Gamma: 0.1}, Batch: 8, Epochs: 2, Device: "cpu", EvalBatch: 1000},
		LCA: Spec{Config: DefaultConfig(), SaveLCA: true, SaveW: true}}
	cfg.LCA.Config.Chunk = 200
	dir := filepath.Join(t.TempDir(), "run")
	// 160 iterations: lca.npy and weights.npy hold 160 and 161 rows of 1108 float32 (about 700 KB each).
	// With the report's allowance of 8 MiB, the plan is about 9.6 MiB.
	const max = 92 << 20 / 10
	_, err := Train(context.Background(), cfg, TrainOptions{Options: train.Options{Dir: dir}, MaxDisk: max})
	if err == nil {
		t.Fatal("the plan passed --max-disk 9.2MiB")
	}
	msg := err.Error()
	for _, want := range []string{"--max-disk 9.2 MiB", "weights.npy", "lca.npy", "--save-weights-every ", "--lca-every ", "without --save-lca"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q does not mention %q", msg, want)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused run made its folder: %v", err)
	}
	// The hint's --lca-every fits.
	var k int
	if i := strings.Index(msg, "--lca-every "); i >= 0 {
		if _, err := fmt.Sscan(msg[i+len("--lca-every "):], &k); err != nil || k < 2 {
			t.Fatalf("hint %q", msg[i:])
		}
	}
	cfg.LCA.Every = k
	if _, err := Train(context.Background(), cfg, TrainOptions{Options: train.Options{Dir: dir}, MaxDisk: max, NoReport: true}); err != nil {
		t.Errorf("--lca-every %d, as the hint says: %v", k, err)
	}
}
