package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gazeml/gaze/internal/jobs/jobstest"
)

// An offline run's LCA as a cluster job: the emitted Kubernetes Job and Slurm script validate,
// their tasks' command lines (as the schedulers expand them) replayed through the real CLI
// compute ranges that tile the run, and merge then writes the bytes of the online run.
func TestLCAJobsReplayEqualsOnline(t *testing.T) {
	online := filepath.Join(t.TempDir(), "online")
	if _, se, err := gaze(t, lcaArgs(online, "--no-report")...); err != nil {
		t.Fatal(err, se)
	}
	vol := t.TempDir() // the claim's mount, here a local folder
	for _, c := range []struct {
		kind  string
		parts int
	}{{"k8s", 4}, {"slurm", 3}} {
		off := filepath.Join(vol, "off-"+c.kind)
		if _, se, err := gaze(t, lcaArgs(off, "--offline", "--save-weights")...); err != nil {
			t.Fatal(err, se)
		}
		stdout, se, err := gaze(t, "lca", "compute", off, "--emit", c.kind, "--parts", fmt.Sprint(c.parts), "--mount", vol, "--job-device", "cpu")
		if err != nil {
			t.Fatal(err, se)
		}
		var tasks [][]string
		if c.kind == "k8s" {
			if !strings.Contains(stdout, "kubectl apply -f "+filepath.Join(off, "job.json")) || !strings.Contains(stdout, "gaze lca merge") {
				t.Errorf("--emit k8s does not say how to submit and merge:\n%s", stdout)
			}
			b, err := os.ReadFile(filepath.Join(off, "job.json"))
			if err != nil {
				t.Fatal(err)
			}
			job, errs := jobstest.ValidJob(b, c.parts)
			if len(errs) > 0 {
				t.Errorf("job.json:\n%s", strings.Join(errs, "\n"))
			}
			if g := jobstest.Get(job, "spec", "template", "spec", "containers", 0, "resources", "limits", "nvidia.com/gpu"); g != nil {
				t.Errorf("a job on the cpu device asks for %v GPUs", g)
			}
			for k := range c.parts {
				tasks = append(tasks, jobstest.PodArgs(job, k))
			}
		} else {
			b, err := os.ReadFile(filepath.Join(off, "job.sbatch"))
			if err != nil {
				t.Fatal(err)
			}
			for k := range c.parts {
				dir, words, err := jobstest.SlurmDirectives(b, k)
				if err != nil {
					t.Fatal(err)
				}
				if dir["array"] != fmt.Sprintf("0-%d%%%d", c.parts-1, c.parts) || words[0] != "gaze" {
					t.Errorf("job.sbatch: --array=%s, command %q", dir["array"], words)
				}
				tasks = append(tasks, words[1:])
			}
		}
		for k, args := range tasks {
			if !strings.Contains(strings.Join(args, " "), fmt.Sprintf("--part %d/%d", k, c.parts)) {
				t.Errorf("task %d runs %q", k, args)
			}
			if _, se, err := gaze(t, args...); err != nil {
				t.Fatalf("task %d: %v: %v\n%s", k, args, err, se)
			}
		}
		// Merge accepts the parts only if they tile the run's six iterations.
		if _, se, err := gaze(t, "lca", "merge", off); err != nil {
			t.Fatal(err, se)
		}
		sameAsOnlineLCA(t, online, off, c.kind)
	}
	off := filepath.Join(vol, "off-k8s")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lca", "compute", off, "--emit", "k8s", "--parts", "2", "--mount", vol}, "already holds computed LCA"},
		{[]string{"lca", "compute", online, "--emit", "slurm", "--parts", "2"}, "already holds computed LCA"},
		{[]string{"lca", "compute", filepath.Join(vol, "off-slurm"), "--part", "0/2", "--iters", "0:3"}, "give one"},
		{[]string{"lca", "compute", filepath.Join(vol, "off-slurm"), "--part", "2/2"}, "from 0 to 1"},
	} {
		if _, _, err := gaze(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("gaze %s: %v, want %q", strings.Join(c.args, " "), err, c.want)
		}
	}
	fresh := filepath.Join(vol, "fresh")
	if _, se, err := gaze(t, lcaArgs(fresh, "--offline", "--save-weights")...); err != nil {
		t.Fatal(err, se)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--emit", "k8s", "--parts", "7", "--mount", vol}, "1 to 6 parts"},
		{[]string{"--emit", "k8s", "--parts", "2", "--remote-dir", "/elsewhere/fresh"}, "must lie under the volume's mount point"},
		{[]string{"--emit", "pbs", "--parts", "2"}, "want k8s or slurm"},
	} {
		if _, _, err := gaze(t, append([]string{"lca", "compute", fresh}, c.args...)...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", strings.Join(c.args, " "), err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(fresh, "job.json")); err == nil {
		t.Error("a refused job left job.json behind")
	}
}
