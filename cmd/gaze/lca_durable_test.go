package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gazeml/gaze/internal/npy"
)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Two runs of the same model with another seed: merge, compute and report refuse each other's
// parts and files, naming them. (Merge used to check only the model and D.)
func TestLCAFilesOfAnotherRunRefused(t *testing.T) {
	a := filepath.Join(t.TempDir(), "a")
	b := filepath.Join(t.TempDir(), "b")
	for i, dir := range []string{a, b} {
		// (--devices is left out of the identity: it may change on resume.)
		if _, se, err := gaze(t, lcaArgs(dir, "--offline", "--save-weights", "--devices", "cpu", "--seed", []string{"0", "1"}[i])...); err != nil {
			t.Fatal(err, se)
		}
		for _, r := range []string{"0:3", "3:"} {
			if _, se, err := gaze(t, "lca", "compute", "--iters", r, dir); err != nil {
				t.Fatal(err, se)
			}
		}
	}
	foreign := filepath.Join(b, "parts", "0000003-0000006")
	_, _, err := gaze(t, "lca", "merge", a, filepath.Join(a, "parts", "0000000-0000003"), foreign)
	if err == nil || !strings.Contains(err.Error(), foreign) || !strings.Contains(err.Error(), "another run") {
		t.Errorf("merging a part of another run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(a, "lca_layers.npy")); err == nil {
		t.Error("a refused merge wrote lca_layers.npy")
	}
	// The trajectory of another run under this run's meta.json and config.json.
	swapped := filepath.Join(t.TempDir(), "swapped")
	os.MkdirAll(swapped, 0o755)
	for _, f := range []string{"config.json", "meta.json", "finished.json", "lca_indices.npy"} {
		copyFile(t, filepath.Join(a, f), filepath.Join(swapped, f))
	}
	copyFile(t, filepath.Join(b, "weights.npy"), filepath.Join(swapped, "weights.npy"))
	if _, _, err := gaze(t, "lca", "compute", "--iters", "0:3", swapped); err == nil || !strings.Contains(err.Error(), filepath.Join(swapped, "weights.npy")) || !strings.Contains(err.Error(), "another run") {
		t.Errorf("computing from another run's trajectory: %v", err)
	}
	// A merged run's report refuses a file of the other merged run.
	for _, dir := range []string{a, b} {
		if _, se, err := gaze(t, "lca", "merge", dir); err != nil {
			t.Fatal(err, se)
		}
	}
	if _, _, err := gaze(t, "lca", "report", a); err != nil {
		t.Fatalf("report of the merged run: %v", err)
	}
	copyFile(t, filepath.Join(b, "lca_layers.npy"), filepath.Join(a, "lca_layers.npy"))
	if _, _, err := gaze(t, "lca", "report", a); err == nil || !strings.Contains(err.Error(), filepath.Join(a, "lca_layers.npy")) {
		t.Errorf("report with another run's lca_layers.npy: %v", err)
	}
}

// --offline --save-lca: the parts write lca.npy and merge joins it, as an online run writes it.
func TestLCAOfflineSaveLCA(t *testing.T) {
	online := filepath.Join(t.TempDir(), "online")
	if _, se, err := gaze(t, lcaArgs(online, "--no-report", "--save-lca")...); err != nil {
		t.Fatal(err, se)
	}
	off := filepath.Join(t.TempDir(), "offline")
	if _, se, err := gaze(t, lcaArgs(off, "--offline", "--save-weights", "--save-lca")...); err != nil {
		t.Fatal(err, se)
	}
	for _, r := range []string{"0:4", "4:"} {
		if _, se, err := gaze(t, "lca", "compute", "--iters", r, off); err != nil {
			t.Fatal(err, se)
		}
	}
	if _, se, err := gaze(t, "lca", "merge", off); err != nil {
		t.Fatal(err, se)
	}
	want, _ := os.ReadFile(filepath.Join(online, "lca.npy"))
	got, err := os.ReadFile(filepath.Join(off, "lca.npy"))
	if err != nil || len(want) == 0 || !bytes.Equal(got, want) {
		t.Errorf("lca.npy of the offline run (%d bytes, %v) differs from the online run's (%d bytes)", len(got), err, len(want))
	}
}

// A truncated stream is refused by --resume, naming it; its missing rows never come back as
// zeros. (Here the run is finished and continued for one more epoch, from its last checkpoint.)
func TestLCATruncatedStreamsRefused(t *testing.T) {
	for _, f := range []string{"lca_layers.npy", "weights.npy", "losses.csv"} {
		dir := filepath.Join(t.TempDir(), "run")
		if _, se, err := gaze(t, lcaArgs(dir, "--save-weights", "--no-report")...); err != nil {
			t.Fatal(err, se)
		}
		path := filepath.Join(dir, f)
		st, _ := os.Stat(path)
		// The header (of an NPY file) still claims every row: only data is cut, a third of it.
		os.Truncate(path, st.Size()-(st.Size()-128)/3)
		_, _, err := gaze(t, append(lcaArgs(dir, "--save-weights", "--no-report"), "--epochs", "3", "--resume")...)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("resuming with %s truncated: %v", f, err)
			if strings.HasSuffix(f, ".npy") {
				if m, rerr := npy.Read(path, 0, -1); rerr == nil {
					last := m.Row(m.Rows() - 1)
					t.Logf("%s now holds %d rows, the last %v", f, m.Rows(), last[:min(4, len(last))])
				}
			}
		}
	}
}
