package crashtest

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies the folder from into to.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// damage is one way of breaking a file.
type damage struct {
	name string
	do   func(t *testing.T, path string)
}

var (
	truncate = damage{"truncated", func(t *testing.T, path string) {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		// Keep any NPY header (128 bytes): only rows go.
		keep := st.Size() - max((st.Size()-128)/3, 1)
		if err := os.Truncate(path, keep); err != nil {
			t.Fatal(err)
		}
	}}
	flip = damage{"a flipped byte", func(t *testing.T, path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		i := len(b) / 2
		if len(b) > 128 && len(b)/2 < 128 {
			i = 128 + (len(b)-128)/2 // an NPY file's rows
		}
		b[i] ^= 0x10
		os.WriteFile(path, b, 0o644)
	}}
	remove = damage{"deleted", func(t *testing.T, path string) { os.Remove(path) }}
	// dtype turns an NPY file's element type into another one.
	dtype = damage{"another dtype in its header", func(t *testing.T, path string) {
		b, _ := os.ReadFile(path)
		b = bytes.Replace(b, []byte("'<f"), []byte("'<i"), 1)
		os.WriteFile(path, b, 0o644)
	}}
)

// edit replaces the first from with to in a (JSON) file.
func edit(from, to string) damage {
	return damage{"edited (" + from + " → " + to + ")", func(t *testing.T, path string) {
		b, _ := os.ReadFile(path)
		if !bytes.Contains(b, []byte(from)) {
			t.Fatalf("%s does not hold %q", path, from)
		}
		os.WriteFile(path, bytes.Replace(b, []byte(from), []byte(to), 1), 0o644)
	}}
}

// corruption is a damaged file of a run and what the error must say.
type corruption struct {
	file string
	dmg  damage
	want string // besides the file's name
}

// damaged runs each corruption on a copy of the run in dir and checks that cmd (run in the
// copy) fails with a clear error naming the file: no panic, no silent success.
func damaged(t *testing.T, dir string, cmd func(copy string) []string, cases []corruption) {
	t.Helper()
	for _, c := range cases {
		cp := filepath.Join(t.TempDir(), "run")
		copyTree(t, dir, cp)
		c.dmg.do(t, filepath.Join(cp, c.file))
		o := run(t, "", 0, cmd(cp)...)
		name := filepath.Base(c.file)
		if c.file == "config.json" || c.file == "sweep.json" {
			name = cp // a configuration that differs is named with its folder
		}
		gazeErr := strings.HasPrefix(o.stderr, "gaze: ") || strings.Contains(o.stderr, "\ngaze: ")
		if o.err == nil || o.killed || !gazeErr || strings.Contains(o.stderr, "goroutine ") ||
			!strings.Contains(o.stderr, name) || !strings.Contains(o.stderr, c.want) {
			t.Errorf("%s %s: want an error naming %s and saying %q; got %s", c.file, c.dmg.name, name, c.want, o)
		}
	}
}

// killedRun is job j's run killed at crash (in its first step) and not resumed.
func killedRun(t *testing.T, j job, crash string) (dir string, steps []step) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "run")
	steps = j.steps(dir)
	if o := run(t, crash, 0, steps[0].args...); !o.killed {
		t.Fatalf("%s: not killed at %s: %s", j.name, crash, o)
	}
	return dir, steps
}

// resumeIn is the resume command of a job's first step, pointed at another folder.
func resumeIn(s step, from string) func(string) []string {
	return func(to string) []string {
		args := s.resume
		if args == nil {
			args = s.args
		}
		out := make([]string, len(args))
		for i, a := range args {
			out[i] = strings.ReplaceAll(a, from, to)
		}
		return out
	}
}

// Every kind of file of a killed training run, damaged, stops --resume with its name.
func TestDamagedTrainRun(t *testing.T) {
	t.Parallel()
	dir, steps := killedRun(t, jobNamed(t, "gaze train"), "step:11")
	damaged(t, dir, resumeIn(steps[0], dir), []corruption{
		{"config.json", truncate, "not a JSON configuration"},
		{"config.json", edit(`"lr": 0.05`, `"lr": 0.07`), "optimizer.lr: saved 0.07, flags 0.05"},
		{"config.json", remove, "no config.json"},
		{"checkpoint.ckpt", truncate, "checksum"},
		{"checkpoint.ckpt", flip, "checksum"},
		{"checkpoint.ckpt", remove, "no checkpoint"},
		{"metrics.csv", truncate, "truncated"},
		{"metrics.csv", flip, "CRC-32"},
		{"metrics.csv", remove, "missing"},
		{"epochs.csv", truncate, "truncated"},
		{"epochs.csv", flip, "CRC-32"},
		{"epochs.csv", remove, "missing"},
	})
}

// Every stream of a killed LCA run, damaged, stops --resume with its name; a finished one's
// files, damaged, stop --resume and the report.
func TestDamagedLCARun(t *testing.T) {
	t.Parallel()
	dir, steps := killedRun(t, jobNamed(t, "gaze lca train"), "step:5")
	var cases []corruption
	for _, f := range []string{"losses.csv", "lca_layers.npy", "helped_layers.npy", "lca_neurons.npy", "lca.npy", "weights.npy"} {
		cases = append(cases, corruption{f, truncate, "truncated"}, corruption{f, flip, "CRC-32"}, corruption{f, remove, "missing"})
		if strings.HasSuffix(f, ".npy") {
			cases = append(cases, corruption{f, dtype, "want"})
		}
	}
	damaged(t, dir, resumeIn(steps[0], dir), cases)

	done := filepath.Join(t.TempDir(), "done")
	execute(t, jobNamed(t, "gaze lca train"), done, nil)
	finished := []corruption{
		{"lca_total.npy", flip, "not the file the run finished with"},
		{"lca_neurons.npy", truncate, "not the file the run finished with"},
		{"losses.csv", remove, "missing"},
		{"meta.json", edit(`"lca_computed": true`, `"lca_computed": false`), "not the file the run finished with"},
	}
	damaged(t, done, func(cp string) []string { return []string{"lca", "report", cp} }, finished)
	damaged(t, done, resumeIn(jobNamed(t, "gaze lca train").steps(done)[0], done), finished)
}

// The files of a killed CoordConv run and of a killed intrinsic-dimension sweep, damaged, are
// named by the command that continues them.
func TestDamagedCoordConvAndIntdim(t *testing.T) {
	t.Parallel()
	dir, steps := killedRun(t, jobNamed(t, "gaze coordconv run"), "step:7") // seed 0 finished, seed 1 in its second epoch
	// A JSON file cut at a third from its end fails to parse with a message that depends on the
	// character the cut lands on (timings make the files' lengths vary), so the JSON cases ask only
	// that the error names the file.
	damaged(t, dir, resumeIn(steps[0], dir), []corruption{
		{"seed1.ckpt", flip, "checksum"},
		{"seed1.ckpt", truncate, "checksum"},
		{"result.json", truncate, ""},
		{"predictions.json", truncate, ""},
		{"config.json", edit(`"batch": 16`, `"batch": 32`), "batch: saved 32, flags 16"},
	})
	dir, steps = killedRun(t, jobNamed(t, "gaze intdim sweep"), "step:13") // the baseline done, d = 4 in its second epoch
	damaged(t, dir, resumeIn(steps[0], dir), []corruption{
		{"points/d4-s0.ckpt", flip, "checksum"},
		{"points/d4-s0.epochs.json", truncate, ""},
		{"points/baseline-s0.json", truncate, ""},
		{"sweep.json", edit(`"batch": 16`, `"batch": 8`), "batch: saved 8, flags 16"},
	})
}
