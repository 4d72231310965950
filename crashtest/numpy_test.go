package crashtest

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gazeml/gaze/internal/npy"
)

// numpyPython is a python3 that imports numpy, or "".
func numpyPython() string {
	for _, cand := range []string{"python3", "/usr/bin/python3"} {
		if p, err := exec.LookPath(cand); err == nil && exec.Command(p, "-c", "import numpy").Run() == nil {
			return p
		}
	}
	return ""
}

// The NPY files of an LCA run killed mid-write are readable as they are: each holds the rows
// its header claims, and they are the first rows of the uninterrupted run's file. Checked with
// gaze's own reader always, and with numpy where it is installed.
func TestKilledRunPrefixesAreReadable(t *testing.T) {
	t.Parallel()
	ref := filepath.Join(t.TempDir(), "ref")
	execute(t, jobNamed(t, "gaze lca train"), ref, nil)
	py := numpyPython()
	if py == "" {
		t.Log("numpy is not installed: the prefixes are checked with gaze's NPY reader only")
	}
	files := []string{"lca_layers.npy", "helped_layers.npy", "lca_neurons.npy", "lca.npy", "weights.npy"}
	for _, crash := range []string{"step:5", "before-checkpoint:3"} {
		dir, _ := killedRun(t, jobNamed(t, "gaze lca train"), crash)
		rows := map[string]int{}
		for _, f := range files {
			got, err := npy.Read(filepath.Join(dir, f), 0, -1)
			if err != nil {
				t.Errorf("killed at %s: %s: %v", crash, f, err)
				continue
			}
			rows[f] = got.Rows()
			want, err := npy.Read(filepath.Join(ref, f), 0, got.Rows())
			if err != nil {
				t.Errorf("killed at %s: %s holds %d rows, more than the finished run's: %v", crash, f, got.Rows(), err)
				continue
			}
			for i := range got.Data {
				if got.Data[i] != want.Data[i] {
					t.Errorf("killed at %s: %s differs from the finished run's at value %d", crash, f, i)
					break
				}
			}
		}
		if py == "" {
			continue
		}
		// One python per kill: for each file, its rows, and whether they are the finished
		// run's first rows, all finite.
		out, err := exec.Command(py, append([]string{"-c", `import numpy as np, sys
killed, ref = sys.argv[1], sys.argv[2]
for f in sys.argv[3:]:
    a = np.load(killed + "/" + f); b = np.load(ref + "/" + f)
    n = a.shape[0]
    print(f, n, a.shape == (n,) + b.shape[1:], bool(np.array_equal(a, b[:n])), bool(np.isfinite(a).all()))`, dir, ref}, files...)...).CombinedOutput()
		if err != nil {
			t.Errorf("killed at %s: numpy: %v\n%s", crash, err, out)
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			if len(f) != 5 || f[1] != strconv.Itoa(rows[f[0]]) || f[2] != "True" || f[3] != "True" || f[4] != "True" {
				t.Errorf("killed at %s: numpy reads %q (gaze's reader: %d rows)", crash, line, rows[f[0]])
			}
		}
	}
}
