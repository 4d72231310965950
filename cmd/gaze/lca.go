package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/internal/jobs"
	"github.com/gazeml/gaze/internal/rundir"
	"github.com/gazeml/gaze/lca"
)

func lcaFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "lca-examples", Value: 10000, Usage: "size of the LCA set: a fixed seeded random subset of the training split (0: the whole split)"},
		&cli.Uint64Flag{Name: "lca-seed", Usage: "seed of the LCA subset"},
		&cli.IntFlag{Name: "lca-batch", Value: 2500, Usage: "examples per chunk of the full-set gradient"},
		&cli.Float64Flag{Name: "error-threshold", Value: 1e-3, Usage: "double Simpson's n while |ΔL − ΣLCA| exceeds this"},
		&cli.IntFlag{Name: "max-n", Value: 32, Usage: "largest number of Simpson sub-intervals (a power of two)"},
		&cli.BoolFlag{Name: "first-order", Usage: "use ḡ = g(θ_t) instead of Simpson (for comparison)"},
		&cli.BoolFlag{Name: "include-l2", Usage: "allocate the loss including the L2 term"},
		&cli.BoolFlag{Name: "bn-running-stats", Usage: "batch norm uses running statistics in the LCA gradients (default: each chunk's batch statistics)"},
		&cli.BoolFlag{Name: "per-class", Usage: "also allocate each class's loss (L = Σ_c (n_c/n)·L_c): lca_class_layers.npy, helped_class_layers.npy, losses_class.csv; chunks never mix classes"},
		&cli.BoolFlag{Name: "lca-held-out", Usage: "also allocate the loss over the held-out split (needs --held-out N), into held_out/; Simpson's n doubles while either split's error is above the threshold"},
		devicesFlag,
		&cli.BoolFlag{Name: "save-lca", Usage: "also write lca.npy, the T × D per-parameter LCA (float32)"},
		&cli.BoolFlag{Name: "save-weights", Usage: "also write weights.npy, the (T+1) × D trajectory (float32), for offline LCA"},
		&cli.IntFlag{Name: "lca-every", Usage: "window LCA: allocate the loss change of every K iterations (θ_t to θ_{t+K} along the straight chord) instead of every one; two full-set gradients per window instead of per iteration (0 or 1: per iteration)"},
		&cli.IntFlag{Name: "save-weights-every", Usage: "keep every K-th θ in weights.npy (implies --save-weights), for offline window LCA with gaze lca compute --every (a multiple of K)"},
		&cli.BoolFlag{Name: "offline", Usage: "train and save the trajectory only (with --save-weights); compute LCA later with `gaze lca compute`"},
		&cli.BoolFlag{Name: "no-report", Usage: "do not write the report at the end"},
		maxDiskFlag(),
	}
}

// maxDiskFlag is --max-disk of lca train and compute.
func maxDiskFlag() cli.Flag {
	return &sizeFlag{cli.StringFlag{Name: "max-disk", Usage: "refuse to start when the folder would hold more than SIZE (20GiB, 500MB, …) at its fullest; the plan printed before the run says what it holds, and the refusal names the flags that would make it fit"}}
}

// devicesFlag is the devices of the full-set gradients, for lca train and compute.
var devicesFlag = &cli.StringFlag{Name: "devices", Usage: "devices that compute the full-set gradients: cpu:N (N CPU instances sharing the cores) or cuda:0,cuda:1,...; chunks are combined in a fixed order, so results are bit-identical for any number of devices of one kind (default: --device alone; may change on --resume)"}

