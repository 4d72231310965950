package jobs_test

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gazeml/gaze/internal/jobs"
	"github.com/gazeml/gaze/internal/jobs/jobstest"
)

var get = jobstest.Get

func TestKubernetesJob(t *testing.T) {
	o := jobs.Defaults("intdim")
	o.Dir, o.DataDir, o.Parallel = "/results/mnist-dense", "/results/data", 8
	o.Args = []string{"intdim", "point", "--dir", o.Dir, "--index", jobs.Index}
	b, err := jobs.KubernetesJob(30, o)
	if err != nil {
		t.Fatal(err)
	}
	job, errs := jobstest.ValidJob(b, 30)
	if len(errs) > 0 {
		sort.Strings(errs)
		t.Errorf("schema violations:\n%s", strings.Join(errs, "\n"))
	}
	spec := get(job, "spec")
	pod := get(spec, "template", "spec")
	c := get(pod, "containers", 0)
	checks := []struct {
		what      string
		got, want any
	}{
		{"parallelism", get(spec, "parallelism"), 8.0},
		{"image", get(c, "image"), "gaze:cuda"},
		{"GPU limit", get(c, "resources", "limits", "nvidia.com/gpu"), "1"},
		{"command", get(c, "command", 0), "gaze"},
		{"volume mount", get(c, "volumeMounts", 0, "mountPath"), "/results"},
		{"mounted volume is the declared one", get(c, "volumeMounts", 0, "name"), get(pod, "volumes", 0, "name")},
		{"claim", get(pod, "volumes", 0, "persistentVolumeClaim", "claimName"), "gaze-results"},
		{"experiment label", get(job, "metadata", "labels", "gaze/experiment"), "intdim"},
		// The image runs as 10001:10001 (Dockerfile.cuda), so the claim must be writable to that group.
		{"fsGroup", get(pod, "securityContext", "fsGroup"), 10001.0},
		{"fsGroupChangePolicy", get(pod, "securityContext", "fsGroupChangePolicy"), "OnRootMismatch"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: %v, want %v", ch.what, ch.got, ch.want)
		}
	}
	if !regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`).MatchString(get(job, "metadata", "name").(string)) {
		t.Errorf("job name %v is not a DNS-1123 label", get(job, "metadata", "name"))
	}
	// Kubernetes expands $(JOB_COMPLETION_INDEX) in the arguments; pod 29 runs index 29.
	if got, want := jobstest.PodArgs(job, 29), []string{"intdim", "point", "--dir", "/results/mnist-dense", "--index", "29"}; !slices.Equal(got, want) {
		t.Errorf("pod 29 runs %q, want %q", got, want)
	}
	if o.Parallel = 100; true {
		b, _ := jobs.KubernetesJob(30, o)
		j, _ := jobstest.ValidJob(b, 30)
		if p := get(j, "spec", "parallelism"); p != 30.0 {
			t.Errorf("parallelism above completions: %v", p)
		}
	}
	o.GPUs = 0
	if b, _ := jobs.KubernetesJob(3, o); strings.Contains(string(b), "nvidia.com/gpu") {
		t.Error("a job without GPUs asks for one")
	}
	o.GPUs, o.Device = 1, "cpu"
	if b, _ := jobs.KubernetesJob(3, o); strings.Contains(string(b), "nvidia.com/gpu") {
		t.Error("a job on the cpu device asks for a GPU")
	}
	if b, _ := jobs.SlurmScript(3, o); strings.Contains(string(b), "--gres") {
		t.Error("a Slurm task on the cpu device asks for a GPU")
	}
	// The checker itself must catch a wrong field.
	job["spec"].(map[string]any)["completion"] = "Indexed"
	if errs := jobstest.CheckSchema("Job", "Job", job); len(errs) != 1 {
		t.Errorf("a misspelt field: %v", errs)
	}
	for _, c := range []struct {
		mut  func(*jobs.Options)
		n    int
		want string
	}{
		{func(o *jobs.Options) { o.Name = "Gaze_Sweep" }, 3, "DNS-1123"},
		{func(o *jobs.Options) { o.Dir = "/elsewhere/x" }, 3, "must lie under the volume's mount point"},
		{func(o *jobs.Options) { o.Parallel = 0 }, 3, "--parallel 0"},
		{func(o *jobs.Options) { o.Args = nil }, 3, "no command"},
		{func(o *jobs.Options) {}, 0, "no tasks"},
	} {
		o := jobs.Defaults("lca")
		o.Dir, o.Args = "/results/s", []string{"lca", "compute"}
		c.mut(&o)
		if _, err := jobs.KubernetesJob(c.n, o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

func TestSlurmScript(t *testing.T) {
	o := jobs.Defaults("lca")
	o.Dir, o.DataDir, o.Parallel = "/scratch/me/run one", "/scratch/data", 4
	o.Args = []string{"lca", "compute", o.Dir, "--part", jobs.Index + "/12", "--data-dir", o.DataDir}
	o.Comment = "one range per task"
	b, err := jobs.SlurmScript(12, o)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	directives, words, err := jobstest.SlurmDirectives(b, 5)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"array": "0-11%4", "gres": "gpu:1", "cpus-per-task": "4", "mem": "16G", "time": "04:00:00", "output": "/scratch/me/run one/logs/%A_%a.out"} {
		if directives[k] != want {
			t.Errorf("#SBATCH --%s=%s, want %s", k, directives[k], want)
		}
	}
	if want := `exec gaze lca compute '/scratch/me/run one' --part "$SLURM_ARRAY_TASK_ID"/12 --data-dir /scratch/data` + "\n"; !strings.HasSuffix(s, want) {
		t.Errorf("script:\n%s\nwant it to end in\n %s", s, want)
	}
	if want := []string{"gaze", "lca", "compute", "/scratch/me/run one", "--part", "5/12", "--data-dir", "/scratch/data"}; !slices.Equal(words, want) {
		t.Errorf("task 5 runs %q, want %q", words, want)
	}
	if !strings.HasPrefix(s, "#!/bin/bash\n") || !strings.Contains(s, "\n# one range per task\n") {
		t.Errorf("no shebang or comment:\n%s", s)
	}
	// The word splitter refuses what it would not split as bash does.
	if _, _, err := jobstest.SlurmDirectives([]byte("exec gaze $X\n"), 0); err == nil {
		t.Error("an unquoted $ passes the splitter")
	}
}
