package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// gaze runs the command line in-process and returns stdout, stderr and the error.
func gaze(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	app := newApp()
	var out, errb bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errb
	err := run(app, append([]string{"gaze"}, args...))
	return out.String(), errb.String(), err
}

func synthArgs(out string, extra ...string) []string {
	return append([]string{"train", "--data", "synthetic", "--synthetic", "200x1x8x8", "--classes", "4",
		"--model", "mlp:64-32-4", "--batch", "32", "--epochs", "2", "--lr", "0.1", "--quiet", "--out", out}, extra...)
}

func TestTrainSyntheticWritesResults(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	stdout, stderr, err := gaze(t, synthArgs(dir)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "test accuracy") {
		t.Errorf("stdout %q lacks the final accuracy", stdout)
	}
	var res map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	// 200 examples of a learnable synthetic set: two epochs reach well above chance (25 %).
	if acc := res["test_acc"].(float64); acc < 0.6 {
		t.Errorf("test accuracy %v after 2 epochs on synthetic data", acc)
	}
	// 200/32 → 7 steps an epoch, 14 in all, one metrics row each.
	rows := readCSV(t, filepath.Join(dir, "metrics.csv"))
	if len(rows) != 15 || rows[0][0] != "iter" || rows[14][0] != "13" {
		t.Errorf("metrics.csv has %d rows, last %v", len(rows), rows[len(rows)-1])
	}
	if e := readCSV(t, filepath.Join(dir, "epochs.csv")); len(e) != 3 {
		t.Errorf("epochs.csv has %d rows, want header + 2", len(e))
	}
}

