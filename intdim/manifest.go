package intdim

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/gazeml/gaze/internal/images"
)

// JobOptions describe where and how a sweep's points run as cluster jobs.
type JobOptions struct {
	Name      string // job name (Kubernetes: a DNS-1123 label)
	Image     string // container image with the gaze binary on PATH (default images.CUDA, from make image)
	Parallel  int    // points at once (pods or array tasks)
	Dir       string // the sweep folder as the jobs see it
	DataDir   string // the data folder as the jobs see it
	Device    string // gaze device of the jobs (cuda)
	GPUs      int    // GPUs per point
	PVC       string // Kubernetes: PersistentVolumeClaim holding Dir and DataDir
	Mount     string // Kubernetes: where the claim is mounted
	Namespace string // Kubernetes namespace (empty: the kubectl context's)
	Binary    string // Slurm: the gaze command
	Time      string // Slurm: time limit per point (HH:MM:SS)
	CPUs      int    // CPUs per point
	MemGiB    int    // host memory per point
	Retries   int    // Kubernetes: restarts of a point before it counts as failed
}

// DefaultJobOptions are the defaults of the command line.
func DefaultJobOptions() JobOptions {
	return JobOptions{Name: "gaze-intdim", Image: images.CUDA, Parallel: 8, Device: "cuda", GPUs: 1,
		PVC: "gaze-results", Mount: "/results", Binary: "gaze", Time: "04:00:00", CPUs: 4, MemGiB: 16, Retries: 2}
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func (o JobOptions) check(n int) error {
	switch {
	case n < 1:
		return fmt.Errorf("the sweep has no points")
	case o.Parallel < 1:
		return fmt.Errorf("--parallel %d must be ≥ 1", o.Parallel)
	case o.GPUs < 0 || o.CPUs < 1 || o.MemGiB < 1 || o.Retries < 0:
		return fmt.Errorf("job resources: %d GPUs, %d CPUs, %d GiB, %d retries", o.GPUs, o.CPUs, o.MemGiB, o.Retries)
	case o.Image == "" || o.Dir == "":
		return fmt.Errorf("the job needs an image and a sweep folder")
	}
	return nil
}

// pointArgs is the command a job runs for its point; the index comes from the environment
// (JOB_COMPLETION_INDEX on Kubernetes, SLURM_ARRAY_TASK_ID on Slurm).
func (o JobOptions) pointArgs() []string {
	args := []string{"intdim", "point", "--dir", o.Dir, "--device", o.Device}
	if o.DataDir != "" {
		args = append(args, "--data-dir", o.DataDir)
	}
	return args
}

// The subset of the Kubernetes batch/v1 Job API a sweep needs, with the API's field names.
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

// KubernetesJob returns an Indexed batch/v1 Job running the n points of a sweep, one per pod,
// as JSON (kubectl apply -f takes JSON as well as YAML). Every pod mounts the claim that holds
// the sweep folder, gets opts.GPUs GPUs, and runs gaze intdim point, which reads its index from
// JOB_COMPLETION_INDEX. A pod that fails is retried opts.Retries times for its index only
// (backoffLimitPerIndex, Kubernetes ≥ 1.29); a diverging point is not a pod failure: it is
// recorded as failed and the pod succeeds.
func KubernetesJob(n int, o JobOptions) ([]byte, error) {
	if err := o.check(n); err != nil {
		return nil, err
	}
	if !dnsLabel.MatchString(o.Name) || len(o.Name) > 52 {
		return nil, fmt.Errorf("job name %q must be a DNS-1123 label of at most 52 characters (lower case, digits, -)", o.Name)
	}
	if !path.IsAbs(o.Mount) || !strings.HasPrefix(path.Clean(o.Dir), path.Clean(o.Mount)+"/") {
		return nil, fmt.Errorf("the sweep folder %q must lie under the volume's mount point %q", o.Dir, o.Mount)
	}
	limits := map[string]string{"cpu": fmt.Sprint(o.CPUs), "memory": fmt.Sprintf("%dGi", o.MemGiB)}
	if o.GPUs > 0 {
		limits["nvidia.com/gpu"] = fmt.Sprint(o.GPUs)
	}
	labels := map[string]string{"app.kubernetes.io/name": "gaze", "gaze/experiment": "intdim"}
	job := k8sJob{APIVersion: "batch/v1", Kind: "Job",
		Metadata: k8sMeta{Name: o.Name, Namespace: o.Namespace, Labels: labels},
		Spec: k8sJobSpec{CompletionMode: "Indexed", Completions: n, Parallelism: min(o.Parallel, n), BackoffLimitPerIndex: o.Retries,
			Template: k8sTemplate{Metadata: k8sMeta{Labels: labels}, Spec: k8sPod{RestartPolicy: "Never",
				// gaze's images run as an unprivileged user (images.GID); the claim is made writable
				// to its group, and only re-owned when its top does not already belong to it.
				SecurityContext: k8sPodSecurity{FSGroup: images.GID, FSGroupChangePolicy: "OnRootMismatch"},
				Containers: []k8sContainer{{Name: "point", Image: o.Image, Command: []string{"gaze"}, Args: o.pointArgs(),
					Env:          []k8sEnv{{Name: "GAZE_DATA", Value: o.DataDir}},
					Resources:    k8sResources{Limits: limits, Requests: map[string]string{"cpu": fmt.Sprint(o.CPUs), "memory": fmt.Sprintf("%dGi", o.MemGiB)}},
					VolumeMounts: []k8sMount{{Name: "results", MountPath: o.Mount}}}},
				Volumes: []k8sVolume{{Name: "results", PersistentVolumeClaim: k8sPVCS{ClaimName: o.PVC}}}}}}}
	b, err := json.MarshalIndent(job, "", "  ")
	return append(b, '\n'), err
}

// SlurmScript returns a Slurm job-array script running the n points of a sweep, opts.Parallel at
// a time, one GPU each; gaze intdim point reads its index from SLURM_ARRAY_TASK_ID.
func SlurmScript(n int, o JobOptions) ([]byte, error) {
	if err := o.check(n); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/bash\n")
	fmt.Fprintf(&b, "#SBATCH --job-name=%s\n", o.Name)
	fmt.Fprintf(&b, "#SBATCH --array=0-%d%%%d\n", n-1, min(o.Parallel, n))
	if o.GPUs > 0 {
		fmt.Fprintf(&b, "#SBATCH --gres=gpu:%d\n", o.GPUs)
	}
	fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", o.CPUs)
	fmt.Fprintf(&b, "#SBATCH --mem=%dG\n", o.MemGiB)
	fmt.Fprintf(&b, "#SBATCH --time=%s\n", o.Time)
	fmt.Fprintf(&b, "#SBATCH --output=%s/logs/%%A_%%a.out\n", o.Dir)
	fmt.Fprintf(&b, "# One sweep point per array task; finished points are skipped, so resubmitting is safe.\n")
	fmt.Fprintf(&b, "set -euo pipefail\n")
	args := append([]string{o.Binary}, o.pointArgs()...)
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	fmt.Fprintf(&b, "exec %s --index \"$SLURM_ARRAY_TASK_ID\"\n", strings.Join(args, " "))
	return []byte(b.String()), nil
}

func shellQuote(s string) string {
	if s != "" && regexp.MustCompile(`^[A-Za-z0-9_./:=@%+-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
