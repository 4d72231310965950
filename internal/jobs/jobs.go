// Package jobs writes the cluster jobs of gaze's experiments: a Kubernetes Indexed Job
// (batch/v1) or a Slurm job-array script whose task K runs one gaze command with K in its
// arguments. intdim runs one sweep point per task, lca one range of iterations per task; both
// call this package, so the manifests of the two cannot drift apart.
package jobs

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gazeml/gaze/internal/images"
	"github.com/gazeml/gaze/internal/rundir"
)

// Index stands for the task's index in Options.Args: the emitters replace it with
// $(JOB_COMPLETION_INDEX) in a pod's arguments (Kubernetes expands a container's environment
// variables there, and the Job controller sets that one in every pod of an Indexed Job) and with
// "$SLURM_ARRAY_TASK_ID" in a Slurm task's command line. It may be part of an argument
// ("{index}/8").
const Index = "{index}"

// K8sIndexVar and SlurmIndexVar are the variables the two schedulers put the index in.
const (
	K8sIndexVar   = "JOB_COMPLETION_INDEX"
	SlurmIndexVar = "SLURM_ARRAY_TASK_ID"
)

// Options describe a job of n tasks and where and how its tasks run.
type Options struct {
	Name       string   // job name (Kubernetes: a DNS-1123 label)
	Experiment string   // the experiment, for labels (intdim, lca)
	Comment    string   // Slurm: a line saying what a task does and whether resubmitting is safe
	Args       []string // the gaze command of a task, without the binary, with Index where the index goes
	Image      string   // container image with the gaze binary on PATH (default images.CUDA, from make image)
	Parallel   int      // tasks at once (pods or array tasks)
	Dir        string   // the folder the tasks write, as the jobs see it (Slurm logs go to Dir/logs)
	DataDir    string   // the data folder as the jobs see it
	Device     string   // gaze device of the tasks (cuda)
	GPUs       int      // GPUs per task
	PVC        string   // Kubernetes: PersistentVolumeClaim holding Dir and DataDir
	Mount      string   // Kubernetes: where the claim is mounted
	Namespace  string   // Kubernetes namespace (empty: the kubectl context's)
	Binary     string   // Slurm: the gaze command
	Time       string   // Slurm: time limit per task (HH:MM:SS)
	CPUs       int      // CPUs per task
	MemGiB     int      // host memory per task
	Retries    int      // Kubernetes: restarts of a task before it counts as failed
}

// Defaults are the command line's defaults for an experiment's jobs.
func Defaults(experiment string) Options {
	return Options{Name: "gaze-" + experiment, Experiment: experiment, Image: images.CUDA, Parallel: 8, Device: "cuda", GPUs: 1,
		PVC: "gaze-results", Mount: "/results", Binary: "gaze", Time: "04:00:00", CPUs: 4, MemGiB: 16, Retries: 2}
}

