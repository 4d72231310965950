package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/engine/models"
	"github.com/gazeml/gaze/intdim"
	"github.com/gazeml/gaze/internal/jobs"
	"github.com/gazeml/gaze/internal/rundir"
)

func intdimCommand() *cli.Command {
	return &cli.Command{
		Name:  "intdim",
		Usage: "intrinsic dimension: train in random subspaces θ = θ₀ + P·θ_d and find d_int90",
		Description: "Li, Farkhoor, Liu and Yosinski (ICLR 2018): only a random d-dimensional slice of the parameter space is\n" +
			"trained; d_int90 is the smallest d reaching 90 % of the baseline. A sweep is a folder holding sweep.json and\n" +
			"one result file per (d, seed) point (points/d750-s0.json) plus the directly trained baseline of each seed.",
		Subcommands: []*cli.Command{intdimSweepCommand(), intdimPointCommand(), intdimCollectCommand(), intdimReportCommand(), intdimCompareCommand(), intdimPointsCommand()},
	}
}

var (
	intdimDeviceFlag = &cli.StringFlag{Name: "device", Value: "cpu", Usage: "device the points run on: cpu or cuda"}
	intdimRetryFlag  = &cli.BoolFlag{Name: "retry-failed", Usage: "rerun points recorded as failed (their old result is kept as NAME.failed-TIME.json)"}
	intdimBootFlag   = &cli.IntFlag{Name: "bootstrap", Value: 2000, Usage: "bootstrap resamples for the d_int90 intervals"}
	intdimMemFlag    = &cli.Float64Flag{Name: "proj-mem-gb", Usage: "refuse projections needing more memory than this many GB (0: half the available memory on the cpu device, no limit on others)"}
)

func intdimSweepCommand() *cli.Command {
	def := jobs.Defaults("intdim")
	flags := []cli.Flag{
		&cli.StringFlag{Name: "model", Value: "mnist-fc-200", Usage: "network: toy (the paper's §2 problem, D = 1000), cartpole (the inverted pendulum: a 4-20-20-2 policy, D = 562, trained by evolution strategies) or " + models.Help},
		&cli.StringFlag{Name: "data", Value: "mnist", Usage: "data set: mnist, fashion-mnist, cifar10, synthetic, or toy (with --model toy)"},
		dataDirFlag,
		&cli.StringFlag{Name: "synthetic", Value: "2000x1x28x28", Usage: "with --data synthetic: NxCxHxW of the training set"},
		&cli.IntFlag{Name: "classes", Value: 10, Usage: "with --data synthetic: number of classes"},
		&cli.IntFlag{Name: "train-n", Usage: "train on the first N training examples only (0: all; for quick CPU runs)"},
		&cli.StringFlag{Name: "proj", Value: intdim.Dense, Usage: "projection: dense (stored), dense-otf (regenerated on the fly), sparse or fastfood"},
		&cli.IntSliceFlag{Name: "dims", Usage: "subspace dimensions to sweep, e.g. 10,50,100,300,500,750,1000", Required: true},
		&cli.IntFlag{Name: "seeds", Value: 3, Usage: "seeds per dimension (0 … N−1): initialisation, projection, shuffling"},
	}
	flags = append(flags, optFlags("adam", 1e-3)...)
	flags = append(flags,
		&cli.Float64Flag{Name: "baseline-lr", Usage: "learning rate of the directly trained baseline (default: --lr)"},
		&cli.Float64Flag{Name: "l2", Usage: "L2 penalty λ/2·Σw² on the full θ's weights"},
		&cli.IntFlag{Name: "batch", Value: 128, Usage: "minibatch size"},
		&cli.IntFlag{Name: "epochs", Value: 10, Usage: "epochs per point (the paper: 100 for MNIST; short runs overstate d_int90)"},
		&cli.IntFlag{Name: "eval-batch", Value: 1000, Usage: "batch size for evaluation"},
		&cli.Float64Flag{Name: "global-baseline", Value: 1.0, Usage: "the fixed baseline accuracy of d_int90's global definition (cartpole: 1.0 is the best return, 500)"},
		&cli.Float64Flag{Name: "sigma", Value: intdim.DefaultESSpec().Sigma, Usage: "with --model cartpole: ES perturbation scale σ"},
		&cli.IntFlag{Name: "episodes", Value: intdim.DefaultESSpec().Episodes, Usage: "with --model cartpole: episodes per policy per generation"},
		&cli.IntFlag{Name: "eval-episodes", Value: intdim.DefaultESSpec().EvalEpisodes, Usage: "with --model cartpole: episodes of the final evaluation (the point's score is their mean return / 500)"},
		&cli.IntFlag{Name: "workers", Usage: "with --model cartpole: goroutines evaluating each ES population (0: all cores; results do not depend on it)"},
		&cli.StringFlag{Name: "out", Value: "runs/intdim", Usage: "the sweep folder"},
		&cli.IntFlag{Name: "parallel", Value: 1, Usage: "points run at once (locally: goroutines, each with its own device; with --emit: pods or array tasks)"},
		intdimDeviceFlag, intdimRetryFlag, intdimMemFlag, intdimBootFlag,
		&cli.StringFlag{Name: "emit", Usage: "write a job manifest instead of running: k8s (Indexed Job, JSON) or slurm (job-array script)"},
	)
	flags = append(flags, jobFlags(def, "point", "sweep")...)
	return &cli.Command{
		Name:  "sweep",
		Usage: "train every (d, seed) point and the baselines, or emit them as a Kubernetes or Slurm job",
		Description: "Writes the sweep's spec to --out/sweep.json and runs every unfinished point, --parallel at a time\n" +
			"(finished points are skipped, so rerunning the command continues the sweep; an interrupted point resumes from\n" +
			"its checkpoint). Only --dims and --seeds may differ from the sweep.json of a folder that holds a sweep; any\n" +
			"other difference is refused, field by field. A point whose loss diverges is recorded as failed and the sweep\n" +
			"goes on. Several sweep commands may run over one folder at once (say one per core or machine, on a file\n" +
			"system whose locks work): each leaves the points another holds to it. When all points are done it prints the\n" +
			"report (see gaze intdim report). With --emit k8s|slurm it\n" +
			"writes the spec and a job manifest instead, to run each point as one GPU job (gaze intdim point).",
		Flags:  flags,
		Action: runIntdimSweep,
	}
}

