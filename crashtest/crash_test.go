// Package crashtest kills gaze's long commands with SIGKILL at chosen and at random points,
// resumes them, and checks that every CSV and NPY file they leave is byte for byte what an
// uninterrupted run writes (timing columns aside); it also damages each kind of run file and
// checks that the resumed command names it. It runs the real binary, built once, on tiny
// synthetic data: the suite is how a regression in crash safety is caught, in CI.
//
// Deterministic kill points come from GAZE_CRASH_AT (internal/crashpoint: the process kills
// itself the N-th time it reaches a named phase, so "during the report" is a case, not a hope);
// random ones from a seeded generator (GAZE_CRASH_SEED, logged) and from timers.
package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	gazeBin  string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gaze-crashtest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gazeBin = filepath.Join(dir, "gaze")
	if _, err := exec.LookPath("go"); err != nil {
		buildErr = errors.New("the go command is not on PATH")
	} else if out, err := exec.Command("go", "build", "-o", gazeBin, "github.com/gazeml/gaze/cmd/gaze").CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("building gaze: %v\n%s", err, out)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// outcome is how one gaze process ended.
type outcome struct {
	stdout, stderr string
	killed         bool  // by SIGKILL (its own crash point, or the test's timer)
	err            error // exit status or start failure; nil on success
}

func (o outcome) String() string {
	return fmt.Sprintf("killed %v, err %v\nstderr: %s", o.killed, o.err, o.stderr)
}

// run runs gaze with args; crash arms a crash point ("" for none); killAfter, when positive,
// kills the process after that long.
func run(t *testing.T, crash string, killAfter time.Duration, args ...string) outcome {
	t.Helper()
	if buildErr != nil {
		t.Skip(buildErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gazeBin, args...)
	cmd.Env = append(os.Environ(), "GAZE_CRASH_AT="+crash, "GOMAXPROCS=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if killAfter > 0 {
		timer := time.AfterFunc(killAfter, func() { cmd.Process.Signal(syscall.SIGKILL) })
		defer timer.Stop()
	}
	err := cmd.Wait()
	o := outcome{stdout: stdout.String(), stderr: stderr.String(), err: err}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			o.killed = true
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("gaze %s: did not finish within 3 minutes", strings.Join(args, " "))
	}
	return o
}

// step is one invocation of a job; resume, when set, is how it continues after a kill (else
// it is run again as it is: sweeps, compute, merge, report).
type step struct {
	args   []string
	resume []string
}

// job is a long command (or a chain of commands) on its run folder.
type job struct {
	name  string
	steps func(out string) []step
	// timing lists, per file name, the columns that hold wall times: the only ones that may
	// differ between a resumed and an uninterrupted run.
	timing map[string][]string
	// results are JSON files compared too (the final numbers a resumed run reports), with the
	// top-level keys that hold wall times left out.
	results map[string][]string
	// phases are deterministic kill points: step index and GAZE_CRASH_AT value.
	phases []kill
	// randomSteps is how many iterations a step with "step" crash points has (for random
	// kills), and which step that is.
	randomStep, iterations int
}

// kill is a planned SIGKILL: at a crash point, or after a delay.
type kill struct {
	step  int
	crash string
	after time.Duration
	again string // a second crash point, armed in the first continuation
}

func (k kill) String() string {
	s := fmt.Sprintf("step %d ", k.step)
	if k.crash != "" {
		s += "at " + k.crash
	} else {
		s += "after " + k.after.String()
	}
	if k.again != "" {
		s += ", then at " + k.again
	}
	return s
}

// execute runs the job's steps in out, with the kill k (nil: uninterrupted), continuing every
// killed step until it completes.
func execute(t *testing.T, j job, out string, k *kill) {
	t.Helper()
	for i, s := range j.steps(out) {
		crash, after := "", time.Duration(0)
		if k != nil && k.step == i {
			crash, after = k.crash, k.after
		}
		o := run(t, crash, after, s.args...)
		if k != nil && k.step == i && k.crash != "" && !o.killed {
			t.Fatalf("%s: the crash point %s was never reached: %s", j.name, k.crash, o)
		}
		for n := 0; o.killed; n++ {
			if n > 3 {
				t.Fatalf("%s: step %d killed %d times", j.name, i, n)
			}
			again := ""
			if n == 0 && k != nil && k.step == i {
				again = k.again
			}
			args := s.args
			if s.resume != nil {
				args = s.resume
			}
			o = run(t, again, 0, args...)
			// A run killed before it wrote its configuration holds nothing to resume: the
			// user starts it again.
			if o.err != nil && strings.Contains(o.stderr, "holds no run to resume") {
				o = run(t, again, 0, s.args...)
			}
		}
		if o.err != nil && !strings.Contains(o.stderr, "finished run") {
			t.Fatalf("%s, step %d (%s): %s", j.name, i, strings.Join(s.args, " "), o)
		}
	}
}

