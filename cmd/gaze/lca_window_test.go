package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gazeml/gaze/lca"
)

// Window LCA through the command line, on six iterations in windows of 4 (the last one 2 long):
//   - online (--lca-every 4): every window's |ΔL − ΣLCA| is within the threshold, and its losses
//     at θ_t and θ_{t+K} are those the per-iteration run evaluates at the same θ, to the byte;
//   - offline from a trajectory kept every 2 iterations (compute --every 4, in parts, merge)
//     writes the online window run's bytes;
//   - an offline run with θ at every step, computed per iteration and in windows: the window
//     allocation goes beside the run's own (window-4/), and the report shows both per layer.
func TestLCAWindows(t *testing.T) {
	step := filepath.Join(t.TempDir(), "step")
	if _, se, err := gaze(t, lcaArgs(step, "--no-report")...); err != nil {
		t.Fatal(err, se)
	}
	win := filepath.Join(t.TempDir(), "win")
	if _, se, err := gaze(t, lcaArgs(win, "--lca-every", "4")...); err != nil {
		t.Fatal(err, se)
	}
	sr, wr := readCSV(t, filepath.Join(step, "losses.csv"))[1:], readCSV(t, filepath.Join(win, "losses.csv"))[1:]
	if len(sr) != 6 || len(wr) != 2 {
		t.Fatalf("%d per-iteration rows, %d window rows (want 6 and 2)", len(sr), len(wr))
	}
	for r, w := range [][2]int{{0, 4}, {4, 6}} {
		row := wr[r]
		// iter, epoch, train_loss of the window's first iteration; its losses at both ends.
		if row[0] != sr[w[0]][0] || row[1] != sr[w[0]][1] || row[2] != sr[w[0]][2] || row[3] != sr[w[0]][3] || row[4] != sr[w[1]-1][4] {
			t.Errorf("window %d:%d: row %v, per-iteration rows %v … %v", w[0], w[1], row, sr[w[0]], sr[w[1]-1])
		}
		e, _ := strconv.ParseFloat(row[7], 64)
		n, _ := strconv.Atoi(row[8])
		if e > 1e-3 && n < 32 {
			t.Errorf("window %d:%d: |ΔL − ΣLCA| = %v at n = %d", w[0], w[1], e, n)
		}
	}
	// Windows of one iteration are per-iteration LCA, byte for byte: the same integrator step
	// between the same two θ (only config.json and meta.json say --lca-every 1).
	one := filepath.Join(t.TempDir(), "one")
	if _, se, err := gaze(t, lcaArgs(one, "--lca-every", "1", "--no-report")...); err != nil {
		t.Fatal(err, se)
	}
	for _, f := range []string{"losses.csv", "lca_layers.npy", "helped_layers.npy", "lca_neurons.npy", "lca_total.npy", "helped_count.npy"} {
		a, _ := os.ReadFile(filepath.Join(step, f))
		b, _ := os.ReadFile(filepath.Join(one, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("--lca-every 1: %s differs from per-iteration LCA", f)
		}
	}
	var meta lca.Meta
	b, _ := os.ReadFile(filepath.Join(win, "meta.json"))
	if err := json.Unmarshal(b, &meta); err != nil || meta.Window != 4 || meta.Rows() != 2 {
		t.Errorf("meta.json: window %d, %d rows (%v)", meta.Window, meta.Rows(), err)
	}
	html, _ := os.ReadFile(filepath.Join(win, "report", "report.html"))
	if !bytes.Contains(html, []byte("Window LCA.")) || !bytes.Contains(html, []byte("the last\nwindow is shorter")) {
		t.Error("the report of a window run does not say its rows are windows, the last one shorter")
	}

	off := filepath.Join(t.TempDir(), "off")
	if _, se, err := gaze(t, lcaArgs(off, "--offline", "--save-weights-every", "2")...); err != nil {
		t.Fatal(err, se)
	}
	if w, _ := os.Stat(filepath.Join(off, "weights.npy")); w == nil || w.Size() != 128+4*4*1108 {
		t.Errorf("weights.npy every 2 iterations of 6: want θ at 0, 2, 4, 6 (%v)", w)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--every", "3"}, "multiple of 2"},
		{[]string{"--every", "4", "--iters", "2:6"}, "multiples of 4"},
		{[]string{"--every", "4", "--part", "2/2"}, "from 0 to 1"},
	} {
		if _, _, err := gaze(t, append([]string{"lca", "compute", off}, c.args...)...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("compute %v: %v, want %q", c.args, err, c.want)
		}
	}
	for _, p := range []string{"0/2", "1/2"} {
		if _, se, err := gaze(t, "lca", "compute", off, "--every", "4", "--part", p); err != nil {
			t.Fatal(err, se)
		}
	}
	if _, se, err := gaze(t, "lca", "merge", off); err != nil {
		t.Fatal(err, se)
	}
	for _, f := range []string{"lca_layers.npy", "helped_layers.npy", "lca_neurons.npy", "lca_total.npy", "helped_count.npy", "losses.csv"} {
		a, _ := os.ReadFile(filepath.Join(win, f))
		b, _ := os.ReadFile(filepath.Join(off, f))
		if f == "losses.csv" {
			a, b = dropLastColumn(a), dropLastColumn(b) // the second part starts without a cached g(θ_4)
		}
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: offline windows + merge differ from online windows", f)
		}
	}

	both := filepath.Join(t.TempDir(), "both")
	if _, se, err := gaze(t, lcaArgs(both, "--offline", "--save-weights")...); err != nil {
		t.Fatal(err, se)
	}
	for _, args := range [][]string{{"--part", "0/2"}, {"--part", "1/2"}, {"--every", "4", "--part", "0/1"}} {
		if _, se, err := gaze(t, append([]string{"lca", "compute", both}, args...)...); err != nil {
			t.Fatal(err, se)
		}
	}
	if _, _, err := gaze(t, "lca", "merge", both); err == nil || !strings.Contains(err.Error(), "one window at a time") {
		t.Errorf("merging parts of two windows together: %v", err)
	}
	steps, _ := filepath.Glob(filepath.Join(both, "parts", "0*"))
	windows, _ := filepath.Glob(filepath.Join(both, "parts", "w4-*"))
	if _, se, err := gaze(t, append([]string{"lca", "merge", both}, steps...)...); err != nil {
		t.Fatal(err, se)
	}
	if _, se, err := gaze(t, append([]string{"lca", "merge", both}, windows...)...); err != nil {
		t.Fatal(err, se)
	}
	for _, f := range []string{"lca_layers.npy", "lca_total.npy"} {
		a, _ := os.ReadFile(filepath.Join(win, f))
		b, _ := os.ReadFile(filepath.Join(both, "window-4", f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("window-4/%s differs from the online window run", f)
		}
	}
	out, se, err := gaze(t, "lca", "report", both, "--json")
	if err != nil {
		t.Fatal(err, se)
	}
	var s lca.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Beside) != 1 || s.Beside[0].Window != 4 || len(s.Beside[0].Layers) != len(s.Layers) {
		t.Fatalf("summary beside: %+v", s.Beside)
	}
	bs := s.Beside[0]
	var own, other float64
	for _, l := range bs.Layers {
		own += l.Own
		other += l.Other
	}
	// Both split the same ΔL over the run; per layer the chord and the path differ.
	if math.Abs(bs.DeltaLoss-s.DeltaLoss) > 1e-12 || math.Abs(own-other) > 2e-3 || math.Abs(own-s.SumLCA) > 1e-9 {
		t.Errorf("ΔL %v and %v; ΣLCA per iteration %v, in windows %v", s.DeltaLoss, bs.DeltaLoss, own, other)
	}
	html, _ = os.ReadFile(filepath.Join(both, "report", "report.html"))
	if !bytes.Contains(html, []byte("LCA over windows of 4 iteration(s) beside this allocation")) || !bytes.Contains(html, []byte("path\ndependence, not error")) {
		t.Error("report.html lacks the window allocation beside the per-iteration one")
	}
	if _, _, err := gaze(t, append([]string{"lca", "merge", both}, windows...)...); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Errorf("merging the windows twice: %v", err)
	}
	if _, _, err := gaze(t, lcaArgs(filepath.Join(t.TempDir(), "x"), "--offline", "--save-weights", "--lca-every", "4")...); err == nil || !strings.Contains(err.Error(), "compute --every") {
		t.Errorf("--lca-every with --offline: %v", err)
	}
}