func intdimSpecFromFlags(c *cli.Context) (intdim.Spec, error) {
	opt, err := optConfig(c)
	if err != nil {
		return intdim.Spec{}, err
	}
	s := intdim.Spec{Model: c.String("model"), Data: c.String("data"), TrainN: c.Int("train-n"), Proj: c.String("proj"),
		Dims: c.IntSlice("dims"), Seeds: c.Int("seeds"), Batch: c.Int("batch"), Epochs: c.Int("epochs"), L2: c.Float64("l2"),
		BaselineLR: c.Float64("baseline-lr"), EvalBatch: c.Int("eval-batch"), Global: c.Float64("global-baseline"), Opt: opt}
	if s.Model == intdim.ToyModelName && !c.IsSet("data") {
		s.Data = intdim.ToyModelName
	}
	if s.Model == intdim.CartPoleModelName {
		cartPoleDefaults(c, &s)
	}
	if s.Data == "synthetic" {
		s.Synthetic, s.Classes = c.String("synthetic"), c.Int("classes")
	}
	return s, s.Validate()
}

// cartPoleDefaults fills what --model cartpole means by the flags it shares with the supervised
// models, where they are not given: --data cartpole, the ES population (--batch 50), the
// generations (--epochs 200), Adam's learning rate 0.1, and the ES settings.
func cartPoleDefaults(c *cli.Context, s *intdim.Spec) {
	if !c.IsSet("data") {
		s.Data = intdim.CartPoleModelName
	}
	if !c.IsSet("batch") {
		s.Batch = 50
	}
	if !c.IsSet("epochs") {
		s.Epochs = 200
	}
	if !c.IsSet("lr") {
		s.Opt.LR = 0.1
	}
	if !c.IsSet("eval-batch") {
		s.EvalBatch = 0
	}
	s.ES = &intdim.ESSpec{Sigma: c.Float64("sigma"), Episodes: c.Int("episodes"), EvalEpisodes: c.Int("eval-episodes")}
}

// intdimMemLimit is --proj-mem-gb in bytes, or the device's default limit.
func intdimMemLimit(c *cli.Context, device string) int64 {
	if gb := c.Float64("proj-mem-gb"); gb > 0 {
		return int64(gb * (1 << 30))
	}
	return intdim.DefaultMemLimit(device)
}

func intdimOptions(c *cli.Context) intdim.Options {
	dev := c.String("device")
	return intdim.Options{Device: dev, DataDir: c.String("data-dir"), Parallel: max(c.Int("parallel"), 1), RetryFailed: c.Bool("retry-failed"),
		MemLimit: intdimMemLimit(c, dev), Workers: intFlag(c, "workers"), Log: logTo(c)}
}

