package intdim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// k8sSchema is the part of the Kubernetes batch/v1 Job OpenAPI schema (io.k8s.api.batch.v1.Job
// and the core/v1 types it embeds, as of Kubernetes 1.31) that a sweep's manifest touches: for
// each object, the fields it may have and their types. Unknown fields are rejected by
// kubectl --validate=strict, so the manifest must use no other.
var k8sSchema = map[string]map[string]string{
	"Job":        {"apiVersion": "string", "kind": "string", "metadata": "ObjectMeta", "spec": "JobSpec", "status": "object"},
	"ObjectMeta": {"name": "string", "namespace": "string", "labels": "map[string]string", "annotations": "map[string]string", "generateName": "string"},
	"JobSpec": {"activeDeadlineSeconds": "integer", "backoffLimit": "integer", "backoffLimitPerIndex": "integer", "completionMode": "string",
		"completions": "integer", "managedBy": "string", "manualSelector": "boolean", "maxFailedIndexes": "integer", "parallelism": "integer",
		"podFailurePolicy": "object", "podReplacementPolicy": "string", "selector": "object", "successPolicy": "object", "suspend": "boolean",
		"template": "PodTemplateSpec", "ttlSecondsAfterFinished": "integer"},
	"PodTemplateSpec": {"metadata": "ObjectMeta", "spec": "PodSpec"},
	"PodSpec": {"containers": "[]Container", "restartPolicy": "string", "volumes": "[]Volume", "nodeSelector": "map[string]string",
		"tolerations": "[]object", "serviceAccountName": "string", "initContainers": "[]Container", "affinity": "object",
		"securityContext": "PodSecurityContext"},
	"PodSecurityContext": {"fsGroup": "integer", "fsGroupChangePolicy": "string", "runAsUser": "integer", "runAsGroup": "integer",
		"runAsNonRoot": "boolean", "supplementalGroups": "[]integer", "seccompProfile": "object"},
	"Container": {"name": "string", "image": "string", "command": "[]string", "args": "[]string", "env": "[]EnvVar",
		"resources": "ResourceRequirements", "volumeMounts": "[]VolumeMount", "workingDir": "string", "imagePullPolicy": "string"},
	"EnvVar":                            {"name": "string", "value": "string", "valueFrom": "object"},
	"ResourceRequirements":              {"limits": "map[string]string", "requests": "map[string]string", "claims": "[]object"},
	"VolumeMount":                       {"name": "string", "mountPath": "string", "readOnly": "boolean", "subPath": "string"},
	"Volume":                            {"name": "string", "persistentVolumeClaim": "PersistentVolumeClaimVolumeSource", "emptyDir": "object", "hostPath": "object"},
	"PersistentVolumeClaimVolumeSource": {"claimName": "string", "readOnly": "boolean"},
}

// checkSchema validates v (decoded JSON) against type typ of k8sSchema.
func checkSchema(path, typ string, v any) []string {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, a...)) }
	switch {
	case strings.HasPrefix(typ, "[]"):
		arr, ok := v.([]any)
		if !ok {
			bad("want an array, got %T", v)
			break
		}
		for i, e := range arr {
			errs = append(errs, checkSchema(fmt.Sprintf("%s[%d]", path, i), typ[2:], e)...)
		}
	case typ == "map[string]string":
		m, ok := v.(map[string]any)
		if !ok {
			bad("want an object, got %T", v)
			break
		}
		for k, e := range m {
			if _, ok := e.(string); !ok {
				bad("%s: quantities and labels are strings, got %T", k, e)
			}
		}
	case typ == "string":
		if _, ok := v.(string); !ok {
			bad("want a string, got %T", v)
		}
	case typ == "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			bad("want an integer, got %v", v)
		}
	case typ == "boolean":
		if _, ok := v.(bool); !ok {
			bad("want a boolean, got %T", v)
		}
	case typ == "object":
		if _, ok := v.(map[string]any); !ok {
			bad("want an object, got %T", v)
		}
	default:
		fields := k8sSchema[typ]
		m, ok := v.(map[string]any)
		if !ok {
			bad("want a %s object, got %T", typ, v)
			break
		}
		for k, e := range m {
			ft, ok := fields[k]
			if !ok {
				bad("unknown field %q in %s", k, typ)
				continue
			}
			errs = append(errs, checkSchema(path+"."+k, ft, e)...)
		}
	}
	return errs
}

func get(v any, path ...any) any {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[p]
		case int:
			a, _ := v.([]any)
			if p >= len(a) {
				return nil
			}
			v = a[p]
		}
	}
	return v
}

