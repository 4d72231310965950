package train

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/rundir"
)

// snapshot copies the run folder as it is on disk now: what a kill -9 at this moment leaves
// (the page cache survives a killed process; only its buffers in memory are lost).
func snapshot(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// dropColumn removes the named column of a CSV file's bytes (a timing column).
func dropColumn(t *testing.T, b []byte, name string) string {
	t.Helper()
	lines := strings.Split(string(b), "\n")
	col := -1
	for i, h := range strings.Split(lines[0], ",") {
		if h == name {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("no column %s in %q", name, lines[0])
	}
	for i, l := range lines {
		if l == "" {
			continue
		}
		f := strings.Split(l, ",")
		lines[i] = strings.Join(append(f[:col:col], f[col+1:]...), ",")
	}
	return strings.Join(lines, "\n")
}

// A run killed at any iteration (its folder copied as it was on disk then) resumes to the
// files of an uninterrupted run: no row of metrics.csv or epochs.csv is lost or repeated,
// whether the kill came before the first periodic checkpoint, right after one, between two or
// after the last epoch. (Before checkpoints committed the logs, rows buffered when the process
// died were lost for good.)
func TestKilledRunResumesExactly(t *testing.T) {
	cfg := synthConfig(3)
	cfg.CkptEvery = 2
	straight := filepath.Join(t.TempDir(), "straight")
	if _, err := Run(context.Background(), cfg, Options{Dir: straight}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, f := range []string{"metrics.csv", "epochs.csv"} {
		b, _ := os.ReadFile(filepath.Join(straight, f))
		want[f] = string(b)
	}
	want["epochs.csv"] = dropColumn(t, []byte(want["epochs.csv"]), "seconds")

	// Snapshots of one run at every iteration, taken after the step's hooks (and a checkpoint
	// when one is due: Run checkpoints after the hook, so the snapshot at iteration k holds
	// the checkpoint of k-1 or earlier, and the rows since).
	live := filepath.Join(t.TempDir(), "live")
	s, err := Open(cfg, Options{Dir: live})
	if err != nil {
		t.Fatal(err)
	}
	kills := t.TempDir()
	s.Trainer.Hook = func(st engine.StepInfo) error {
		snapshot(t, live, filepath.Join(kills, string(rune('a'+st.Iter))))
		return nil
	}
	if _, err := s.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for it := 0; it < 9; it++ {
		dir := filepath.Join(kills, string(rune('a'+it)))
		if _, err := Run(context.Background(), cfg, Options{Dir: dir, Resume: true}); err != nil {
			t.Fatalf("resuming the run killed at iteration %d: %v", it, err)
		}
		for f, w := range want {
			b, _ := os.ReadFile(filepath.Join(dir, f))
			got := string(b)
			if f == "epochs.csv" {
				got = dropColumn(t, b, "seconds")
			}
			if got != w {
				t.Errorf("killed at iteration %d and resumed, %s:\n%s\nwant:\n%s", it, f, got, w)
			}
		}
	}
}

// Rows a killed run wrote after its checkpoint are cut back on resume (and rows that the
// checkpoint stands for, but are gone or changed, are refused, naming the file).
func TestResumeCutsBackAndRefuses(t *testing.T) {
	cfg := synthConfig(2)
	dir := filepath.Join(t.TempDir(), "run")
	s, err := Open(cfg, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.Trainer.Hook = func(st engine.StepInfo) error {
		if st.Iter == 3 {
			cancel()
		}
		return nil
	}
	if _, err := s.Train(ctx); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	s.Close()
	clean, _ := os.ReadFile(filepath.Join(dir, "metrics.csv"))
	copyOf := func(name string) string {
		d := filepath.Join(t.TempDir(), name)
		snapshot(t, dir, d)
		return d
	}
	// Rows after the checkpoint (and a torn one) go.
	grown := copyOf("grown")
	f, _ := os.OpenFile(filepath.Join(grown, "metrics.csv"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("4,2,0.9,0,0.05\n5,2,0.8,0,0.05\n6,2,0.")
	f.Close()
	if _, err := Run(context.Background(), cfg, Options{Dir: grown, Resume: true}); err != nil {
		t.Fatal(err)
	}
	straight := filepath.Join(t.TempDir(), "straight")
	Run(context.Background(), cfg, Options{Dir: straight})
	a, _ := os.ReadFile(filepath.Join(straight, "metrics.csv"))
	b, _ := os.ReadFile(filepath.Join(grown, "metrics.csv"))
	if !bytes.Equal(a, b) {
		t.Errorf("resumed after rows past the checkpoint:\n%s\nwant:\n%s", b, a)
	}
	// A log that lost rows the checkpoint stands for, or whose rows changed, is refused.
	short := copyOf("short")
	os.WriteFile(filepath.Join(short, "metrics.csv"), clean[:len(clean)-20], 0o644)
	if _, err := Run(context.Background(), cfg, Options{Dir: short, Resume: true}); err == nil || !strings.Contains(err.Error(), filepath.Join(short, "metrics.csv")) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a truncated metrics.csv: %v", err)
	}
	edited := copyOf("edited")
	os.WriteFile(filepath.Join(edited, "metrics.csv"), bytes.Replace(clean, []byte("\n1,1,"), []byte("\n1,2,"), 1), 0o644)
	if _, err := Run(context.Background(), cfg, Options{Dir: edited, Resume: true}); err == nil || !strings.Contains(err.Error(), "metrics.csv") || !strings.Contains(err.Error(), "CRC-32") {
		t.Errorf("an edited metrics.csv: %v", err)
	}
	// A deleted checkpoint cannot be told from a run that never wrote one, but its metrics can.
	lost := copyOf("lost")
	os.Remove(filepath.Join(lost, "checkpoint.ckpt"))
	if _, err := Run(context.Background(), cfg, Options{Dir: lost, Resume: true}); err == nil || !strings.Contains(err.Error(), "no checkpoint") || !strings.Contains(err.Error(), "metrics.csv holds 4 rows") {
		t.Errorf("a deleted checkpoint: %v", err)
	}
}

// A run killed before its first checkpoint (only config.json and empty logs on disk) resumes
// from its beginning.
func TestResumeBeforeFirstCheckpoint(t *testing.T) {
	cfg := synthConfig(1)
	dir := filepath.Join(t.TempDir(), "run")
	s, err := Open(cfg, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s.Run.WriteConfig(s.opts.saved(s.Config))
	os.WriteFile(filepath.Join(dir, "metrics.csv"), []byte("iter,epoch,loss,l2,lr\n"), 0o644)
	s.Close()
	res, err := Run(context.Background(), cfg, Options{Dir: dir, Resume: true})
	if err != nil || res.Iterations != 3 {
		t.Fatalf("resuming before the first checkpoint: %+v %v", res, err)
	}
}

// A finished run is left as it is by --resume; a run killed after its last checkpoint but
// before result.json (or the finished mark) finishes with the last epoch's numbers, not zeros.
func TestFinishedAndFinalSteps(t *testing.T) {
	cfg := synthConfig(2)
	dir := filepath.Join(t.TempDir(), "run")
	want, err := Run(context.Background(), cfg, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		before[e.Name()], _ = os.ReadFile(filepath.Join(dir, e.Name()))
	}
	res, err := Run(context.Background(), cfg, Options{Dir: dir, Resume: true})
	if !errors.Is(err, rundir.ErrFinished) || !strings.Contains(err.Error(), "finished run (6 iterations)") || res == nil || res.TestAcc != want.TestAcc {
		t.Errorf("resuming a finished run: %+v, %v", res, err)
	}
	ents, _ = os.ReadDir(dir)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if !bytes.Equal(b, before[e.Name()]) {
			t.Errorf("resuming the finished run changed %s", e.Name())
		}
	}
	if len(ents) != len(before) {
		t.Errorf("resuming the finished run left %d files, it had %d", len(ents), len(before))
	}
	// A finished run whose files were changed says which one.
	os.WriteFile(filepath.Join(dir, "epochs.csv"), []byte("epoch\n"), 0o644)
	if _, err := Run(context.Background(), cfg, Options{Dir: dir, Resume: true}); err == nil || !strings.Contains(err.Error(), "epochs.csv is not the file the run finished with") {
		t.Errorf("a finished run with a changed epochs.csv: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "epochs.csv"), before["epochs.csv"], 0o644)

	// Killed before result.json: the final steps run again from the checkpoint.
	os.Remove(filepath.Join(dir, rundir.FinishedFile))
	os.Remove(filepath.Join(dir, "result.json"))
	res, err = Run(context.Background(), cfg, Options{Dir: dir, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.TestAcc != want.TestAcc || res.TestLoss != want.TestLoss || res.TrainLoss != want.TrainLoss || res.TestAcc == 0 || res.Iterations != 6 {
		t.Errorf("finished after a kill in the final steps: %+v, want %+v", res, want)
	}
	if _, ok, _ := rundir.ReadFinished(dir); !ok {
		t.Error("the resumed run was not marked finished")
	}
	// More epochs continue a finished run.
	more := synthConfig(3)
	res, err = Run(context.Background(), more, Options{Dir: dir, Resume: true})
	if err != nil || res.Iterations != 9 {
		t.Errorf("a finished run continued for more epochs: %+v %v", res, err)
	}
}

// One writer per run folder: while a run is open, a second process (here: a second opening in
// this process, which flock treats alike) can neither resume nor restart it.
func TestSecondWriterRefused(t *testing.T) {
	cfg := synthConfig(1)
	dir := filepath.Join(t.TempDir(), "run")
	s, err := Open(cfg, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Run(context.Background(), cfg, Options{Dir: dir}); !errors.Is(err, rundir.ErrLocked) || !strings.Contains(err.Error(), "in use by process") {
		t.Errorf("a second new run in the folder: %v", err)
	}
	s.Run.WriteConfig(s.opts.saved(s.Config))
	if _, err := Run(context.Background(), cfg, Options{Dir: dir, Resume: true}); !errors.Is(err, rundir.ErrLocked) || !strings.Contains(err.Error(), "in use by process") {
		t.Errorf("a second writer resuming the run: %v", err)
	}
}

// A resumed folder whose config.json carries another run's identity is refused.
func TestIdentityChecked(t *testing.T) {
	cfg := synthConfig(1)
	dir := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), cfg, Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, rundir.FinishedFile))
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	id := identityOf2(b)
	os.WriteFile(filepath.Join(dir, "config.json"), bytes.Replace(b, []byte(id), []byte("0123456789abcdef0123456789abcdef"), 1), 0o644)
	if _, err := Run(context.Background(), cfg, Options{Dir: dir, Resume: true}); err == nil || !strings.Contains(err.Error(), "belongs to another run") {
		t.Errorf("another identity: %v", err)
	}
}

func identityOf2(config []byte) string {
	i := bytes.Index(config, []byte(`"identity": "`))
	if i < 0 {
		return "none"
	}
	return string(config[i+13 : i+13+32])
}
