package rundir

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// One writer per run folder: a second opener is refused with the holder's PID; the lock dies
// with its holder (a stale lock file is no lock), and a released lock leaves no file.
func TestLock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LockFile)
	l, err := AcquireLock(path, dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLock(path, dir)
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("process %d on host", os.Getpid())) || !strings.Contains(err.Error(), dir) {
		t.Errorf("second lock: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a released lock left its file: %v", err)
	}
	// A file left by a process that was killed holds no lock: the next run takes it.
	os.WriteFile(path, []byte("999999 elsewhere\n"), 0o644)
	l, err = AcquireLock(path, dir)
	if err != nil {
		t.Fatalf("a stale lock file: %v", err)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), fmt.Sprintf("%d ", os.Getpid())) {
		t.Errorf("lock file holds %q, want this process", b)
	}
	l.Release()
}

// RestoreFile cuts back a file that grew after the checkpoint, and refuses one that is shorter
// or changed, naming it and both lengths; it never extends a file.
func TestRestoreFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "metrics.csv")
	prefix := []byte("iter,loss\n0,1.5\n1,1.25\n")
	st := StreamState{File: "metrics.csv", Rows: 2, Bytes: int64(len(prefix)), CRC: crc32.ChecksumIEEE(prefix)}
	write := func(b []byte) { os.WriteFile(path, b, 0o644) }

	write(append(append([]byte(nil), prefix...), "2,1.1\n3,1"...)) // rows after the checkpoint, a torn one
	if err := RestoreFile(path, st); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != string(prefix) {
		t.Errorf("cut back to %q", b)
	}
	write(prefix[:len(prefix)-3])
	err := RestoreFile(path, st)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), fmt.Sprintf("%d bytes", len(prefix)-3)) || !strings.Contains(err.Error(), fmt.Sprintf("%d bytes (2 rows)", len(prefix))) {
		t.Errorf("a truncated file: %v", err)
	}
	if b, _ := os.ReadFile(path); len(b) != len(prefix)-3 {
		t.Errorf("a refused file was changed to %d bytes", len(b))
	}
	flipped := append([]byte(nil), prefix...)
	flipped[12] ^= 1
	write(append(flipped, "2,1.1\n"...))
	if err := RestoreFile(path, st); err == nil || !strings.Contains(err.Error(), "CRC-32") || !strings.Contains(err.Error(), path) {
		t.Errorf("a changed file: %v", err)
	}
	os.Remove(path)
	if err := RestoreFile(path, st); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a deleted file: %v", err)
	}
	// Start skips a header rewritten in place (an NPY row count).
	write([]byte("HDR1rows"))
	tail := []byte("rows")
	if err := RestoreFile(path, StreamState{File: "x", Rows: 1, Bytes: 8, Start: 4, CRC: crc32.ChecksumIEEE(tail)}); err != nil {
		t.Errorf("checksum from Start: %v", err)
	}
}

// The registry tells a reopened stream how its run resumes.
func TestStreamsLookup(t *testing.T) {
	var nilReg *Streams
	if how, _, err := nilReg.Lookup("a"); how != Fresh || err != nil {
		t.Errorf("nil registry: %v %v", how, err)
	}
	s := NewStreams()
	if how, _, _ := s.Lookup("/run/a.csv"); how != Fresh {
		t.Errorf("new run: %v", how)
	}
	s.Restore(nil)
	if how, _, _ := s.Lookup("/run/a.csv"); how != Unrecorded {
		t.Errorf("a checkpoint without records: %v", how)
	}
	s.Restore([]StreamState{{File: "a.csv", Rows: 3}})
	if how, st, err := s.Lookup("/run/a.csv"); how != Recorded || st.Rows != 3 || err != nil {
		t.Errorf("recorded: %v %+v %v", how, st, err)
	}
	if _, _, err := s.Lookup("/run/b.npy"); err == nil || !strings.Contains(err.Error(), "b.npy") {
		t.Errorf("a stream the checkpoint does not know: %v", err)
	}
}

// A finished run's files are checked against finished.json: any change is named.
func TestFinished(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.csv"), []byte("x,y\n1,2\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.json"), []byte("{}"), 0o644)
	if _, ok, err := ReadFinished(dir); ok || err != nil {
		t.Fatalf("an unfinished run: %v %v", ok, err)
	}
	if err := WriteFinished(dir, Finished{Identity: "abc", Iterations: 7}, "a.csv", "b.json", "absent.npy"); err != nil {
		t.Fatal(err)
	}
	f, ok, err := ReadFinished(dir)
	if !ok || err != nil || f.Identity != "abc" || f.Iterations != 7 || len(f.Files) != 2 {
		t.Fatalf("finished: %+v %v %v", f, ok, err)
	}
	if err := f.Verify(dir); err != nil {
		t.Error(err)
	}
	os.WriteFile(filepath.Join(dir, "a.csv"), []byte("x,y\n1,3\n"), 0o644)
	if err := f.Verify(dir); err == nil || !strings.Contains(err.Error(), "a.csv is not the file the run finished with") {
		t.Errorf("a changed file: %v", err)
	}
	os.Remove(filepath.Join(dir, "b.json"))
	os.WriteFile(filepath.Join(dir, "a.csv"), []byte("x,y\n1,2\n"), 0o644)
	if err := f.Verify(dir); err == nil || !strings.Contains(err.Error(), "b.json is missing") {
		t.Errorf("a deleted file: %v", err)
	}
	err = &FinishedError{Dir: dir, Finished: f}
	if !errors.Is(err, ErrFinished) || !strings.Contains(err.Error(), "7 iterations") {
		t.Errorf("%v", err)
	}
	if err := Unfinish(dir); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := ReadFinished(dir); ok {
		t.Error("Unfinish left the marker")
	}
}

// A run's identity ignores what a resumed run may change and zero values, and changes with
// any other field and with θ₀.
func TestIdentity(t *testing.T) {
	skip := []string{"epochs", "data.dir"}
	id := func(c cfg, theta string) string {
		s, err := Identity(c, skip, []byte(theta))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := id(base(), "θ0")
	if len(a) != 32 {
		t.Errorf("identity %q", a)
	}
	more := base()
	more.Epochs, more.Data.Dir = 99, "/elsewhere"
	if id(more, "θ0") != a {
		t.Error("more epochs or another data folder changed the identity")
	}
	type older struct {
		cfg
		Nothing int `json:"added_later"`
	}
	if s, _ := Identity(older{cfg: base()}, skip, []byte("θ0")); s != a {
		t.Error("a zero-valued field changed the identity")
	}
	other := base()
	other.Opt.LR = 0.02
	if id(other, "θ0") == a || id(base(), "θ1") == a {
		t.Error("another learning rate or θ₀ kept the identity")
	}
	withID := map[string]any{"model": "mnist-fc", "identity": "whatever"}
	noID := map[string]any{"model": "mnist-fc"}
	x, _ := Identity(withID, nil, nil)
	y, _ := Identity(noID, nil, nil)
	if x != y {
		t.Error("the identity field enters the identity")
	}
}