// streamFiles lists the CSV and NPY files under dir, relative to it.
func streamFiles(t *testing.T, dir string) []string {
	var files []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".csv") || strings.HasSuffix(path, ".npy")) && !strings.HasPrefix(d.Name(), ".") {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, rel)
		}
		return nil
	})
	slices.Sort(files)
	return files
}

// withoutColumns drops the named columns of a CSV file.
func withoutColumns(b []byte, cols []string) []byte {
	if len(cols) == 0 {
		return b
	}
	lines := strings.Split(string(b), "\n")
	var drop []int
	for i, h := range strings.Split(lines[0], ",") {
		if slices.Contains(cols, h) {
			drop = append(drop, i)
		}
	}
	for i, l := range lines {
		f := strings.Split(l, ",")
		if len(f) < len(drop) {
			continue
		}
		var keep []string
		for k, v := range f {
			if !slices.Contains(drop, k) {
				keep = append(keep, v)
			}
		}
		lines[i] = strings.Join(keep, ",")
	}
	return []byte(strings.Join(lines, "\n"))
}

// sameFiles compares every CSV and NPY file of got with want's, timing columns aside.
func sameFiles(t *testing.T, j job, want, got, what string) {
	t.Helper()
	wf, gf := streamFiles(t, want), streamFiles(t, got)
	if !slices.Equal(wf, gf) {
		t.Errorf("%s, %s: files %v, the uninterrupted run has %v", j.name, what, gf, wf)
		return
	}
	if len(wf) == 0 {
		t.Fatalf("%s: no CSV or NPY files to compare in %s", j.name, want)
	}
	for _, f := range wf {
		a, _ := os.ReadFile(filepath.Join(want, f))
		b, _ := os.ReadFile(filepath.Join(got, f))
		cols := j.timing[filepath.Base(f)]
		if !bytes.Equal(withoutColumns(a, cols), withoutColumns(b, cols)) {
			t.Errorf("%s, %s: %s differs from the uninterrupted run's (%d bytes, want %d)", j.name, what, f, len(b), len(a))
		}
	}
	for f, drop := range j.results {
		a, b := jsonWithout(t, filepath.Join(want, f), drop), jsonWithout(t, filepath.Join(got, f), drop)
		if a != b {
			t.Errorf("%s, %s: %s is\n%s\nthe uninterrupted run's\n%s", j.name, what, f, b, a)
		}
	}
}

// jsonWithout is a JSON file's object without the given top-level keys, re-encoded.
func jsonWithout(t *testing.T, path string, drop []string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Sprintf("%s: %v", path, err)
	}
	for _, k := range drop {
		delete(m, k)
	}
	out, _ := json.Marshal(m)
	return string(out)
}

var synthTrain = []string{"--data", "synthetic", "--synthetic", "96x1x8x8", "--classes", "4", "--model", "mlp:64-16-4", "--lr", "0.05", "--quiet"}

