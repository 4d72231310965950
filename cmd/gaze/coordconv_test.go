package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every coordconv command and flag has help text.
func TestCoordConvHelp(t *testing.T) {
	cmd := coordconvCommand()
	if cmd.Usage == "" {
		t.Error("coordconv has no usage")
	}
	for _, sub := range cmd.Subcommands {
		if sub.Usage == "" {
			t.Errorf("coordconv %s has no usage", sub.Name)
		}
		for _, f := range sub.Flags {
			if u, ok := f.(interface{ GetUsage() string }); !ok || u.GetUsage() == "" {
				t.Errorf("coordconv %s: flag %v has no usage", sub.Name, f.Names())
			}
		}
	}
	out, _, err := gaze(t, "coordconv", "run", "--help")
	if err != nil || !strings.Contains(out, "--task") || !strings.Contains(out, "quadrant") {
		t.Errorf("coordconv run --help: %v\n%s", err, out)
	}
}

func TestCoordConvBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--task", "painting"}, "unknown task"},
		{[]string{"--model", "mlp"}, "unknown model"},
		{[]string{"--split", "diagonal"}, "unknown split"},
		{[]string{"--test-frac", "0.0001"}, "empty test set"},
		{[]string{"--test-frac", "1"}, "--test-frac 1"},
		{[]string{"--seeds", "0"}, "--seeds"},
		{[]string{"--device", "tpu"}, "unknown device"},
		{[]string{"--l2", "-1"}, "--l2"},
		{[]string{"--task", "classification", "--interm", "1"}, "intermediate loss"},
		{[]string{"--task", "rendering", "--model", "conv", "--interm", "1"}, "intermediate loss"},
		{[]string{"--task", "rendering", "--interm", "-1"}, "--interm -1"},
		{[]string{"--task", "regression", "--recipe", "authors"}, `--recipe "authors"`},
	} {
		args := append([]string{"coordconv", "run", "--epochs", "1", "--out", filepath.Join(dir, "x")}, c.args...)
		_, _, err := gaze(t, args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
}

// A tiny run (every 40th centre, one epoch) writes its table, CSVs, JSON and plots, and refuses to
// overwrite them; data writes the .npy files and PNGs.
func TestCoordConvRunAndData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	args := []string{"coordconv", "run", "--task", "regression", "--split", "quadrant", "--seeds", "2", "--epochs", "1", "--subsample", "40", "--out", dir}
	out, stderr, err := gaze(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(out, "mean distance") || !strings.Contains(out, "906") {
		t.Errorf("output lacks the metric or the parameter count:\n%s", out)
	}
	for _, f := range []string{"table.txt", "results.csv", "curves.csv", "result.json", "predictions.json", "curves.png", "predictions.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	if rows := readCSV(t, filepath.Join(dir, "results.csv")); len(rows) != 3 {
		t.Errorf("results.csv has %d rows, want header + 2 seeds", len(rows))
	}
	if _, _, err := gaze(t, args...); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("a second run into %s: %v, want a refusal", dir, err)
	}
	// Resuming a finished run trains nothing and prints its table.
	if out, _, err := gaze(t, append(args, "--resume")...); err != nil || strings.Contains(out, "epoch   1") || !strings.Contains(out, "906") {
		t.Errorf("--resume of a finished run: %v\n%s", err, out)
	}
	md, _, err := gaze(t, "coordconv", "table", dir)
	if err != nil || !strings.Contains(md, "| regression | quadrant | coordconv | lr 0.01, l2 1e-05, batch 16, hot-pixel init, lr ×0.1 after epochs 2, 4, 6, every 40th centre | 2 |") {
		t.Errorf("table: %v\n%s", err, md)
	}
	// The regressor's diagnosis: from the run folder (θ₀ and the end, per seed), and of θ₀ alone.
	if out, _, err := gaze(t, "coordconv", "diagnose", dir); err != nil || strings.Count(out, "θ₀:  max-pool winner within 2 px of the hot pixel in 100.0%") != 2 || !strings.Contains(out, "of 2 seeds trapped") {
		t.Errorf("diagnose %s: %v\n%s", dir, err, out)
	}
	if out, _, err := gaze(t, "coordconv", "diagnose", "--split", "quadrant", "--seeds", "2", "--recipe", "paper"); err != nil || !strings.Contains(out, "seed 1 θ₀ (quadrant split, recipe paper)") || !strings.Contains(out, "mean over 2 seeds") {
		t.Errorf("diagnose --recipe paper: %v\n%s", err, out)
	}
	if _, _, err := gaze(t, "coordconv", "diagnose", t.TempDir()); err == nil {
		t.Error("diagnose of a folder without a run")
	}
	data := filepath.Join(t.TempDir(), "nsc")
	if _, _, err := gaze(t, "coordconv", "data", "--out", data); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"centres.npy", "onehot.npy", "squares.npy", "quadrant_train.npy", "quadrant_test.npy", "uniform_train.npy", "uniform_test.npy", "examples.png", "quadrant.png"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Error(err)
		}
	}
	// 3,136 centres × 2 int32 after a 128-byte header.
	if st, err := os.Stat(filepath.Join(data, "centres.npy")); err != nil {
		t.Error(err)
	} else if st.Size() != 128+3136*2*4 {
		t.Errorf("centres.npy has %d bytes, want %d", st.Size(), 128+3136*2*4)
	}
}