// gpus is the GPUs a task asks for: o.GPUs on a cuda device, none on the cpu device (a task
// that does not use its GPU would only keep it from others).
func (o Options) gpus() int {
	if !strings.HasPrefix(o.Device, "cuda") {
		return 0
	}
	return o.GPUs
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func (o Options) check(n int) error {
	switch {
	case n < 1:
		return fmt.Errorf("the job has no tasks (no points or parts to run)")
	case o.Parallel < 1:
		return fmt.Errorf("--parallel %d must be ≥ 1", o.Parallel)
	case o.GPUs < 0 || o.CPUs < 1 || o.MemGiB < 1 || o.Retries < 0:
		return fmt.Errorf("job resources: %d GPUs, %d CPUs, %d GiB, %d retries", o.GPUs, o.CPUs, o.MemGiB, o.Retries)
	case o.Image == "" || o.Dir == "":
		return fmt.Errorf("the job needs an image and a folder")
	case len(o.Args) == 0:
		return fmt.Errorf("the job has no command")
	}
	return nil
}

// The subset of the Kubernetes batch/v1 Job API the jobs need, with the API's field names.
type (
	k8sJob struct {
		APIVersion string     `json:"apiVersion"`
		Kind       string     `json:"kind"`
		Metadata   k8sMeta    `json:"metadata"`
		Spec       k8sJobSpec `json:"spec"`
	}
	k8sMeta struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace,omitempty"`
		Labels    map[string]string `json:"labels,omitempty"`
	}
	k8sJobSpec struct {
		CompletionMode       string      `json:"completionMode"`
		Completions          int         `json:"completions"`
		Parallelism          int         `json:"parallelism"`
		BackoffLimitPerIndex int         `json:"backoffLimitPerIndex"`
		Template             k8sTemplate `json:"template"`
	}
	k8sTemplate struct {
		Metadata k8sMeta `json:"metadata"`
		Spec     k8sPod  `json:"spec"`
	}
	k8sPod struct {
		RestartPolicy   string         `json:"restartPolicy"`
		SecurityContext k8sPodSecurity `json:"securityContext"`
		Containers      []k8sContainer `json:"containers"`
		Volumes         []k8sVolume    `json:"volumes"`
	}
	k8sPodSecurity struct {
		FSGroup             int64  `json:"fsGroup"`
		FSGroupChangePolicy string `json:"fsGroupChangePolicy"`
	}
	k8sContainer struct {
		Name         string       `json:"name"`
		Image        string       `json:"image"`
		Command      []string     `json:"command"`
		Args         []string     `json:"args"`
		Env          []k8sEnv     `json:"env,omitempty"`
		Resources    k8sResources `json:"resources"`
		VolumeMounts []k8sMount   `json:"volumeMounts"`
	}
	k8sEnv struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	k8sResources struct {
		Limits   map[string]string `json:"limits"`
		Requests map[string]string `json:"requests,omitempty"`
	}
	k8sMount struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
	}
	k8sVolume struct {
		Name                  string  `json:"name"`
		PersistentVolumeClaim k8sPVCS `json:"persistentVolumeClaim"`
	}
	k8sPVCS struct {
		ClaimName string `json:"claimName"`
	}
)

// KubernetesJob returns an Indexed batch/v1 Job of n tasks, one per pod, as JSON (kubectl
// apply -f takes JSON as well as YAML). Every pod mounts the claim that holds the folder, gets
// o.GPUs GPUs (nvidia.com/gpu limits) when its device is cuda and runs gaze with o.Args, its index in place of Index. A
// pod that fails is retried o.Retries times for its index only (backoffLimitPerIndex,
// Kubernetes ≥ 1.29).
func KubernetesJob(n int, o Options) ([]byte, error) {
	if err := o.check(n); err != nil {
		return nil, err
	}
	if !dnsLabel.MatchString(o.Name) || len(o.Name) > 52 {
		return nil, fmt.Errorf("job name %q must be a DNS-1123 label of at most 52 characters (lower case, digits, -)", o.Name)
	}
	if !path.IsAbs(o.Mount) || !strings.HasPrefix(path.Clean(o.Dir), path.Clean(o.Mount)+"/") {
		return nil, fmt.Errorf("the folder %q must lie under the volume's mount point %q", o.Dir, o.Mount)
	}
	limits := map[string]string{"cpu": fmt.Sprint(o.CPUs), "memory": fmt.Sprintf("%dGi", o.MemGiB)}
	if o.gpus() > 0 {
		limits["nvidia.com/gpu"] = fmt.Sprint(o.gpus())
	}
	args := make([]string, len(o.Args))
	for i, a := range o.Args {
		args[i] = strings.ReplaceAll(a, Index, "$("+K8sIndexVar+")")
	}
	labels := map[string]string{"app.kubernetes.io/name": "gaze", "gaze/experiment": o.Experiment}
	job := k8sJob{APIVersion: "batch/v1", Kind: "Job",
		Metadata: k8sMeta{Name: o.Name, Namespace: o.Namespace, Labels: labels},
		Spec: k8sJobSpec{CompletionMode: "Indexed", Completions: n, Parallelism: min(o.Parallel, n), BackoffLimitPerIndex: o.Retries,
			Template: k8sTemplate{Metadata: k8sMeta{Labels: labels}, Spec: k8sPod{RestartPolicy: "Never",
				// gaze's images run as an unprivileged user (images.GID); the claim is made writable
				// to its group, and only re-owned when its top does not already belong to it.
				SecurityContext: k8sPodSecurity{FSGroup: images.GID, FSGroupChangePolicy: "OnRootMismatch"},
				Containers: []k8sContainer{{Name: "task", Image: o.Image, Command: []string{"gaze"}, Args: args,
					Env:          []k8sEnv{{Name: "GAZE_DATA", Value: o.DataDir}},
					Resources:    k8sResources{Limits: limits, Requests: map[string]string{"cpu": fmt.Sprint(o.CPUs), "memory": fmt.Sprintf("%dGi", o.MemGiB)}},
					VolumeMounts: []k8sMount{{Name: "results", MountPath: o.Mount}}}},
				Volumes: []k8sVolume{{Name: "results", PersistentVolumeClaim: k8sPVCS{ClaimName: o.PVC}}}}}}}
	b, err := json.MarshalIndent(job, "", "  ")
	return append(b, '\n'), err
}