var jobs = []job{
	{
		name: "gaze train",
		steps: func(out string) []step {
			args := append([]string{"train"}, synthTrain...)
			args = append(args, "--batch", "16", "--epochs", "3", "--checkpoint-every", "4", "--out", out)
			return []step{{args: args, resume: append(slices.Clone(args), "--resume")}}
		},
		timing:  map[string][]string{"epochs.csv": {"seconds"}},
		results: map[string][]string{"result.json": {"seconds_this_process"}},
		phases: []kill{
			{crash: "checkpoint:1"},        // right after the checkpoint before the first step
			{crash: "step:3"},              // before the first periodic checkpoint
			{crash: "checkpoint:3"},        // right after a checkpoint (iteration 6, an epoch's end)
			{crash: "before-checkpoint:4"}, // rows committed, the checkpoint not written
			{crash: "step:11"},             // between checkpoints
			{crash: "step:5", again: "step:7"},
			{crash: "result:1"}, // after the last checkpoint, before result.json
			{crash: "finish:1"}, // after result.json, before finished.json
		},
		iterations: 18,
	},
	{
		name: "gaze lca train",
		steps: func(out string) []step {
			args := append([]string{"lca", "train"}, synthTrain...)
			args = append(args, "--batch", "32", "--epochs", "2", "--checkpoint-every", "2", "--lca-examples", "0", "--lca-batch", "40",
				"--save-lca", "--save-weights", "--out", out)
			return []step{{args: args, resume: append(slices.Clone(args), "--resume")}}
		},
		timing:  map[string][]string{"epochs.csv": {"seconds"}},
		results: map[string][]string{"result.json": {"seconds_this_process"}, "report/summary.json": nil},
		phases: []kill{
			{crash: "checkpoint:1"},
			{crash: "step:1"},
			{crash: "checkpoint:3"},
			{crash: "before-checkpoint:3"},
			{crash: "step:5", again: "checkpoint:1"},
			{crash: "report:1"}, // during the report
			{crash: "finish:1"},
		},
		iterations: 6,
	},
	{
		name: "gaze lca train --per-class --lca-held-out",
		steps: func(out string) []step {
			args := append([]string{"lca", "train"}, synthTrain...)
			args = append(args, "--batch", "32", "--epochs", "2", "--checkpoint-every", "2", "--lca-examples", "0", "--lca-batch", "20",
				"--held-out", "32", "--per-class", "--lca-held-out", "--out", out)
			return []step{{args: args, resume: append(slices.Clone(args), "--resume")}}
		},
		timing:  map[string][]string{"epochs.csv": {"seconds"}},
		results: map[string][]string{"result.json": {"seconds_this_process"}, "report/summary.json": nil},
		phases: []kill{
			{crash: "checkpoint:2"},
			{crash: "before-checkpoint:3"},
			{crash: "report:1"},
		},
		iterations: 4, // 96 − 32 held out = 64 examples: 2 iterations an epoch
	},
	{
		name: "gaze lca train --offline, compute, merge, report",
		steps: func(out string) []step {
			args := append([]string{"lca", "train"}, synthTrain...)
			args = append(args, "--batch", "32", "--epochs", "2", "--checkpoint-every", "2", "--lca-examples", "0", "--lca-batch", "40",
				"--offline", "--save-weights", "--save-lca", "--out", out)
			return []step{
				{args: args, resume: append(slices.Clone(args), "--resume")},
				{args: []string{"lca", "compute", "--iters", "0:4", out}},
				{args: []string{"lca", "compute", "--iters", "4:", out}},
				{args: []string{"lca", "merge", out}},
				{args: []string{"lca", "report", out}},
			}
		},
		timing: map[string][]string{"epochs.csv": {"seconds"}},
		phases: []kill{
			{step: 0, crash: "step:4"},
			{step: 0, crash: "finish:1"},
			{step: 1, crash: "compute:2"},
			{step: 2, crash: "compute:1"},
			{step: 3, crash: "merge:1"},
			{step: 3, crash: "merge-rename:3"},
			{step: 4, crash: "report:1"},
		},
		iterations: 6,
	},
	{
		// Windows of 4 over 9 iterations (the last window 1 long), θ kept every 2, gradients on two
		// CPU instances: checkpoints every 2 iterations fall inside windows, and the run ends with
		// short last rows.
		name: "gaze lca train --lca-every 4 --save-weights-every 2 --devices cpu:2",
		steps: func(out string) []step {
			args := append([]string{"lca", "train"}, synthTrain...)
			args = append(args, "--batch", "32", "--epochs", "3", "--checkpoint-every", "2", "--lca-examples", "0", "--lca-batch", "40",
				"--lca-every", "4", "--save-weights-every", "2", "--save-lca", "--devices", "cpu:2", "--out", out)
			return []step{{args: args, resume: append(slices.Clone(args), "--resume")}}
		},
		timing:  map[string][]string{"epochs.csv": {"seconds"}},
		results: map[string][]string{"result.json": {"seconds_this_process"}, "report/summary.json": nil},
		phases: []kill{
			{crash: "checkpoint:2"},        // iteration 2: inside the first window
			{crash: "before-checkpoint:3"}, // iteration 4: a window's row written, not committed
			{crash: "step:7", again: "checkpoint:1"},
			{crash: "report:1"},
			{crash: "finish:1"},
		},
		iterations: 9,
	},
	{
		name: "gaze lca train --offline --save-weights-every 2, compute --every 4 --part, merge",
		steps: func(out string) []step {
			args := append([]string{"lca", "train"}, synthTrain...)
			args = append(args, "--batch", "32", "--epochs", "3", "--checkpoint-every", "2", "--lca-examples", "0", "--lca-batch", "40",
				"--offline", "--save-weights-every", "2", "--out", out)
			return []step{
				{args: args, resume: append(slices.Clone(args), "--resume")},
				{args: []string{"lca", "compute", "--every", "4", "--part", "0/2", out}},
				{args: []string{"lca", "compute", "--every", "4", "--part", "1/2", out}},
				{args: []string{"lca", "merge", out}},
				{args: []string{"lca", "report", out}},
			}
		},
		timing: map[string][]string{"epochs.csv": {"seconds"}},
		phases: []kill{
			{step: 0, crash: "step:5"},
			{step: 0, crash: "finish:1"},
			{step: 2, crash: "compute:1"},
			{step: 3, crash: "merge-rename:2"},
		},
		iterations: 9,
	},
	{
		name: "gaze coordconv run",
		steps: func(out string) []step {
			// 17 training examples: 2 steps an epoch, 4 a seed.
			args := []string{"coordconv", "run", "--task", "regression", "--split", "quadrant", "--subsample", "150", "--epochs", "2", "--seeds", "2", "--out", out}
			return []step{{args: args, resume: append(slices.Clone(args), "--resume")}}
		},
		timing: map[string][]string{"curves.csv": {"seconds"}, "results.csv": {"time_to_best_s", "wall_s", "epoch_s"}},
		phases: []kill{
			{crash: "step:2"},
			{crash: "checkpoint:2"},
			{crash: "save:1"}, // writing the first seed's results
			{crash: "step:6", again: "save:1"},
			{crash: "finish:1"},
		},
		iterations: 8,
	},
	{
		name: "gaze intdim sweep",
		steps: func(out string) []step {
			return []step{{args: []string{"intdim", "sweep", "--model", "mlp:16-8-2", "--data", "synthetic", "--synthetic", "64x1x4x4", "--classes", "2",
				"--dims", "4,8", "--seeds", "1", "--epochs", "2", "--batch", "16", "--bootstrap", "20", "--out", out}}}
		},
		timing: map[string][]string{"results.csv": {"seconds"}},
		phases: []kill{
			{crash: "step:3"},
			{crash: "checkpoint:2"},
			{crash: "point-saved:1"},
			{crash: "step:13", again: "step:2"},
		},
		iterations: 24,
	},
}

