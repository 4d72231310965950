package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/internal/jobs"
)

// jobFlags are the flags of a command that emits cluster jobs (with --emit), the same for every
// experiment: def gives the defaults, task names what one task runs ("point", "part") and
// folder the folder the tasks write ("sweep", "run").
func jobFlags(def jobs.Options, task, folder string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "image", Value: def.Image, Usage: "with --emit k8s: container image with gaze on PATH (make image builds " + def.Image + " from Dockerfile.cuda; push it to a registry the cluster pulls from)"},
		&cli.StringFlag{Name: "job-name", Value: def.Name, Usage: "with --emit: job name"},
		&cli.StringFlag{Name: "job-device", Value: def.Device, Usage: "with --emit: device of the jobs"},
		&cli.StringFlag{Name: "remote-dir", Usage: "with --emit: the " + folder + " folder as the jobs see it (default: <mount>/<its name> for k8s, made absolute for slurm)"},
		&cli.StringFlag{Name: "remote-data-dir", Usage: "with --emit: the data folder as the jobs see it (default: <mount>/data for k8s, --data-dir made absolute for slurm)"},
		&cli.StringFlag{Name: "pvc", Value: def.PVC, Usage: "with --emit k8s: PersistentVolumeClaim holding the " + folder + " and data folders"},
		&cli.StringFlag{Name: "mount", Value: def.Mount, Usage: "with --emit k8s: where the claim is mounted in the pods"},
		&cli.StringFlag{Name: "namespace", Usage: "with --emit k8s: namespace (default: kubectl's)"},
		&cli.IntFlag{Name: "gpus", Value: def.GPUs, Usage: "with --emit: GPUs per " + task + " when --job-device is cuda (nvidia.com/gpu limit, Slurm --gres)"},
		&cli.IntFlag{Name: "cpus", Value: def.CPUs, Usage: "with --emit: CPUs per " + task},
		&cli.IntFlag{Name: "mem-gb", Value: def.MemGiB, Usage: "with --emit: host memory per " + task + " (GiB)"},
		&cli.StringFlag{Name: "time", Value: def.Time, Usage: "with --emit slurm: time limit per " + task},
		&cli.IntFlag{Name: "retries", Value: def.Retries, Usage: "with --emit k8s: pod retries per index"},
		&cli.StringFlag{Name: "gaze-bin", Value: def.Binary, Usage: "with --emit slurm: the gaze command on the cluster"},
	}
}

// jobOptions reads jobFlags into def.
func jobOptions(c *cli.Context, def jobs.Options) jobs.Options {
	o := def
	o.Name, o.Image, o.Device = c.String("job-name"), c.String("image"), c.String("job-device")
	o.GPUs, o.CPUs, o.MemGiB = c.Int("gpus"), c.Int("cpus"), c.Int("mem-gb")
	o.PVC, o.Mount, o.Namespace, o.Time, o.Retries, o.Binary = c.String("pvc"), c.String("mount"), c.String("namespace"), c.String("time"), c.Int("retries"), c.String("gaze-bin")
	o.Dir, o.DataDir = c.String("remote-dir"), c.String("remote-data-dir")
	return o
}

// printJobSteps tells the user what an emitted job file holds and what to do with it: copy the
// folder to the claim and apply (k8s) or submit (slurm), then run next when every task is done.
func printJobSteps(c *cli.Context, file, what string, n int, emit, dir string, o jobs.Options, next string) {
	fmt.Fprintf(c.App.Writer, "%s: %s (indices 0-%d) as one %s job\n", file, what, n-1, emit)
	if emit == "k8s" {
		fmt.Fprintf(c.App.Writer, "copy %s to %s on the claim %s (and the data to %s), then: kubectl apply -f %s\nwhen done: %s\n", dir, o.Dir, o.PVC, o.DataDir, file, next)
	} else {
		fmt.Fprintf(c.App.Writer, "sbatch %s\nwhen done: %s\n", file, next)
	}
}