func lcaCommand() *cli.Command {
	train := trainFlags()
	for _, f := range train {
		if sf, ok := f.(*cli.StringFlag); ok && sf.Name == "out" {
			sf.Value = "runs/lca"
		}
	}
	return &cli.Command{
		Name:  "lca",
		Usage: "loss change allocation: how much every parameter helped or hurt on every iteration",
		Subcommands: []*cli.Command{
			{
				Name:  "train",
				Usage: "train a model and compute its LCA online (or save the trajectory for offline LCA)",
				Description: "Trains like `gaze train` and, after every step, splits the change of the loss over the LCA set among the\n" +
					"parameters with an adaptive Simpson rule along the step. Writes, besides the training files: meta.json,\n" +
					"losses.csv, lca_layers.npy, helped_layers.npy, lca_neurons.npy, lca_total.npy, helped_count.npy,\n" +
					"lca_indices.npy (and held_out_indices.npy), optionally lca.npy and weights.npy, the per-class files\n" +
					"(--per-class), held_out/ (--lca-held-out), and the report (report/report.html). --resume continues a\n" +
					"killed run; --devices may change when it does. With --lca-every K every row is a window of K iterations\n" +
					"(θ_t to θ_{t+K} along the straight chord). Before training it prints its disk plan; --max-disk refuses one\n" +
					"that does not fit, naming the flags that would make it fit.",
				Flags:  append(train, lcaFlags()...),
				Action: runLCATrain,
			},
			{
				Name:      "compute",
				Usage:     "compute LCA offline for a range of iterations of a run saved with --save-weights, or emit the ranges as a cluster job",
				ArgsUsage: "RUN",
				Description: "Computes the LCA of iterations --iters a:b (or of --part K/N: the K-th of N contiguous ranges, iterations\n" +
					"⌊K·T/N⌋ to ⌊(K+1)·T/N⌋ of the run's T) into a part folder, RUN/parts/aaaaaaa-bbbbbbb; gaze lca merge RUN joins\n" +
					"the parts. With --every K it computes one row per window of K iterations (θ_t to θ_{t+K} along the straight\n" +
					"chord; K a multiple of the run's --save-weights-every; --part then splits windows; parts RUN/parts/wK-…).\n" +
					"With --emit k8s|slurm --parts N it writes RUN/job.json (a Kubernetes Indexed Job, one GPU per pod, the run\n" +
					"folder on a mounted claim) or RUN/job.sbatch (a Slurm job array) whose task K runs\n" +
					"gaze lca compute RUN --part K/N. The disk plan of the part is printed first (--max-disk refuses it).",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "iters", Value: ":", Usage: "iterations a:b to compute (either side may be empty)"},
					&cli.IntFlag{Name: "every", Usage: "window LCA: one row per window of K iterations, from the trajectory's rows at multiples of K (K a multiple of its --save-weights-every; 0: that stride)"},
					&cli.StringFlag{Name: "part", Usage: "compute part K/N instead of --iters: the K-th (from 0) of N contiguous ranges that tile the run"},
					&cli.StringFlag{Name: "out", Usage: "part directory (default RUN/parts/a-b)"},
					&cli.StringFlag{Name: "device", Value: "cpu", Usage: "device: cpu or cuda"},
					devicesFlag,
					dataDirFlag,
					&cli.StringFlag{Name: "emit", Usage: "write a cluster job computing the run in --parts ranges instead of computing: k8s (Indexed Job, JSON) or slurm (job-array script)"},
					&cli.IntFlag{Name: "parts", Value: 8, Usage: "with --emit: number of ranges (tasks)"},
					&cli.IntFlag{Name: "parallel", Value: lcaJobDefaults.Parallel, Usage: "with --emit: tasks run at once (pods or array tasks)"},
					maxDiskFlag(),
				}, jobFlags(lcaJobDefaults, "part", "run")...),
				Action: func(c *cli.Context) error {
					run, err := oneArg(c, "RUN")
					if err != nil {
						return err
					}
					if emit := c.String("emit"); emit != "" {
						return lcaEmitJobs(c, run, emit)
					}
					if c.IsSet("part") && c.IsSet("iters") {
						return fmt.Errorf("--part %s and --iters %s: give one", c.String("part"), c.String("iters"))
					}
					o := lca.ComputeOptions{Iters: c.String("iters"), Part: c.String("part"), Every: c.Int("every"), MaxDisk: sizeValue(c, "max-disk"), Out: c.String("out"), Device: c.String("device"), Devices: c.String("devices"), Log: logTo(c)}
					if c.IsSet("data-dir") {
						o.DataDir = c.String("data-dir")
					}
					start := time.Now()
					out, a, b, err := lca.ComputeRun(run, o)
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "LCA of iterations %d:%d written to %s (%.1f s)\n", a, b, out, time.Since(start).Seconds())
					return nil
				},
			},
			{
				Name:      "merge",
				Usage:     "join computed parts into the run directory (ranges must tile without gaps or overlaps)",
				ArgsUsage: "RUN [PART...]  (default: every RUN/parts/*)",
				Action: func(c *cli.Context) error {
					if c.NArg() < 1 {
						return errors.New("usage: gaze lca merge RUN [PART...]")
					}
					run := c.Args().First()
					parts := c.Args().Tail()
					if len(parts) == 0 {
						var err error
						if parts, err = lca.Parts(run); err != nil {
							return err
						}
					}
					if err := lca.Merge(run, parts); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "merged %d parts into %s\n", len(parts), run)
					return nil
				},
			},
			{
				Name:      "report",
				Usage:     "write the plots and the HTML report of a computed run (of a run that has not finished: its committed iterations, into RUN/report-partial)",
				ArgsUsage: "RUN",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the summary as JSON"}},
				Action: func(c *cli.Context) error {
					run, err := oneArg(c, "RUN")
					if err != nil {
						return err
					}
					s, err := lca.Report(run)
					if err != nil {
						return err
					}
					return printReport(c, run, &s)
				},
			},
		},
	}
}