func runIntdimSweep(c *cli.Context) error {
	spec, err := intdimSpecFromFlags(c)
	if err != nil {
		return err
	}
	out := c.String("out")
	if emit := c.String("emit"); emit != "" {
		return intdimEmitJobs(c, spec, out, emit)
	}
	ctx, stop := interruptible()
	defer stop()
	st, err := intdim.Sweep(ctx, out, spec, intdimOptions(c))
	if err != nil {
		return err
	}
	if st.Ran > 0 {
		fmt.Fprintf(c.App.ErrWriter, "ran %d points (%d failed, %d already done) in %.0f s: %.1f points/hour\n",
			st.Ran, st.Failed, st.Skipped, st.Seconds, float64(st.Ran)/st.Seconds*3600)
	}
	if st.Elsewhere > 0 {
		fmt.Fprintf(c.App.ErrWriter, "%d points were running in other processes and are not in this report yet: run gaze intdim report %s when they finish\n",
			st.Elsewhere, out)
	}
	return writeIntdimReport(c, out, c.Int("bootstrap"))
}

func intdimEmitJobs(c *cli.Context, spec intdim.Spec, out, emit string) error {
	o := jobOptions(c, jobs.Defaults("intdim"))
	o.Parallel = c.Int("parallel")
	file, o, err := intdim.Emit(out, spec, emit, o, c.String("data-dir"))
	if err != nil {
		return err
	}
	n := spec.NumPoints()
	printJobSteps(c, file, fmt.Sprintf("%d points", n), n, emit, out, o, "gaze intdim report "+out)
	return nil
}

func intdimPointCommand() *cli.Command {
	return &cli.Command{
		Name:  "point",
		Usage: "run one point of a sweep (what each cluster job runs)",
		Description: "Runs point --index of the sweep in --dir (see gaze intdim points DIR for the index → (d, seed) mapping).\n" +
			"Without --index the index comes from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID\n" +
			"(Slurm array). A finished point is left alone; an interrupted one resumes from its checkpoint.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "the sweep folder (holding sweep.json)", Required: true},
			&cli.IntFlag{Name: "index", Value: -1, Usage: "the point's index (default: $JOB_COMPLETION_INDEX or $SLURM_ARRAY_TASK_ID)"},
			dataDirFlag, intdimDeviceFlag, intdimRetryFlag, intdimMemFlag,
		},
		Action: func(c *cli.Context) error {
			k := c.Int("index")
			if !c.IsSet("index") {
				var err error
				if k, err = intdim.IndexFromEnv(); err != nil {
					return err
				}
			}
			ctx, stop := interruptible()
			defer stop()
			r, skipped, err := intdim.RunPoint(ctx, c.String("dir"), k, intdimOptions(c))
			if err != nil {
				return err
			}
			switch {
			case skipped:
				fmt.Fprintf(c.App.Writer, "point %d (%s) is already done: %s, accuracy %.4f\n", k, r.Name(), r.Status, r.TestAcc)
			case r.Status == intdim.StatusFailed:
				fmt.Fprintf(c.App.Writer, "point %d (%s) failed: %s\n", k, r.Name(), r.Reason)
			default:
				fmt.Fprintf(c.App.Writer, "point %d (%s): test accuracy %.4f after %d epochs (%.1f s)\n", k, r.Name(), r.TestAcc, r.Epochs, r.Seconds)
			}
			return nil
		},
	}
}

func intdimCollectCommand() *cli.Command {
	return &cli.Command{
		Name:      "collect",
		Usage:     "merge a sweep's point results into DIR/results.csv",
		ArgsUsage: "DIR",
		Description: "Reads every point of the sweep in DIR (merging in the point files of --from folders first: sweeps split\n" +
			"across machines; a point already in DIR is never replaced) and writes DIR/results.csv, one row per point.",
		Flags: []cli.Flag{&cli.StringSliceFlag{Name: "from", Usage: "other folders of the same sweep to merge in (repeatable)"}},
		Action: func(c *cli.Context) error {
			dir, err := intdimDir(c)
			if err != nil {
				return err
			}
			done, missing, err := intdim.WriteCollected(dir, c.StringSlice("from")...)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "%s: %d points done, %d missing\n", filepath.Join(dir, "results.csv"), done, missing)
			return nil
		},
	}
}

func intdimReportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "print and plot accuracy against d and d_int90 of a sweep",
		ArgsUsage: "DIR",
		Description: "Prints test accuracy against d (mean and spread over seeds), the baselines, and d_int90 (the smallest swept\n" +
			"d whose mean accuracy exceeds 0.9 × baseline) for the global and the directly trained baseline, each with a 95 %\n" +
			"bootstrap interval over seeds. Writes DIR/results.csv, DIR/summary.json and the plot DIR/report.svg (and .png).",
		Flags: []cli.Flag{intdimBootFlag},
		Action: func(c *cli.Context) error {
			dir, err := intdimDir(c)
			if err != nil {
				return err
			}
			return writeIntdimReport(c, dir, c.Int("bootstrap"))
		},
	}
}

func intdimCompareCommand() *cli.Command {
	return &cli.Command{
		Name:      "compare",
		Usage:     "compare sweeps (projections, models, data sets): d_int90 and accuracy against d as tables and one plot",
		ArgsUsage: "DIR...",
		Description: "Prints, as Markdown, each sweep's d_int90 under the global and the trained baseline with 95 % bootstrap\n" +
			"intervals, and each sweep's mean test accuracy (min–max over seeds) at every d any of them swept. With --out\n" +
			"FILE.png or FILE.svg it also plots every sweep's accuracy against d in one figure, with the 90 % line of each\n" +
			"sweep's trained baseline in its colour. Unfinished sweeps are shown with what they have.",
		Flags: []cli.Flag{
			intdimBootFlag,
			&cli.StringFlag{Name: "out", Usage: "write the plot here (.png or .svg)"},
			&cli.StringFlag{Name: "labels", Usage: "comma-separated names of the sweeps, in order (default: model on data, projection)"},
		},
		Action: func(c *cli.Context) error {
			dirs := c.Args().Slice()
			out := c.String("out")
			format := strings.TrimPrefix(filepath.Ext(out), ".")
			if out != "" && format != "png" && format != "svg" {
				return fmt.Errorf("--out %s: the plot is written as .png or .svg", out)
			}
			var labels []string
			if l := c.String("labels"); l != "" {
				if labels = strings.Split(l, ","); len(labels) != len(dirs) {
					return fmt.Errorf("--labels gives %d names for %d sweep folder(s)", len(labels), len(dirs))
				}
			}
			cs, err := intdim.Compare(dirs, c.Int("bootstrap"))
			if err != nil {
				return err
			}
			for i := range labels {
				cs[i].Label = labels[i]
			}
			intdim.WriteCompareTables(c.App.Writer, cs)
			if out == "" {
				return nil
			}
			var b bytes.Buffer
			if err := intdim.WriteComparePlot(&b, cs, format); err != nil {
				return err
			}
			if err := rundir.WriteFileAtomic(out, b.Bytes()); err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "plot: %s\n", out)
			return nil
		},
	}
}

func writeIntdimReport(c *cli.Context, dir string, boot int) error {
	spec, s, err := intdim.WriteReport(dir, boot)
	if err != nil {
		return err
	}
	s.WriteText(c.App.Writer, spec)
	fmt.Fprintf(c.App.Writer, "plot: %s (and report.png)\n", filepath.Join(dir, "report.svg"))
	return nil
}

func intdimPointsCommand() *cli.Command {
	return &cli.Command{
		Name:      "points",
		Usage:     "list a sweep's points: index, (d, seed) and status",
		ArgsUsage: "DIR",
		Action: func(c *cli.Context) error {
			dir, err := intdimDir(c)
			if err != nil {
				return err
			}
			spec, err := intdim.LoadSpec(dir)
			if err != nil {
				return err
			}
			for _, p := range spec.Points() {
				status := "pending"
				if r, ok, err := intdim.ReadResult(dir, p); err != nil {
					return err
				} else if ok {
					status = fmt.Sprintf("%s %.4f", r.Status, r.TestAcc)
				}
				fmt.Fprintf(c.App.Writer, "%4d  %-14s %s\n", p.Index, p.Name(), status)
			}
			return nil
		},
	}
}

func intdimDir(c *cli.Context) (string, error) { return oneArg(c, "DIR") }

// intFlag is an int flag's value, 0 for a command that does not have it (gaze intdim point has
// no --workers).
func intFlag(c *cli.Context, name string) int {
	for _, f := range c.Command.Flags {
		if slices.Contains(f.Names(), name) {
			return c.Int(name)
		}
	}
	return 0
}
