package crashtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A second process on a run folder in use (a --resume started while the first run still
// writes) is refused with the first one's PID, and changes nothing; once the first is killed,
// --resume continues the run.
func TestSecondWriterRefused(t *testing.T) {
	t.Parallel()
	if buildErr != nil {
		t.Skip(buildErr)
	}
	dir := filepath.Join(t.TempDir(), "run")
	args := append(append([]string{"train"}, synthTrain...), "--batch", "16", "--epochs", "1000", "--checkpoint-every", "4", "--out", dir)
	first := exec.Command(gazeBin, args...)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Process.Kill()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(dir, "metrics.csv")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first run wrote no metrics.csv within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	o := run(t, "", 0, append(slices.Clone(args), "--resume")...)
	if o.err == nil || !strings.Contains(o.stderr, "in use by process "+strconv.Itoa(first.Process.Pid)) {
		t.Errorf("a second writer: %s", o)
	}
	// A new run in the folder is refused too (it holds a run already).
	if o := run(t, "", 0, args...); o.err == nil || !strings.Contains(o.stderr, "already holds a run") {
		t.Errorf("a new run in the folder: %s", o)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "config.json")); string(after) != string(before) {
		t.Error("the refused writers changed config.json")
	}
	first.Process.Kill()
	first.Wait()
	// The killed run continues (for fewer epochs: the test does not wait for 1000).
	short := append(append([]string{"train"}, synthTrain...), "--batch", "16", "--epochs", "1000", "--checkpoint-every", "4", "--out", dir, "--resume")
	o = run(t, "", 3*time.Second, short...)
	if o.err != nil && !o.killed {
		t.Errorf("resuming after the first writer died: %s", o)
	}
}