func TestKubernetesJob(t *testing.T) {
	o := DefaultJobOptions()
	o.Dir, o.DataDir, o.Parallel = "/results/mnist-dense", "/results/data", 8
	b, err := KubernetesJob(30, o)
	if err != nil {
		t.Fatal(err)
	}
	var job map[string]any
	if err := json.Unmarshal(b, &job); err != nil {
		t.Fatalf("the manifest is not JSON: %v", err)
	}
	if errs := checkSchema("Job", "Job", job); len(errs) > 0 {
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
		{"apiVersion", get(job, "apiVersion"), "batch/v1"},
		{"kind", get(job, "kind"), "Job"},
		{"completionMode", get(spec, "completionMode"), "Indexed"},
		{"completions (one per point)", get(spec, "completions"), 30.0},
		{"parallelism", get(spec, "parallelism"), 8.0},
		{"restartPolicy (Indexed Jobs retry by recreating pods)", get(pod, "restartPolicy"), "Never"},
		{"image", get(c, "image"), "gaze:cuda"},
		{"GPU limit", get(c, "resources", "limits", "nvidia.com/gpu"), "1"},
		{"command", get(c, "command", 0), "gaze"},
		{"volume mount", get(c, "volumeMounts", 0, "mountPath"), "/results"},
		{"mounted volume is the declared one", get(c, "volumeMounts", 0, "name"), get(pod, "volumes", 0, "name")},
		{"claim", get(pod, "volumes", 0, "persistentVolumeClaim", "claimName"), "gaze-results"},
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
	args, _ := json.Marshal(get(c, "args"))
	if want := `["intdim","point","--dir","/results/mnist-dense","--device","cuda","--data-dir","/results/data"]`; string(args) != want {
		t.Errorf("args %s, want %s (the index comes from JOB_COMPLETION_INDEX)", args, want)
	}
	if o.Parallel = 100; true {
		b, _ := KubernetesJob(30, o)
		var j map[string]any
		json.Unmarshal(b, &j)
		if p := get(j, "spec", "parallelism"); p != 30.0 {
			t.Errorf("parallelism above completions: %v", p)
		}
	}
	// The checker itself must catch a wrong field.
	job["spec"].(map[string]any)["completion"] = "Indexed"
	if errs := checkSchema("Job", "Job", job); len(errs) != 1 {
		t.Errorf("a misspelt field: %v", errs)
	}
	for _, c := range []struct {
		mut  func(*JobOptions)
		n    int
		want string
	}{
		{func(o *JobOptions) { o.Name = "Gaze_Sweep" }, 3, "DNS-1123"},
		{func(o *JobOptions) { o.Dir = "/elsewhere/x" }, 3, "must lie under the volume's mount point"},
		{func(o *JobOptions) { o.Parallel = 0 }, 3, "--parallel 0"},
		{func(o *JobOptions) {}, 0, "no points"},
	} {
		o := DefaultJobOptions()
		o.Dir = "/results/s"
		c.mut(&o)
		if _, err := KubernetesJob(c.n, o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

func TestSlurmScript(t *testing.T) {
	o := DefaultJobOptions()
	o.Dir, o.DataDir, o.Parallel = "/scratch/me/sweep one", "/scratch/data", 4
	b, err := SlurmScript(12, o)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	directives := map[string]string{}
	var cmd string
	for _, line := range strings.Split(s, "\n") {
		if rest, ok := strings.CutPrefix(line, "#SBATCH --"); ok {
			k, v, _ := strings.Cut(rest, "=")
			directives[k] = v
		}
		if rest, ok := strings.CutPrefix(line, "exec "); ok {
			cmd = rest
		}
	}
	for k, want := range map[string]string{"array": "0-11%4", "gres": "gpu:1", "cpus-per-task": "4", "mem": "16G", "time": "04:00:00", "output": "/scratch/me/sweep one/logs/%A_%a.out"} {
		if directives[k] != want {
			t.Errorf("#SBATCH --%s=%s, want %s", k, directives[k], want)
		}
	}
	if want := `gaze intdim point --dir '/scratch/me/sweep one' --device cuda --data-dir /scratch/data --index "$SLURM_ARRAY_TASK_ID"`; cmd != want {
		t.Errorf("command:\n %s\nwant\n %s", cmd, want)
	}
	if !strings.HasPrefix(s, "#!/bin/bash\n") {
		t.Error("no shebang")
	}
}