// --max-disk through the command line: lca train prints its plan and refuses one that does not
// fit before it makes the folder (here nothing fits: the report's allowance alone is larger),
// and lca compute refuses a part folder that does not fit before it makes it.
func TestLCAMaxDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	_, _, err := gaze(t, lcaArgs(dir, "--save-lca", "--save-weights", "--max-disk", "1MiB")...)
	if err == nil || !strings.Contains(err.Error(), "--max-disk 1.0 MiB: the run would write") || !strings.Contains(err.Error(), "raise --max-disk") {
		t.Errorf("--max-disk 1MiB: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("the refused run made its folder")
	}
	off := filepath.Join(t.TempDir(), "off")
	_, se, err := gaze(t, lcaArgs(off, "--offline", "--save-weights", "--max-disk", "20MiB")...)
	if err != nil || !strings.Contains(se, "disk plan: the run folder holds at most") {
		t.Fatalf("%v\n%s", err, se)
	}
	_, _, err = gaze(t, "lca", "compute", off, "--max-disk", "20KiB")
	if err == nil || !strings.Contains(err.Error(), "--max-disk 20.0 KiB: the part of iterations 0:6 would write") || !strings.Contains(err.Error(), "--every K") {
		t.Errorf("compute --max-disk 20KiB: %v", err)
	}
	if _, err := os.Stat(filepath.Join(off, "parts")); err == nil {
		t.Error("the refused compute made its part folder")
	}
}
