// Package jobstest checks the manifests package jobs writes: against the fields of the
// Kubernetes batch/v1 Job schema, and by recovering the command line each task runs, as the
// scheduler would expand it, so that tests can replay it through the real CLI.
package jobstest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/gazeml/gaze/internal/jobs"
)

// k8sSchema is the part of the Kubernetes batch/v1 Job OpenAPI schema (io.k8s.api.batch.v1.Job
// and the core/v1 types it embeds, as of Kubernetes 1.31) that the jobs' manifests touch: for
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

// CheckSchema validates v (decoded JSON) against type typ of k8sSchema.
func CheckSchema(path, typ string, v any) []string {
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
			errs = append(errs, CheckSchema(fmt.Sprintf("%s[%d]", path, i), typ[2:], e)...)
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
			errs = append(errs, CheckSchema(path+"."+k, ft, e)...)
		}
	}
	return errs
}

// Get walks decoded JSON along path (object keys and array indices); nil where it leads nowhere.
func Get(v any, path ...any) any {
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

// ValidJob decodes a Kubernetes manifest and checks it against the schema and the shape of an
// Indexed Job of n completions; it returns the decoded Job and the problems found.
func ValidJob(manifest []byte, n int) (map[string]any, []string) {
	var job map[string]any
	if err := json.Unmarshal(manifest, &job); err != nil {
		return nil, []string{fmt.Sprintf("the manifest is not JSON: %v", err)}
	}
	errs := CheckSchema("Job", "Job", job)
	spec := Get(job, "spec")
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"apiVersion", Get(job, "apiVersion"), "batch/v1"},
		{"kind", Get(job, "kind"), "Job"},
		{"completionMode", Get(spec, "completionMode"), "Indexed"},
		{"completions", Get(spec, "completions"), float64(n)},
		{"restartPolicy (Indexed Jobs retry by recreating pods)", Get(spec, "template", "spec", "restartPolicy"), "Never"},
	} {
		if c.got != c.want {
			errs = append(errs, fmt.Sprintf("%s: %v, want %v", c.what, c.got, c.want))
		}
	}
	if ps, ok := Get(spec, "template", "spec", "containers").([]any); !ok || len(ps) != 1 {
		errs = append(errs, "want one container")
	}
	return job, errs
}

// PodArgs is the gaze command line (without the binary) that pod k of a decoded Job runs:
// the container's arguments with $(JOB_COMPLETION_INDEX) expanded as Kubernetes expands it.
func PodArgs(job map[string]any, k int) []string {
	var args []string
	raw, _ := Get(job, "spec", "template", "spec", "containers", 0, "args").([]any)
	for _, a := range raw {
		s, _ := a.(string)
		args = append(args, strings.ReplaceAll(s, "$("+jobs.K8sIndexVar+")", strconv.Itoa(k)))
	}
	return args
}

// SlurmDirectives returns a Slurm script's #SBATCH options by name and the words of its exec
// line for array task k, split and unquoted as bash does for the quoting the script uses
// (bare words, '…', "…" with $SLURM_ARRAY_TASK_ID), the binary first.
func SlurmDirectives(script []byte, k int) (map[string]string, []string, error) {
	directives := map[string]string{}
	var words []string
	found := false
	for _, line := range strings.Split(string(script), "\n") {
		if rest, ok := strings.CutPrefix(line, "#SBATCH --"); ok {
			key, v, _ := strings.Cut(rest, "=")
			directives[key] = v
		}
		if rest, ok := strings.CutPrefix(line, "exec "); ok {
			var err error
			if words, err = shellWords(rest, map[string]string{jobs.SlurmIndexVar: strconv.Itoa(k)}); err != nil {
				return nil, nil, err
			}
			found = true
		}
	}
	if !found {
		return nil, nil, fmt.Errorf("no exec line in the script")
	}
	return directives, words, nil
}

// shellWords splits a command line as bash would, for bare words, single quotes and double
// quotes holding $NAME references to env (an unknown name is an error).
func shellWords(s string, env map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in := false
	expand := func(rest string) (string, int, error) {
		n := 0
		for n < len(rest) && (rest[n] == '_' || rest[n] >= 'A' && rest[n] <= 'Z' || rest[n] >= 'a' && rest[n] <= 'z' || rest[n] >= '0' && rest[n] <= '9') {
			n++
		}
		v, ok := env[rest[:n]]
		if !ok {
			return "", 0, fmt.Errorf("$%s is not set", rest[:n])
		}
		return v, n, nil
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			in = true
		case '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("unterminated \" in %q", s)
			}
			q := s[i+1 : i+1+j]
			for p := 0; p < len(q); p++ {
				if q[p] == '$' {
					v, n, err := expand(q[p+1:])
					if err != nil {
						return nil, err
					}
					cur.WriteString(v)
					p += n
					continue
				}
				cur.WriteByte(q[p])
			}
			i += j + 1
			in = true
		case '$', '`', '\\', ';', '&', '|', '<', '>', '(', ')', '*', '?':
			return nil, fmt.Errorf("unquoted %q in %q: the script must quote it", c, s)
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}