// A sweep runs every combination and lists them best first.
func TestCoordConvSweep(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sweep")
	out, stderr, err := gaze(t, "coordconv", "sweep", "--task", "classification", "--model", "conv", "--split", "quadrant",
		"--seeds", "1", "--epochs", "1", "--subsample", "100", "--lrs", "0.001,0.01", "--fss", "2,3", "--out", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, sub := range []string{"lr0.001_fs2_m1", "lr0.001_fs3_m1", "lr0.01_fs2_m1", "lr0.01_fs3_m1"} {
		if _, err := os.Stat(filepath.Join(dir, sub, "result.json")); err != nil {
			t.Error(err)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, "sweep.md"))
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(string(md), "| classification |"); rows != 4 {
		t.Errorf("sweep.md has %d rows, want 4:\n%s", rows, md)
	}
	if !strings.Contains(out, "best first") || !strings.Contains(string(md), "fs 2, m 1") {
		t.Errorf("sweep output:\n%s", out)
	}
	// Run again with one more learning rate: the four finished combinations are read back, not
	// trained again, and only the new one trains.
	out, stderr, err = gaze(t, "coordconv", "sweep", "--task", "classification", "--model", "conv", "--split", "quadrant",
		"--seeds", "1", "--epochs", "1", "--subsample", "100", "--lrs", "0.001,0.01,0.003", "--fss", "2,3", "--out", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if n := strings.Count(out, "continuing"); n != 4 {
		t.Errorf("the second sweep continued %d combinations, want 4:\n%s", n, out)
	}
	if n := strings.Count(out, "epoch   1"); n != 2 {
		t.Errorf("the second sweep trained %d epochs, want 2 (the new learning rate's):\n%s", n, out)
	}
	md, err = os.ReadFile(filepath.Join(dir, "sweep.md"))
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(string(md), "| classification |"); rows != 6 {
		t.Errorf("sweep.md has %d rows, want 6:\n%s", rows, md)
	}
	if _, _, err := gaze(t, "coordconv", "sweep", "--task", "regression", "--model", "conv", "--fss", "2,3", "--out", dir); err == nil || !strings.Contains(err.Error(), "no filter-size") {
		t.Errorf("a regression sweep over filter sizes: %v", err)
	}
	reg := filepath.Join(t.TempDir(), "reg")
	if _, stderr, err := gaze(t, "coordconv", "sweep", "--task", "regression", "--model", "conv", "--seeds", "1", "--epochs", "1",
		"--subsample", "100", "--lrs", "0.001", "--muls", "1,2", "--out", reg); err != nil {
		t.Fatalf("regression sweep: %v\n%s", err, stderr)
	}
	for _, sub := range []string{"lr0.001_m1", "lr0.001_m2"} {
		if _, err := os.Stat(filepath.Join(reg, sub, "result.json")); err != nil {
			t.Error(err)
		}
	}
	// The same folder with another recipe is refused, not mixed in.
	if _, _, err := gaze(t, "coordconv", "sweep", "--task", "classification", "--model", "conv", "--split", "quadrant",
		"--seeds", "1", "--epochs", "2", "--subsample", "100", "--lrs", "0.001", "--fss", "2", "--out", dir); err == nil || !strings.Contains(err.Error(), "holds another run") {
		t.Errorf("a sweep with another epoch budget into the same folder: %v", err)
	}
}