// Resuming with more epochs continues the same curve: metrics equal a run done in one go.
func TestTrainResumeFromCLI(t *testing.T) {
	a := filepath.Join(t.TempDir(), "a")
	b := filepath.Join(t.TempDir(), "b")
	if _, se, err := gaze(t, synthArgs(a)...); err != nil {
		t.Fatal(err, se)
	}
	if _, se, err := gaze(t, append(synthArgs(a), "--epochs", "3", "--resume")...); err != nil {
		t.Fatal(err, se)
	}
	if _, se, err := gaze(t, append(synthArgs(b), "--epochs", "3")...); err != nil {
		t.Fatal(err, se)
	}
	ra, rb := readCSV(t, filepath.Join(a, "metrics.csv")), readCSV(t, filepath.Join(b, "metrics.csv"))
	if len(ra) != len(rb) || len(ra) != 22 {
		t.Fatalf("metrics rows: resumed %d, straight %d, want 22", len(ra), len(rb))
	}
	for i := range ra {
		if strings.Join(ra[i], ",") != strings.Join(rb[i], ",") {
			t.Fatalf("row %d: resumed %v, straight %v", i, ra[i], rb[i])
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Bad input gets an error that names the bad value, and nothing already written is lost.
func TestTrainBadInput(t *testing.T) {
	done := filepath.Join(t.TempDir(), "done")
	if _, se, err := gaze(t, synthArgs(done)...); err != nil {
		t.Fatal(err, se)
	}
	before, _ := os.ReadFile(filepath.Join(done, "metrics.csv"))
	// MNIST files that exist but whose training images are truncated: 2 images announced,
	// 10 bytes of pixels present.
	corrupt := t.TempDir()
	images := []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28}
	labels := []byte{0, 0, 8, 1, 0, 0, 0, 2, 3, 4}
	os.WriteFile(filepath.Join(corrupt, "train-images-idx3-ubyte"), append(images, make([]byte, 10)...), 0o644)
	os.WriteFile(filepath.Join(corrupt, "t10k-images-idx3-ubyte"), append(images, make([]byte, 2*784)...), 0o644)
	os.WriteFile(filepath.Join(corrupt, "train-labels-idx1-ubyte"), labels, 0o644)
	os.WriteFile(filepath.Join(corrupt, "t10k-labels-idx1-ubyte"), labels, 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{synthArgs(t.TempDir(), "--model", "vgg99"), `unknown model "vgg99"`},
		{synthArgs(t.TempDir(), "--model", "resnet21"), "6n+2"},
		{synthArgs(t.TempDir(), "--coordconv", "first"), "ResNet depth"},
		{synthArgs(t.TempDir(), "--model", "resnet8", "--synthetic", "40x3x8x8", "--coordconv", "some"), "unknown CoordConv mode"},
		{synthArgs(t.TempDir(), "--opt", "rmsprop"), `unknown optimizer "rmsprop"`},
		{synthArgs(t.TempDir(), "--lr", "-1"), "--lr -1"},
		{synthArgs(t.TempDir(), "--batch", "0"), "--batch 0"},
		{synthArgs(t.TempDir(), "--device", "cuda"), "without CUDA"},
		{synthArgs(t.TempDir(), "--device", "tpu"), `unknown device "tpu"`},
		{synthArgs(t.TempDir(), "--data", "imagenet"), `unknown data set "imagenet"`},
		{synthArgs(t.TempDir(), "--synthetic", "10x1x8"), "10x1x8"},
		{synthArgs(t.TempDir(), "--model", "lenet5"), "conv"},                  // 8×8 is too small for lenet5
		{synthArgs(t.TempDir(), "--model", "mlp:100-10-4"), "input size 64"},   // first width ≠ input
		{synthArgs(done), "already holds a run"},                               // would overwrite
		{synthArgs(done, "--resume", "--lr", "0.5"), "another run"},            // resume with other flags
		{synthArgs(filepath.Join(t.TempDir(), "fresh"), "--resume"), "no run"}, // nothing to resume
		{synthArgs(t.TempDir(), "--held-out", "200"), "--held-out 200"},
		{[]string{"train", "--data", "mnist", "--data-dir", corrupt, "--out", t.TempDir()}, filepath.Join(corrupt, "train-images-idx3-ubyte")},
		{[]string{"train", "--data", "cifar10", "--data-dir", t.TempDir(), "--out", t.TempDir()}, "data_batch_1.bin"},
		{[]string{"train", "--no-such-flag"}, "no-such-flag"},
	}
	if runtime.GOOS != "windows" && os.Getuid() != 0 {
		ro := t.TempDir()
		os.Chmod(ro, 0o500)
		cases = append(cases, struct {
			args []string
			want string
		}{synthArgs(filepath.Join(ro, "x")), "output folder"})
	}
	for _, c := range cases {
		_, _, err := gaze(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("gaze %s: error %v, want one containing %q", strings.Join(c.args, " "), err, c.want)
		}
	}
	after, _ := os.ReadFile(filepath.Join(done, "metrics.csv"))
	if !bytes.Equal(before, after) {
		t.Error("a refused command changed the finished run's metrics")
	}
	// An output path that is a file.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o644)
	if _, _, err := gaze(t, synthArgs(file)...); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("--out naming a file: %v", err)
	}
}

func TestDevices(t *testing.T) {
	out, _, err := gaze(t, "devices")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "cpu") {
		t.Errorf("gaze devices: %q lacks cpu", out)
	}
}

// GAZE_CPUPROFILE profiles the whole command into a pprof file (gzip-compressed protobuf),
// written out before the process would exit; a profile that cannot be created stops the
// command before it writes anything.
func TestCPUProfileEnv(t *testing.T) {
	tmp := t.TempDir()
	prof := filepath.Join(tmp, "cpu.prof")
	t.Setenv("GAZE_CPUPROFILE", prof)
	run := filepath.Join(tmp, "run")
	if st := mainStatus(append([]string{"gaze"}, synthArgs(run)...)); st != 0 {
		t.Fatalf("exit status %d", st)
	}
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 20 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("profile of %d bytes does not start as gzip: % x", len(b), b[:min(len(b), 4)])
	}
	if _, err := os.Stat(filepath.Join(run, "result.json")); err != nil {
		t.Errorf("the profiled run did not finish: %v", err)
	}

	t.Setenv("GAZE_CPUPROFILE", filepath.Join(tmp, "no-such-dir", "cpu.prof"))
	run2 := filepath.Join(tmp, "run2")
	if st := mainStatus(append([]string{"gaze"}, synthArgs(run2)...)); st != 1 {
		t.Errorf("exit status %d with an uncreatable profile, want 1", st)
	}
	if _, err := os.Stat(run2); !os.IsNotExist(err) {
		t.Errorf("the run folder exists although the profile could not be created: %v", err)
	}
}
