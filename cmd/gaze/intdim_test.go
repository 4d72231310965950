package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gazeml/gaze/internal/jobs/jobstest"
)

// A small synthetic sweep end to end: sweep (two points at once), the report's files, then the
// same sweep emitted as a Kubernetes job whose container command, run here through the real
// command line with the index a pod would get, runs its point.
func TestIntdimSweepReportAndJob(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sweep")
	common := []string{"--model", "mlp:64-16-4", "--data", "synthetic", "--synthetic", "200x1x8x8", "--classes", "4",
		"--dims", "5,40", "--seeds", "2", "--proj", "sparse", "--batch", "32", "--epochs", "2", "--lr", "0.01", "--out", dir}
	stdout, stderr, err := gaze(t, append([]string{"intdim", "sweep", "--parallel", "2", "--bootstrap", "100"}, common...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"baseline", "d_int90", "report.svg"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"sweep.json", "results.csv", "summary.json", "report.svg", "report.png", "points/d40-s1.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "report.png")); err != nil || !strings.HasPrefix(string(b), "\x89PNG\r\n") {
		t.Errorf("report.png is not a PNG (%v)", err)
	}
	if out, _, err := gaze(t, "intdim", "points", dir); err != nil || !strings.Contains(out, "   3  d5-s1          ok") {
		t.Errorf("points listing: %v\n%s", err, out)
	}

	// compare: the same sweep twice under two names, flags after the folders.
	plot := filepath.Join(t.TempDir(), "cmp.png")
	out, stderr, err := gaze(t, "intdim", "compare", dir, dir, "--labels", "first,second", "--out", plot, "--bootstrap", "50")
	if err != nil {
		t.Fatalf("compare: %v\n%s", err, stderr)
	}
	for _, want := range []string{"| first | 2 × 2 |", "| second | 2 × 2 |", "| mean test accuracy (min–max) | d = 5 | d = 40 | trained baseline |"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare's tables lack %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(plot); err != nil || !strings.HasPrefix(string(b), "\x89PNG\r\n") {
		t.Errorf("compare's plot is not a PNG (%v)", err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{dir, "--out", "cmp.jpg"}, "written as .png or .svg"},
		{[]string{dir, "--labels", "a,b"}, "--labels gives 2 names for 1 sweep folder(s)"},
		{[]string{dir, t.TempDir()}, "holds no sweep"},
		{nil, "at least one sweep folder"},
	} {
		if _, _, err := gaze(t, append([]string{"intdim", "compare"}, c.args...)...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("compare %v: %v, want %q", c.args, err, c.want)
		}
	}

	// The same command again finds every point done.
	if _, stderr, err := gaze(t, append([]string{"intdim", "sweep"}, common...)...); err != nil || strings.Contains(stderr, "ran ") {
		t.Errorf("rerunning the sweep: %v\n%s", err, stderr)
	}
	// The same folder with another learning rate is another sweep.
	other := withFlag(append([]string{"intdim", "sweep"}, common...), "--lr", "0.02")
	if _, _, err := gaze(t, other...); err == nil || !strings.Contains(err.Error(), "holds another sweep") {
		t.Errorf("mismatched spec: %v", err)
	}

	// Emit the sweep with one more dimension as a Kubernetes job over a "volume" (this temp dir).
	vol := filepath.Dir(dir)
	emit := withFlag(append([]string{"intdim", "sweep", "--emit", "k8s", "--mount", vol, "--job-device", "cpu", "--parallel", "3"}, common...), "--dims", "5,40,60")
	if stdout, stderr, err = gaze(t, emit...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "kubectl apply -f "+filepath.Join(dir, "job.json")) {
		t.Errorf("--emit k8s does not say how to submit the job:\n%s", stdout)
	}
	b, err := os.ReadFile(filepath.Join(dir, "job.json"))
	if err != nil {
		t.Fatal(err)
	}
	job, errs := jobstest.ValidJob(b, 8)
	if len(errs) > 0 {
		t.Errorf("job.json: %s", strings.Join(errs, "\n"))
	}
	// Pod 7 (the last index: d60-s1, a new point) runs its arguments as Kubernetes expands them.
	args := jobstest.PodArgs(job, 7)
	if stdout, stderr, err = gaze(t, args...); err != nil {
		t.Fatalf("the pod's command %v: %v\n%s", args, err, stderr)
	}
	if !strings.Contains(stdout, "point 7 (d60-s1): test accuracy") {
		t.Errorf("pod output: %s", stdout)
	}
	if stdout, _, err = gaze(t, args...); err != nil || !strings.Contains(stdout, "already done") {
		t.Errorf("a retried pod must leave the finished point alone: %v %s", err, stdout)
	}
	if _, _, err = gaze(t, jobstest.PodArgs(job, 8)...); err == nil || !strings.Contains(err.Error(), "outside the sweep's 8 points") {
		t.Errorf("index out of range: %v", err)
	}
	// Without --index, gaze intdim point reads the scheduler's variable.
	t.Setenv("JOB_COMPLETION_INDEX", "7")
	if stdout, _, err = gaze(t, "intdim", "point", "--dir", dir, "--device", "cpu"); err != nil || !strings.Contains(stdout, "already done") {
		t.Errorf("index from $JOB_COMPLETION_INDEX: %v %s", err, stdout)
	}
	if stdout, _, err = gaze(t, "intdim", "collect", dir); err != nil || !strings.Contains(stdout, "7 points done, 1 missing") {
		t.Errorf("collect: %v %s", err, stdout)
	}
	if _, _, err = gaze(t, "intdim", "sweep", "--emit", "slurm", "--dims", "0", "--out", dir); err == nil || !strings.Contains(err.Error(), "--dims 0") {
		t.Errorf("d = 0: %v", err)
	}
}

// withFlag returns args with the value after flag replaced.
func withFlag(args []string, flag, value string) []string {
	out := append([]string(nil), args...)
	for i := range out[:len(out)-1] {
		if out[i] == flag {
			out[i+1] = value
		}
	}
	return out
}

// Every intdim command and flag has help text.
func TestIntdimHelp(t *testing.T) {
	for _, sub := range intdimCommand().Subcommands {
		if sub.Usage == "" {
			t.Errorf("%s has no usage", sub.Name)
		}
		for _, f := range sub.Flags {
			if u, ok := f.(interface{ GetUsage() string }); !ok || u.GetUsage() == "" {
				t.Errorf("%s --%s has no help", sub.Name, f.Names()[0])
			}
		}
	}
}

// The cart-pole row through the command line: --model cartpole brings its environment, the ES
// defaults (recorded in sweep.json) and a report in returns.
func TestIntdimCartPoleSweep(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cartpole")
	stdout, stderr, err := gaze(t, "intdim", "sweep", "--model", "cartpole", "--dims", "3", "--seeds", "1", "--epochs", "3",
		"--batch", "10", "--eval-episodes", "5", "--workers", "2", "--bootstrap", "10", "--out", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "evolution strategies (population 10, σ 0.5") || !strings.Contains(stdout, "mean return over 5 evaluation episodes") {
		t.Errorf("report:\n%s", stdout)
	}
	var spec struct {
		Data string `json:"data"`
		Opt  struct {
			LR float64 `json:"lr"`
		} `json:"optimizer"`
		ES struct {
			Sigma        float64 `json:"sigma"`
			EvalEpisodes int     `json:"eval_episodes"`
		} `json:"es"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "sweep.json"))
	if err != nil || json.Unmarshal(b, &spec) != nil {
		t.Fatalf("sweep.json: %v", err)
	}
	if spec.Data != "cartpole" || spec.Opt.LR != 0.1 || spec.ES.Sigma != 0.5 || spec.ES.EvalEpisodes != 5 {
		t.Errorf("sweep.json: %s", b)
	}
	var res struct {
		Return      float64           `json:"return"`
		TestAcc     float64           `json:"test_acc"`
		Generations []json.RawMessage `json:"generations"`
	}
	b, err = os.ReadFile(filepath.Join(dir, "points", "d3-s0.json"))
	if err != nil || json.Unmarshal(b, &res) != nil {
		t.Fatalf("point: %v", err)
	}
	if res.Return < 1 || res.Return > 500 || res.TestAcc != res.Return/500 || len(res.Generations) != 3 {
		t.Errorf("point d3-s0: %s", b)
	}
}
