package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gazeml/gaze/lca"
)

func lcaArgs(out string, extra ...string) []string {
	return append([]string{"lca", "train", "--data", "synthetic", "--synthetic", "96x1x8x8", "--classes", "4",
		"--model", "mlp:64-16-4", "--batch", "32", "--epochs", "2", "--lr", "0.05", "--lca-examples", "0",
		"--lca-batch", "40", "--quiet", "--out", out}, extra...)
}

// An online LCA study ends with a report whose numbers agree with the files.
func TestLCAOnlineRunAndReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	stdout, stderr, err := gaze(t, lcaArgs(dir)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "report.html") {
		t.Errorf("stdout %q does not point at the report", stdout)
	}
	for _, f := range []string{"meta.json", "losses.csv", "lca_layers.npy", "lca_total.npy", "helped_count.npy", "report/report.html", "report/loss.png", "report/neurons_fc1.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	var s lca.Summary
	b, _ := os.ReadFile(filepath.Join(dir, "report", "summary.json"))
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	// 96 examples in batches of 32: 3 iterations an epoch.
	if s.Iterations != 6 || s.D != 64*16+16+16*4+4 {
		t.Errorf("summary: %d iterations, %d parameters", s.Iterations, s.D)
	}
	if s.RelErr > 0.01 || s.MaxIterErr > 1e-3 {
		t.Errorf("relative error %v, largest iteration error %v", s.RelErr, s.MaxIterErr)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report", "report.html"))
	if !bytes.Contains(html, []byte("data:image/png;base64,")) || !bytes.Contains(html, []byte("Definition.")) {
		t.Error("report.html lacks inline images or the peak definition")
	}
	for _, args := range [][]string{{"--json", dir}, {dir, "--json"}} { // flags go before or after the folder
		if out, _, err := gaze(t, append([]string{"lca", "report"}, args...)...); err != nil || !strings.Contains(out, `"relative_error"`) {
			t.Errorf("gaze lca report %s: %v %q", strings.Join(args, " "), err, out)
		}
	}
}

// Offline: train saving the trajectory, compute two ranges, merge: the same LCA as online.
func TestLCAOfflineComputeMergeEqualsOnline(t *testing.T) {
	online := filepath.Join(t.TempDir(), "online")
	if _, se, err := gaze(t, lcaArgs(online, "--no-report")...); err != nil {
		t.Fatal(err, se)
	}
	off := filepath.Join(t.TempDir(), "offline")
	if _, se, err := gaze(t, lcaArgs(off, "--offline", "--save-weights")...); err != nil {
		t.Fatal(err, se)
	}
	if _, _, err := gaze(t, "lca", "report", off); err == nil || !strings.Contains(err.Error(), "lca compute") {
		t.Errorf("report of an uncomputed run: %v", err)
	}
	for _, r := range []string{"0:4", "4:"} {
		if _, se, err := gaze(t, "lca", "compute", "--iters", r, off); err != nil {
			t.Fatal(err, se)
		}
	}
	// An overlapping part is refused before anything is written.
	overlap := filepath.Join(t.TempDir(), "overlap")
	if _, se, err := gaze(t, "lca", "compute", "--iters", "3:5", "--out", overlap, off); err != nil {
		t.Fatal(err, se)
	}
	parts, _ := filepath.Glob(filepath.Join(off, "parts", "*"))
	if _, _, err := gaze(t, append([]string{"lca", "merge", off, overlap}, parts...)...); err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("merging overlapping parts: %v", err)
	}
	if _, _, err := gaze(t, "lca", "merge", off, parts[1]); err == nil || !strings.Contains(err.Error(), "in no part") {
		t.Errorf("merging a part that leaves iterations 0:4 out: %v", err)
	}
	if _, se, err := gaze(t, "lca", "merge", off); err != nil {
		t.Fatal(err, se)
	}
	sameAsOnlineLCA(t, online, off, "offline compute + merge")
	if _, _, err := gaze(t, "lca", "merge", off); err == nil || !strings.Contains(err.Error(), "already holds computed LCA") {
		t.Errorf("merging twice: %v", err)
	}
	if _, _, err := gaze(t, "lca", "report", off); err != nil {
		t.Errorf("report of the merged run: %v", err)
	}
}

