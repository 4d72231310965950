package lca

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/internal/npy"
	"github.com/gazeml/gaze/train"
)

// The helped fraction counts parameters with LCA < 0, and zeros do not help. A hand-computed
// case on the quadratic of TestLCAByHandOnAQuadratic (Simpson is exact there), data
// x = (1, 2), (−1, ½), (3, −2), y = 1, −1, 2, θ = (w1, w2, b):
//
//	θ0 = (1/2, −1/4, 1/8) → θ1 = (5/8, −1/8, 1/8): LCA = (−19/384, −97/768, 0): 2 of 3 help
//	θ1 → θ2 = (−1, −1/8, 1/4):                     LCA = (1859/192, 0, −11/64): 1 of 3 helps
//
// (LCA_i = ∂L/∂θ_i at the midpoint × Δθ_i, with ∂L/∂w_j = 2/3 Σ_n r_n x_nj, ∂L/∂b = 2/3 Σ_n r_n
// and r_n the residual at the midpoint.) So helped_count = (1, 1, 1): a count that took zeros
// for help would give (1, 2, 2), one that took hurt for help (1, 0, 1).
func TestHelpedFractionByHand(t *testing.T) {
	dev := cpu.New()
	build := func(dev engine.Device) (*engine.Model, error) {
		net := engine.NewSequential("net", engine.NewFlatten("f"), engine.NewLinear("fc", 1, true))
		return engine.NewModel(dev, "lin", net, []int{1, 1, 2}, engine.MeanSquaredError, 4)
	}
	m, err := build(dev)
	if err != nil {
		t.Fatal(err)
	}
	ds := &memSet{x: []float32{1, 2, -1, 0.5, 3, -2}, y: []float32{1, -1, 2}, in: 2, tg: 1}
	it := newTestIntegrator(t, m, build, []Set{{Data: ds}}, DefaultConfig())
	dir := t.TempDir()
	rec := NewRecorder(dir, m, it, Outputs{LCA: true})
	thetas := [][]float32{{0.5, -0.25, 0.125}, {0.625, -0.125, 0.125}, {-1, -0.125, 0.25}}
	before, _ := dev.Alloc(3)
	if err := rec.Start(0, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		dev.Upload(before, thetas[i])
		m.SetTheta(thetas[i+1])
		if err := rec.Record(i, 0, 0, before, m.Arena.Theta); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	wantLCA := [][]float64{{-19.0 / 384, -97.0 / 768, 0}, {1859.0 / 192, 0, -11.0 / 64}}
	full, err := npy.Read(filepath.Join(dir, FullFile), 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range wantLCA {
		for j, w := range wantLCA[i] {
			if got := full.Row(i)[j]; math.Abs(got-w) > 1e-5*math.Max(1, math.Abs(w)) {
				t.Errorf("LCA[%d][%d] = %v, by hand %v", i, j, got, w)
			}
		}
	}
	count, _ := npy.Read(filepath.Join(dir, HelpedFile), 0, -1)
	if count == nil || len(count.Data) != 3 || count.Data[0] != 1 || count.Data[1] != 1 || count.Data[2] != 1 {
		t.Errorf("helped_count.npy = %v, want [1 1 1]", count)
	}
	layers, _ := npy.Read(filepath.Join(dir, HelpedLayers), 0, -1)
	if layers == nil || layers.Rows() != 2 || math.Abs(layers.Row(0)[0]-2.0/3) > 1e-7 || math.Abs(layers.Row(1)[0]-1.0/3) > 1e-7 {
		t.Errorf("helped_layers.npy = %v, want [[2/3] [1/3]]", layers)
	}
	losses, _ := os.ReadFile(filepath.Join(dir, LossesFile))
	lines := strings.Split(strings.TrimSpace(string(losses)), "\n")
	if len(lines) != 3 {
		t.Fatalf("losses.csv:\n%s", losses)
	}
	for i, want := range []string{"0.666666666667", "0.333333333333"} {
		f := strings.Split(lines[i+1], ",")
		if f[11] != want {
			t.Errorf("iteration %d: helped_fraction %s, want %s", i, f[11], want)
		}
	}
	total, _ := npy.Read(filepath.Join(dir, TotalFile), 0, -1)
	for j, w := range []float64{3699.0 / 384, -97.0 / 768, -11.0 / 64} {
		if total == nil || math.Abs(total.Data[j]-w) > 1e-5*math.Max(1, math.Abs(w)) {
			t.Errorf("lca_total[%d] = %v, by hand %v", j, total, w)
		}
	}
}

var errStop = errors.New("stop before the folder")

// The free-space check counts everything the run has on disk at its fullest: its files (the
// report included), and beside them the checkpoint's and the accumulators' temporary copies.
// (It used to count the LCA files only, so a run it approved could fail part-way with "no
// space left on device".)
func TestDiskNeedCoversTheRun(t *testing.T) {
	cfg := TrainConfig{Config: train.Config{Model: "mlp:64-16-4", Data: data.Spec{Name: "synthetic", Dir: "data", Synthetic: "96x1x8x8", Classes: 4},
		Opt: engine.OptConfig{Kind: "sgd", LR: 0.05, Momentum: 0.9, Gamma: 0.1}, Batch: 32, Epochs: 2, Device: "cpu", CkptEvery: 2, EvalBatch: 1000},
		LCA: Spec{Config: DefaultConfig(), SaveLCA: true, SaveW: true}}
	cfg.LCA.Config.Chunk = 40
	dir := filepath.Join(t.TempDir(), "run")
	var need int64
	_, err := train.Open(cfg.Config, train.Options{Dir: dir, Saved: func(c train.Config) any { return TrainConfig{c, cfg.LCA} },
		Check: func(s *train.Session) error {
			need = runPlan(s, cfg.LCA).Total()
			return errStop
		}})
	if !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the check ran after the folder was made: %v", err)
	}
	if _, err := Train(context.Background(), cfg, TrainOptions{Options: train.Options{Dir: dir}}); err != nil {
		t.Fatal(err)
	}
	var files, report, ckpt int64
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			if filepath.Base(filepath.Dir(path)) == ReportDir {
				report += info.Size()
			} else {
				files += info.Size()
			}
			if d.Name() == "checkpoint.ckpt" {
				ckpt = info.Size()
			}
		}
		return nil
	})
	D := int64(64*16 + 16 + 16*4 + 4)
	// At its fullest the folder holds its files and, beside them, the last checkpoint's and the
	// accumulators' temporary copies.
	peak := files + ckpt + 12*D
	allowance := ReportBytes(2)
	t.Logf("estimate %d bytes (%d for the report); files %d, the report %d, peak without the report %d", need, allowance, files, report, peak)
	if need-allowance < peak {
		t.Errorf("the disk estimate without the report, %d, is below what the run's files hold at their fullest (%d)", need-allowance, peak)
	}
	if allowance < report {
		t.Errorf("the report takes %d bytes, the estimate allows %d", report, allowance)
	}
}