// SlurmScript returns a Slurm job-array script of n tasks (--array=0-(n−1)), o.Parallel at a
// time, o.GPUs GPUs each; task K runs gaze with o.Args, K in place of Index.
func SlurmScript(n int, o Options) ([]byte, error) {
	if err := o.check(n); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/bash\n")
	fmt.Fprintf(&b, "#SBATCH --job-name=%s\n", o.Name)
	fmt.Fprintf(&b, "#SBATCH --array=0-%d%%%d\n", n-1, min(o.Parallel, n))
	if o.gpus() > 0 {
		fmt.Fprintf(&b, "#SBATCH --gres=gpu:%d\n", o.gpus())
	}
	fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", o.CPUs)
	fmt.Fprintf(&b, "#SBATCH --mem=%dG\n", o.MemGiB)
	fmt.Fprintf(&b, "#SBATCH --time=%s\n", o.Time)
	fmt.Fprintf(&b, "#SBATCH --output=%s/logs/%%A_%%a.out\n", o.Dir)
	if o.Comment != "" {
		fmt.Fprintf(&b, "# %s\n", o.Comment)
	}
	fmt.Fprintf(&b, "set -euo pipefail\n")
	words := []string{shellQuote(o.Binary)}
	for _, a := range o.Args {
		parts := strings.Split(a, Index)
		for i, p := range parts {
			if p != "" || len(parts) == 1 {
				parts[i] = shellQuote(p)
			}
		}
		words = append(words, strings.Join(parts, `"$`+SlurmIndexVar+`"`))
	}
	fmt.Fprintf(&b, "exec %s\n", strings.Join(words, " "))
	return []byte(b.String()), nil
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+-]+$`)

func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Emit writes the manifest of a job of n tasks into the local folder dir: kind k8s
// (dir/job.json, an Indexed Job) or slurm (dir/job.sbatch, a job array, with dir/logs for its
// output). Unset o.Dir and o.DataDir default to the claim's mount (k8s: <mount>/<name of dir>
// and <mount>/data) or to the absolute local paths dir and dataDir (slurm). o.Args is args(o),
// the task's command for the completed options. It returns the manifest's path and o as
// completed.
func Emit(kind, dir, dataDir string, n int, o Options, args func(Options) []string) (string, Options, error) {
	var file string
	switch kind {
	case "k8s":
		if o.Dir == "" {
			o.Dir = path.Join(o.Mount, filepath.Base(filepath.Clean(dir)))
		}
		if o.DataDir == "" {
			o.DataDir = path.Join(o.Mount, "data")
		}
		file = filepath.Join(dir, "job.json")
	case "slurm":
		if o.Dir == "" {
			o.Dir, _ = filepath.Abs(dir)
		}
		if o.DataDir == "" && dataDir != "" {
			o.DataDir, _ = filepath.Abs(dataDir)
		}
		file = filepath.Join(dir, "job.sbatch")
	default:
		return "", o, fmt.Errorf("--emit %q: want k8s or slurm", kind)
	}
	o.Args = args(o)
	var manifest []byte
	var err error
	if kind == "k8s" {
		manifest, err = KubernetesJob(n, o)
	} else {
		manifest, err = SlurmScript(n, o)
	}
	if err != nil {
		return "", o, err
	}
	if kind == "slurm" {
		if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
			return "", o, err
		}
	}
	return file, o, rundir.WriteFileAtomic(file, manifest)
}