// sameAsOnlineLCA checks that the merged parts of an offline run (off) hold the online run's LCA
// files byte for byte, and its losses.csv but for the evaluation count: each part starts by
// evaluating g at its first iteration, which the online run had cached.
func sameAsOnlineLCA(t *testing.T, online, off, what string) {
	t.Helper()
	for _, f := range []string{"lca_layers.npy", "helped_layers.npy", "lca_neurons.npy", "lca_total.npy", "helped_count.npy", "losses.csv"} {
		a, _ := os.ReadFile(filepath.Join(online, f))
		b, _ := os.ReadFile(filepath.Join(off, f))
		if f == "losses.csv" {
			a, b = dropLastColumn(a), dropLastColumn(b)
		}
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: %s differs from online LCA\n%s\n%s", what, f, a, b)
		}
	}
}

func dropLastColumn(csv []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(csv, []byte("\n")) {
		if i := bytes.LastIndexByte(line, ','); i >= 0 {
			line = line[:i]
		}
		out = append(out, line)
	}
	return bytes.Join(out, []byte("\n"))
}

// Bad input to the LCA commands: clear errors, nothing overwritten.
func TestLCABadInput(t *testing.T) {
	off := filepath.Join(t.TempDir(), "offline")
	if _, se, err := gaze(t, lcaArgs(off, "--offline", "--save-weights")...); err != nil {
		t.Fatal(err, se)
	}
	nolca := filepath.Join(t.TempDir(), "noweights")
	if _, se, err := gaze(t, lcaArgs(nolca, "--no-report")...); err != nil {
		t.Fatal(err, se)
	}
	trunc := filepath.Join(t.TempDir(), "trunc")
	os.MkdirAll(trunc, 0o755)
	for _, f := range []string{"config.json", "meta.json", "weights.npy"} {
		b, _ := os.ReadFile(filepath.Join(off, f))
		if f == "weights.npy" {
			b = b[:len(b)-300]
		}
		os.WriteFile(filepath.Join(trunc, f), b, 0o644)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"lca", "compute", "--iters", "0:99", off}, "outside"},
		{[]string{"lca", "compute", "--iters", "5:2", off}, "outside"},
		{[]string{"lca", "compute", nolca}, "--save-weights"},
		{[]string{"lca", "compute", "--iters", "0:6", trunc}, "truncated"},
		{[]string{"lca", "compute", t.TempDir()}, "not an LCA run directory"},
		{[]string{"lca", "report", t.TempDir()}, "not an LCA run directory"},
		{lcaArgs(filepath.Join(t.TempDir(), "x"), "--offline"), "--save-weights"},
		{lcaArgs(filepath.Join(t.TempDir(), "x"), "--max-n", "12"), "power of two"},
		{lcaArgs(nolca), "already holds a run"},
		{lcaArgs(nolca, "--resume", "--lca-examples", "50"), "another run"},
	}
	for _, c := range cases {
		if _, _, err := gaze(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("gaze %s: error %v, want one containing %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

// Per-class and held-out LCA through the command line, sharded: a run on three CPU instances
// writes the bytes of a one-device run; one resumed with another --devices (and more epochs)
// ends with them too; offline compute of two ranges on two devices plus merge gives them as well.
func TestLCAPerClassHeldOutShardedAndOffline(t *testing.T) {
	extra := []string{"--per-class", "--held-out", "24", "--lca-held-out", "--no-report"}
	one := filepath.Join(t.TempDir(), "one")
	if _, se, err := gaze(t, lcaArgs(one, extra...)...); err != nil {
		t.Fatal(err, se)
	}
	files := []string{"losses.csv", "lca_layers.npy", "helped_layers.npy", "lca_neurons.npy", "lca_total.npy", "helped_count.npy",
		"losses_class.csv", "lca_class_layers.npy", "helped_class_layers.npy"}
	var all []string
	for _, f := range files {
		all = append(all, f, filepath.Join("held_out", f))
	}
	all = append(all, "lca_indices.npy", "held_out_indices.npy", "meta.json")
	compare := func(what, dir string, dropEvals bool) {
		t.Helper()
		for _, f := range all {
			if f == "meta.json" && dropEvals {
				continue // an offline or resumed run's meta.json says so
			}
			a, _ := os.ReadFile(filepath.Join(one, f))
			b, _ := os.ReadFile(filepath.Join(dir, f))
			if dropEvals && filepath.Base(f) == "losses.csv" {
				a, b = dropLastColumn(a), dropLastColumn(b)
			}
			if len(a) == 0 || !bytes.Equal(a, b) {
				t.Errorf("%s: %s differs from the one-device run (%d vs %d bytes)", what, f, len(b), len(a))
			}
		}
	}
	// The report: per-class loss curves and totals, synchronisation across classes, held-out
	// against training LCA per layer; the numbers agree with the files.
	out, se, err := gaze(t, "lca", "report", one, "--json")
	if err != nil {
		t.Fatal(err, se)
	}
	var s lca.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	n, sum := 0, 0.0
	for _, c := range s.Classes {
		n += c.Examples
		sum += float64(c.Examples) * c.SumLCA
	}
	if len(s.Classes) != 4 || n != 72 || math.Abs(sum/72-s.SumLCA) > 1e-9*math.Abs(s.SumLCA) || s.ClassSync == nil {
		t.Errorf("per-class summary: %d classes of %d examples, Σ_c (n_c/n)·ΣLCA_c %v against ΣLCA %v", len(s.Classes), n, sum/72, s.SumLCA)
	}
	if s.HeldOut == nil || len(s.HeldOut.Layers) != len(s.Layers) || s.HeldOut.Iterations != s.Iterations || len(s.HeldOut.Classes) != 4 {
		t.Errorf("held-out summary: %+v", s.HeldOut)
	}
	html, _ := os.ReadFile(filepath.Join(one, "report", "report.html"))
	for _, want := range []string{"Per-class LCA", "Synchronisation of learning peaks across classes", "Held-out LCA"} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	for _, f := range []string{"class_loss.png", "class_layers.png", "held_out_layers.png", "held_out_loss.png"} {
		if _, err := os.Stat(filepath.Join(one, "report", f)); err != nil {
			t.Errorf("report: %v", err)
		}
	}

	three := filepath.Join(t.TempDir(), "three")
	if _, se, err := gaze(t, lcaArgs(three, append(extra, "--devices", "cpu:3")...)...); err != nil {
		t.Fatal(err, se)
	}
	compare("--devices cpu:3", three, false)

	resumed := filepath.Join(t.TempDir(), "resumed")
	first := lcaArgs(resumed, extra...)
	first[slices.Index(first, "--epochs")+1] = "1"
	if _, se, err := gaze(t, first...); err != nil {
		t.Fatal(err, se)
	}
	if _, se, err := gaze(t, lcaArgs(resumed, append(extra, "--resume", "--devices", "cpu:2")...)...); err != nil {
		t.Fatal(err, se)
	}
	compare("one epoch on one device, resumed on two", resumed, true)

	off := filepath.Join(t.TempDir(), "offline")
	if _, se, err := gaze(t, lcaArgs(off, append(extra, "--offline", "--save-weights")...)...); err != nil {
		t.Fatal(err, se)
	}
	for _, r := range []string{"0:2", "2:"} {
		if _, se, err := gaze(t, "lca", "compute", off, "--iters", r, "--devices", "cpu:2"); err != nil {
			t.Fatal(err, se)
		}
	}
	if _, se, err := gaze(t, "lca", "merge", off); err != nil {
		t.Fatal(err, se)
	}
	compare("offline on two devices + merge", off, true)
	if _, _, err := gaze(t, lcaArgs(filepath.Join(t.TempDir(), "x"), "--lca-held-out")...); err == nil || !strings.Contains(err.Error(), "--held-out N") {
		t.Errorf("--lca-held-out without --held-out: %v", err)
	}
	if _, _, err := gaze(t, lcaArgs(filepath.Join(t.TempDir(), "x"), "--devices", "cuda:0")...); err == nil || !strings.Contains(err.Error(), "--device cuda") {
		t.Errorf("--devices cuda:0 with --device cpu: %v", err)
	}
}