var lcaJobDefaults = jobs.Defaults("lca")

func lcaEmitJobs(c *cli.Context, run, emit string) error {
	o := jobOptions(c, lcaJobDefaults)
	o.Parallel = c.Int("parallel")
	dataDir := ""
	if c.IsSet("data-dir") {
		dataDir = c.String("data-dir")
	}
	n := c.Int("parts")
	file, o, err := lca.EmitJobs(run, emit, n, c.Int("every"), o, dataDir)
	if err != nil {
		return err
	}
	printJobSteps(c, file, fmt.Sprintf("%d parts", n), n, emit, run, o, "gaze lca merge "+run)
	return nil
}

// oneArg is a command's single positional argument, or a usage error naming it.
func oneArg(c *cli.Context, name string) (string, error) {
	if c.NArg() != 1 {
		return "", fmt.Errorf("usage: %s %s: want one %s, got %d arguments %q", c.Command.HelpName, name, name, c.NArg(), c.Args().Slice())
	}
	return c.Args().First(), nil
}

func printReport(c *cli.Context, run string, s *lca.Summary) error {
	if c.Bool("json") {
		b, _ := json.MarshalIndent(s, "", "  ")
		fmt.Fprintln(c.App.Writer, string(b))
		return nil
	}
	dir := lca.ReportDir
	if s.Partial {
		dir = lca.PartialReportDir
		fmt.Fprintf(c.App.Writer, "partial report: the run has not finished; its first %d of %d iterations (as of its last checkpoint)\n", s.Iterations, s.PlannedIterations)
	}
	windows, row := "", "iteration"
	if s.Window > 1 {
		windows, row = fmt.Sprintf(" in %d windows of %d", s.Rows, s.Window), "window"
	}
	fmt.Fprintf(c.App.Writer, "LCA of %s over %s, %d iterations%s: ΔL = %.4f, ΣLCA = %.4f (relative error %.3f %%, first order %.2f %%); "+
		"largest per-%s error %.2g; %.1f %% of parameters help on average\nreport: %s\n",
		s.Model, s.LCASet, s.Iterations, windows, s.DeltaLoss, s.SumLCA, 100*s.RelErr, 100*s.FirstRelErr, row, s.MaxIterErr, 100*s.HelpedMean,
		filepath.Join(run, dir, "report.html"))
	return nil
}

func runLCATrain(c *cli.Context) error {
	cfg, err := trainConfig(c)
	if err != nil {
		return err
	}
	lc := lca.TrainConfig{Config: cfg, LCA: lca.Spec{Examples: c.Int("lca-examples"), Seed: c.Uint64("lca-seed"),
		Config: lca.Config{Chunk: c.Int("lca-batch"), Threshold: c.Float64("error-threshold"), MaxN: c.Int("max-n"),
			FirstOrder: c.Bool("first-order"), IncludeL2: c.Bool("include-l2"), BatchStats: !c.Bool("bn-running-stats"), PerClass: c.Bool("per-class")},
		SaveLCA: c.Bool("save-lca"), SaveW: c.Bool("save-weights") || c.Int("save-weights-every") > 0,
		Every: c.Int("lca-every"), SaveWEvery: c.Int("save-weights-every"), Offline: c.Bool("offline"), HeldOut: c.Bool("lca-held-out"), Devices: c.String("devices")}}
	ctx, stop := interruptible()
	defer stop()
	s, err := lca.Train(ctx, lc, lca.TrainOptions{Options: trainOptions(c), NoReport: c.Bool("no-report"), MaxDisk: sizeValue(c, "max-disk")})
	if errors.Is(err, rundir.ErrFinished) && finished(c, err) {
		// The summary of the report it finished with, if it wrote one.
		var sum lca.Summary
		b, rerr := os.ReadFile(filepath.Join(c.String("out"), lca.ReportDir, "summary.json"))
		if rerr != nil || json.Unmarshal(b, &sum) != nil {
			fmt.Fprintf(c.App.Writer, "run saved in %s\n", c.String("out"))
			return nil
		}
		return printReport(c, c.String("out"), &sum)
	}
	if err != nil {
		return interrupted(c, err)
	}
	if s == nil {
		fmt.Fprintf(c.App.Writer, "run saved in %s\n", c.String("out"))
		return nil
	}
	return printReport(c, c.String("out"), s)
}