// jobNamed is the job of that name.
func jobNamed(t *testing.T, name string) job {
	for _, j := range jobs {
		if j.name == name {
			return j
		}
	}
	t.Fatalf("no job %q", name)
	return job{}
}

// crashSeed is the seed of the random kill points: GAZE_CRASH_SEED, or a fixed one.
func crashSeed(t *testing.T) uint64 {
	seed := uint64(20)
	if s := os.Getenv("GAZE_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("GAZE_CRASH_SEED=%q", s)
		}
		seed = v
	}
	t.Logf("random kill points from GAZE_CRASH_SEED=%d", seed)
	return seed
}

// Every long command, SIGKILLed at every planned point and at random ones and resumed (killed
// again in some continuations), leaves the CSV and NPY files an uninterrupted run leaves,
// byte for byte but for timing columns.
func TestKilledAndResumedRunsMatch(t *testing.T) {
	seed := crashSeed(t)
	for ji, j := range jobs {
		t.Run(j.name, func(t *testing.T) {
			t.Parallel()
			ref := filepath.Join(t.TempDir(), "ref")
			start := time.Now()
			execute(t, j, ref, nil)
			took := time.Since(start)
			rng := rand.New(rand.NewPCG(seed, uint64(ji)))
			kills := slices.Clone(j.phases)
			for range 2 {
				kills = append(kills, kill{step: j.randomStep, crash: fmt.Sprintf("step:%d", 1+rng.IntN(j.iterations))})
			}
			// A timer knows nothing of phases: anywhere in the first step.
			kills = append(kills, kill{step: j.randomStep, after: time.Duration(rng.Int64N(int64(took)))})
			for _, k := range kills {
				dir := filepath.Join(t.TempDir(), "run")
				execute(t, j, dir, &k)
				sameFiles(t, j, ref, dir, "killed "+k.String())
			}
		})
	}
}
