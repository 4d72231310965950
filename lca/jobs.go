package lca

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gazeml/gaze/internal/jobs"
)

// PartRange is part k of n of a run of T iterations (or windows): the iterations [⌊k·T/n⌋, ⌊(k+1)·T/n⌋).
// The n parts are contiguous and tile 0:T without gap or overlap, their sizes differ by at most
// one, and the split depends on k, n and T only, so every task of a cluster job computes its
// range without talking to the others.
func PartRange(k, n, T int) (int, int, error) {
	if n < 1 || n > T {
		return 0, 0, fmt.Errorf("--part %d/%d: the run's %d rows split into 1 to %d parts", k, n, T, T)
	}
	if k < 0 || k >= n {
		return 0, 0, fmt.Errorf("--part %d/%d: the part's index runs from 0 to %d", k, n, n-1)
	}
	return k * T / n, (k + 1) * T / n, nil
}

// ParsePart parses "K/N" (part K of N, from 0) into its iterations: with windows of w
// iterations, the run's ⌈T/w⌉ windows are split by PartRange and the part's windows given as
// iterations (the last window, and so the last part, may end short at T).
func ParsePart(s string, T, w int) (int, int, error) {
	ks, ns, ok := strings.Cut(s, "/")
	k, kerr := strconv.Atoi(ks)
	n, nerr := strconv.Atoi(ns)
	if !ok || kerr != nil || nerr != nil {
		return 0, 0, fmt.Errorf("--part %q: want K/N, part K (from 0) of N", s)
	}
	w = every(w)
	a, b, err := PartRange(k, n, (T+w-1)/w)
	if err != nil && w > 1 {
		err = fmt.Errorf("%w (windows of %d iterations)", err, w)
	}
	return a * w, min(b*w, T), err
}

// EmitJobs writes a cluster job computing the LCA of the offline run in dir in n parts, one
// task each (jobs.Emit: dir/job.json, a Kubernetes Indexed Job, or dir/job.sbatch, a Slurm job
// array): task K runs gaze lca compute RUN --part K/n, on the GPUs its pod or array task gets
// (with several, --devices cuda:0,…). After the job, gaze lca merge RUN joins the parts. It
// returns the manifest's path and o as completed.
// With window > 0 the tasks compute windows of that many iterations (gaze lca compute --every).
func EmitJobs(dir, kind string, n, window int, o jobs.Options, dataDir string) (string, jobs.Options, error) {
	meta, err := ReadMeta(dir)
	if err != nil {
		return "", o, err
	}
	k, err := computeWindow(meta, window)
	if err != nil {
		return "", o, err
	}
	if meta.Computed && every(meta.Window) == k {
		return "", o, fmt.Errorf("%s already holds computed LCA", dir)
	}
	if rows := (meta.T + k - 1) / k; n < 1 || n > rows {
		return "", o, fmt.Errorf("--parts %d: the run has %d rows (%d iterations in windows of %d), so 1 to %d parts", n, rows, meta.T, k, rows)
	}
	if err := checkTrajectory(dir, meta); err != nil {
		return "", o, err
	}
	if _, err := checkWeights(dir, meta, 0, meta.T); err != nil {
		return "", o, err
	}
	o.Comment = fmt.Sprintf("Task K computes part K of %d (gaze lca compute --part K/%d); when all are done: gaze lca merge RUN.", n, n)
	return jobs.Emit(kind, dir, dataDir, n, o, func(o jobs.Options) []string {
		args := []string{"lca", "compute", o.Dir, "--part", fmt.Sprintf("%s/%d", jobs.Index, n), "--device", o.Device}
		if k > 1 {
			args = append(args, "--every", strconv.Itoa(k))
		}
		if o.GPUs > 1 && o.Device == "cuda" {
			var devs []string
			for g := range o.GPUs {
				devs = append(devs, fmt.Sprintf("cuda:%d", g))
			}
			args = append(args, "--devices", strings.Join(devs, ","))
		}
		if o.DataDir != "" {
			args = append(args, "--data-dir", o.DataDir)
		}
		return args
	})
}
