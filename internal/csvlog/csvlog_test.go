package csvlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gazeml/gaze/internal/rundir"
)

// Rows written before a commit survive a process that dies without flushing; rows after it are
// cut on resume; a log that lost committed rows is refused.
func TestCommitResume(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "metrics.csv")
	reg := rundir.NewStreams()
	l, err := OpenIn(reg, path, []string{"iter", "loss"}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Row(0, 1.5)
	l.Row(1, 1.25)
	states, err := reg.Commit()
	if err != nil || len(states) != 1 || states[0].Rows != 2 {
		t.Fatalf("commit: %+v %v", states, err)
	}
	// Committed rows are on disk without Close (a kill -9 runs no deferred Close).
	if b, _ := os.ReadFile(path); string(b) != "iter,loss\n0,1.5\n1,1.25\n" {
		t.Fatalf("after commit the file holds %q", b)
	}
	l.Row(2, 1.0)
	l.Close()

	reg.Restore(states)
	l, err = OpenIn(reg, path, []string{"iter", "loss"}, 0, func(int) bool { panic("not used with records") })
	if err != nil {
		t.Fatal(err)
	}
	l.Row(2, 0.5)
	l.Close()
	if b, _ := os.ReadFile(path); string(b) != "iter,loss\n0,1.5\n1,1.25\n2,0.5\n" {
		t.Errorf("resumed log holds %q", b)
	}
	if n, _ := CountRows(path); n != 3 {
		t.Errorf("CountRows %d", n)
	}
	os.WriteFile(path, []byte("iter,loss\n0,1.5\n"), 0o644)
	if _, err := OpenIn(reg, path, []string{"iter", "loss"}, 0, nil); err == nil || !strings.Contains(err.Error(), "metrics.csv has 16 bytes") {
		t.Errorf("a log shorter than its checkpoint: %v", err)
	}
}

// Without records (a checkpoint of an older gaze), rows go by their key.
func TestUnrecordedKeepsByKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.csv")
	os.WriteFile(path, []byte("iter,loss\n0,1\n1,2\n2,3\n3,"), 0o644)
	reg := rundir.NewStreams()
	reg.Restore(nil)
	l, err := OpenIn(reg, path, []string{"iter", "loss"}, 0, func(it int) bool { return it < 2 })
	if err != nil {
		t.Fatal(err)
	}
	st, err := l.Commit()
	l.Close()
	if b, _ := os.ReadFile(path); string(b) != "iter,loss\n0,1\n1,2\n" || err != nil || st.Rows != 2 || st.Bytes != int64(len(b)) {
		t.Errorf("kept %q, state %+v %v", b, st, err)
	}
}
