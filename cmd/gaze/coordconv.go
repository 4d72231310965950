package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/coordconv"
	"github.com/gazeml/gaze/engine"
)

func coordconvCommand() *cli.Command {
	return &cli.Command{
		Name:  "coordconv",
		Usage: "CoordConv (Liu et al., NeurIPS 2018): the Not-so-Clevr data and the supervised toy tasks",
		Description: "CoordConv appends coordinate channels to a convolution's input. On Not-so-Clevr (one 9×9 square\n" +
			"on a 64×64 canvas) three toy tasks show convolutions failing at the coordinate transform and\n" +
			"CoordConv succeeding: classification ((x, y) → one-hot map), regression (one-hot map → (x, y))\n" +
			"and rendering ((x, y) → the square).",
		Subcommands: []*cli.Command{coordconvDataCommand(), coordconvRunCommand(), coordconvSweepCommand(), coordconvTableCommand(), coordconvPlotCommand(), coordconvDiagnoseCommand()},
	}
}

func coordconvDataCommand() *cli.Command {
	return &cli.Command{
		Name:  "data",
		Usage: "write the Not-so-Clevr data set and its splits to disk (PNG grids and .npy files)",
		Description: "Writes to --out: centres.npy (3136×2 int32, x then y), onehot.npy and squares.npy (3136×64×64\n" +
			"uint8), <split>_train.npy and <split>_test.npy (indices into centres) for both splits, and PNG\n" +
			"grids of examples and of each split's train/test centres.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: "data/not-so-clevr", Usage: "output folder"},
			&cli.Float64Flag{Name: "test-frac", Value: 0.2, Usage: "test fraction of the uniform split"},
			&cli.Uint64Flag{Name: "split-seed", Usage: "seed of the uniform split"},
		},
		Action: func(c *cli.Context) error {
			if err := coordconv.WriteData(c.String("out"), c.Float64("test-frac"), c.Uint64("split-seed")); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote Not-so-Clevr (%d centres) to %s\n", coordconv.Positions*coordconv.Positions, c.String("out"))
			return nil
		},
	}
}

func coordconvRunFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "task", Value: "classification", Usage: "classification, regression or rendering"},
		&cli.StringFlag{Name: "split", Value: "uniform", Usage: "uniform (random, --test-frac) or quadrant (test: x ≥ 33 and y ≥ 33)"},
		&cli.Float64Flag{Name: "test-frac", Value: 0.2, Usage: "test fraction of the uniform split"},
		&cli.Uint64Flag{Name: "split-seed", Usage: "seed of the uniform split"},
		&cli.StringFlag{Name: "model", Value: "coordconv", Usage: "coordconv (the paper's CoordConv model of the task) or conv (its conv/deconv baseline)"},
		&cli.StringFlag{Name: "recipe", Value: "gaze", Usage: "the CoordConv models' recipe: paper (the paper's code exactly) or gaze (classification: input coordinates scaled to [−1, 1]; rendering: the same, the painter trained by the centre loss alone, softmax gain 4096, l2 1e-5, output bias at the background rate; regression: hot-pixel initialisation, lr ×0.1 after epochs 2, 4, 6)"},
		&cli.IntSliceFlag{Name: "lr-milestones", Usage: "epochs after which the learning rate is multiplied by --lr-gamma (default: the recipe's; gaze's regressor: 2,4,6)"},
		&cli.Float64Flag{Name: "lr-gamma", Value: 0.1, Usage: "learning-rate factor at each milestone"},
		&cli.IntFlag{Name: "seeds", Value: 3, Usage: "number of seeds (initialisation and shuffling), run one after another"},
		&cli.Uint64Flag{Name: "seed", Usage: "first seed; seeds are seed, seed+1, ..."},
		&cli.Float64Flag{Name: "lr", Usage: "Adam learning rate (default: per task and model, see gaze coordconv run --help)"},
		&cli.Float64Flag{Name: "l2", Value: -1, Usage: "L2 penalty λ/2·Σw² on weights (default: per task and model)"},
		&cli.Float64Flag{Name: "beta2", Value: 0.99, Usage: "Adam β2 (the paper's code: 0.99)"},
		&cli.IntFlag{Name: "batch", Value: 16, Usage: "minibatch size"},
		&cli.IntFlag{Name: "epochs", Usage: "maximum number of epochs (default: per task and model)"},
		&cli.IntFlag{Name: "mul", Value: 1, Usage: "width multiplier m of the conv baselines"},
		&cli.IntFlag{Name: "fs", Value: 3, Usage: "filter size of the deconv painter's transposed convolutions"},
		&cli.Float64Flag{Name: "interm", Usage: "rendering, coordconv model: weight of an intermediate softmax loss of the painter's logits against the centre (the authors' -interm softmax; 0 = off, the issue's model)"},
		&cli.Float64Flag{Name: "softmax-gain", Value: 1, Usage: "rendering, coordconv model: factor on the painter's logits before the spatial softmax (1/temperature; the paper: 1)"},
		&cli.BoolFlag{Name: "norm-coords", Usage: "coordconv painters (classification, rendering): scale the input coordinates to [−1, 1] like the coordinate channels (default: the recipe's)"},
		&cli.BoolFlag{Name: "detach", Usage: "rendering, coordconv model with --interm: train the painter by the centre loss alone (default: the recipe's)"},
		&cli.IntFlag{Name: "render-fs", Value: 3, Usage: "rendering, coordconv model: filter size of the rendering convolutions (odd; the paper: 3, the authors' logged runs: 1)"},
		&cli.BoolFlag{Name: "stop-perfect", Value: true, Usage: "stop a seed at the first epoch with perfect train and test metric (accuracy or IOU 1)"},
		&cli.IntFlag{Name: "subsample", Usage: "keep every k-th centre of each set (quick looks; 0 keeps all)"},
		&cli.StringFlag{Name: "device", Value: "cpu", Usage: "device: cpu or cuda (see gaze devices)"},
		&cli.StringFlag{Name: "out", Value: "runs/coordconv", Usage: "output folder: config.json, table.txt, results.csv, curves.csv, result.json, predictions.json, PNGs and seedN.ckpt (the seed in progress)"},
	}
}

func coordconvRunCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "train a task's CoordConv model or conv baseline for several seeds; print and write a results table and plots",
		Description: "Adam (β2 0.99), minibatch 16, He-normal initialisation, L2 on weights. --recipe paper is the\n" +
			"paper's code exactly; --recipe gaze (the default) differs for the CoordConv models: the\n" +
			"painters read their input coordinates scaled to [−1, 1]; the renderer's painter is trained by\n" +
			"the centre loss alone, its softmax gain is 4096, l2 1e-5 and its output bias starts at the\n" +
			"background rate; the regressor starts from the hot-pixel initialisation and steps lr ×0.1\n" +
			"after epochs 2, 4 and 6. Metrics evaluated on the\n" +
			"full train and test sets after every epoch; the table reports, per seed, the epoch with the best\n" +
			"test metric: train and test metric there, parameters, wall time to it, seconds per epoch.\n" +
			"Defaults (from the authors' experiment scripts): classification coordconv lr 0.005 l2 1e-3 50\n" +
			"epochs, conv (deconv painter) lr 0.002 l2 1e-3 60 epochs; regression coordconv lr 0.01 l2 1e-5,\n" +
			"conv lr 0.001 l2 1e-4, 100 epochs; rendering as classification. Metrics: accuracy (argmax =\n" +
			"centre), mean distance in pixels, IOU of the output thresholded at 0.5. Every epoch writes a\n" +
			"checkpoint of the seed in progress to --out, every finished seed the result files; Ctrl-C or\n" +
			"SIGTERM stops after saving them, and --resume continues without losing or repeating an epoch.",
		Flags: append(coordconvRunFlags(),
			&cli.BoolFlag{Name: "resume", Usage: "continue the run in --out (same flags): finished seeds are kept, the seed in progress continues from its last epoch"}),
		Action: func(c *cli.Context) error {
			cfg, err := coordconvConfig(c)
			if err != nil {
				return err
			}
			out := c.String("out")
			dev, err := engine.Open(c.String("device"))
			if err != nil {
				return err
			}
			ctx, stop := interruptible()
			defer stop()
			recipe := ""
			if cfg.Recipe != "" {
				recipe = fmt.Sprintf(" (recipe %s)", cfg.Recipe)
			}
			fmt.Fprintf(c.App.Writer, "%s, %s split, %s model%s on %s: lr %g, l2 %g, batch %d, up to %d epochs, seeds %v%s\n",
				cfg.Task, cfg.Split, cfg.Model, recipe, dev.Name(), cfg.LR, cfg.L2, cfg.Batch, cfg.Epochs, cfg.Seeds, cfg.Opts.Describe())
			res, err := coordconv.Run(ctx, dev, cfg, coordconv.RunOptions{Dir: out, Resume: c.Bool("resume"), Progress: func(seed uint64, e coordconv.EpochResult) { printEpoch(c, cfg.Task, "", seed, e) }})
			if finished(c, err) && res != nil {
				err = nil
			}
			if res != nil && len(res.Seeds) > 0 {
				fmt.Fprintln(c.App.Writer)
				if terr := res.WriteTable(c.App.Writer); terr != nil {
					return terr
				}
				fmt.Fprintf(c.App.Writer, "results in %s\n", out)
			}
			if errors.Is(err, context.Canceled) {
				return fmt.Errorf("interrupted: the finished epochs are saved in %s; continue with the same command plus --resume", out)
			}
			return err
		},
	}
}

// printEpoch prints one line for an epoch of a run, after prefix.
func printEpoch(c *cli.Context, task coordconv.Task, prefix string, seed uint64, e coordconv.EpochResult) {
	m := coordconv.TaskMetric(task)
	painter := ""
	if e.PainterTrain != nil && e.PainterTest != nil {
		painter = fmt.Sprintf("  painter at the centre %.2f%% / %.2f%%", 100**e.PainterTrain, 100**e.PainterTest)
	}
	fmt.Fprintf(c.App.Writer, "%sseed %d epoch %3d  train loss %.5f  train %s %s  test %s%s  %.0fs\n",
		prefix, seed, e.Epoch, e.TrainLoss, m.Name, m.Show(e.TrainMetric), m.Show(e.TestMetric), painter, e.Seconds)
}

func coordconvSweepCommand() *cli.Command {
	flags := append(coordconvRunFlags(),
		&cli.Float64SliceFlag{Name: "lrs", Value: cli.NewFloat64Slice(0.001, 0.002, 0.005), Usage: "learning rates to try"},
		&cli.IntSliceFlag{Name: "fss", Value: cli.NewIntSlice(3), Usage: "filter sizes of the deconv painter to try"},
		&cli.IntSliceFlag{Name: "muls", Value: cli.NewIntSlice(1), Usage: "width multipliers of the baseline to try"},
	)
	return &cli.Command{
		Name:  "sweep",
		Usage: "run every combination of --lrs, --fss and --muls (the baselines' hyper-parameter sweep) and report the best",
		Description: "Each combination is a gaze coordconv run (all its flags apply; --lr, --fs and --mul are\n" +
			"replaced) written to --out/lr<lr>_fs<fs>_m<m>; sweep.md lists them all, best first by the median\n" +
			"over seeds of the best test metric. Run the same command again to continue an interrupted or\n" +
			"extended sweep: finished combinations are read back, an interrupted one continues from its last\n" +
			"epoch; a combination folder that holds another configuration stops the sweep, naming the fields\n" +
			"that differ. A combination that fails (a diverging loss) is reported and the others still run.",
		Flags: flags,
		Action: func(c *cli.Context) error {
			base, err := coordconvConfig(c)
			if err != nil {
				return err
			}
			if base.Task == coordconv.Regression && (c.IsSet("fss") || c.IsSet("fs")) {
				return fmt.Errorf("--fss: the regression baseline has no filter-size option (sweep --lrs and --muls)")
			}
			dev, err := engine.Open(c.String("device"))
			if err != nil {
				return err
			}
			ctx, stop := interruptible()
			defer stop()
			out := c.String("out")
			rs, failed, err := coordconv.Sweep(ctx, dev, base, coordconv.SweepOptions{Dir: out, LRs: c.Float64Slice("lrs"), FSs: c.IntSlice("fss"), Muls: c.IntSlice("muls"),
				Started: func(name, dir string, resumed bool) {
					if resumed {
						fmt.Fprintf(c.App.Writer, "%s: continuing %s\n", name, dir)
					}
				},
				Finished: func(name string, r *coordconv.Result, err error) {
					if err != nil {
						fmt.Fprintf(c.App.ErrWriter, "%s: %v\n", name, err)
						return
					}
					fmt.Fprintf(c.App.Writer, "%s: ", name)
					coordconv.WriteMarkdown(c.App.Writer, []*coordconv.Result{r})
				},
				Progress: func(name string, seed uint64, e coordconv.EpochResult) { printEpoch(c, base.Task, name+": ", seed, e) },
			})
			if errors.Is(err, context.Canceled) {
				return fmt.Errorf("interrupted: finished combinations and epochs are saved under %s; run the same command again to continue", out)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, "\nbest first:")
			if err := coordconv.WriteMarkdown(c.App.Writer, rs); err != nil {
				return err
			}
			if err := coordconv.WriteComparisons(c.App.Writer, coordconv.Compare(rs)); err != nil {
				return err
			}
			if len(failed) > 0 {
				return fmt.Errorf("%d of the combinations failed (the others are in sweep.md):\n%w", len(failed), errors.Join(failed...))
			}
			return nil
		},
	}
}

func coordconvDiagnoseCommand() *cli.Command {
	return &cli.Command{
		Name:  "diagnose",
		Usage: "show why a CoordConv regressor is trapped: where its max pool's winners lie, at θ₀ of each seed or in finished runs",
		Description: "The CoordConv regressor is linear up to its global max pool. Where the pixel that wins the\n" +
			"max lies more than 2 px from the one-hot input's hot pixel, the output does not depend on the\n" +
			"input and training settles on the mean centre (trapped). Without RUN_DIRs, prints for each seed\n" +
			"the fraction of training examples (and both output channels) whose winner at initialisation\n" +
			"lies within 2 px of the hot pixel, with the recipe's initialisation (paper: He-normal; gaze:\n" +
			"the hot-pixel initialisation). With RUN_DIRs (regression runs of gaze coordconv run), prints\n" +
			"the same at θ₀ and after training for each seed, and whether it ended trapped (predictions\n" +
			"spread less than a tenth of the targets').",
		ArgsUsage: "[RUN_DIR...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "split", Value: "uniform", Usage: "uniform or quadrant: the training set the winners are counted on"},
			&cli.Float64Flag{Name: "test-frac", Value: 0.2, Usage: "test fraction of the uniform split"},
			&cli.Uint64Flag{Name: "split-seed", Usage: "seed of the uniform split"},
			&cli.StringFlag{Name: "recipe", Value: "gaze", Usage: "paper (He-normal) or gaze (hot-pixel initialisation)"},
			&cli.IntFlag{Name: "seeds", Value: 10, Usage: "number of seeds"},
			&cli.Uint64Flag{Name: "seed", Usage: "first seed; seeds are seed, seed+1, ..."},
		},
		Action: func(c *cli.Context) error {
			w := c.App.Writer
			if c.NArg() > 0 {
				for _, dir := range c.Args().Slice() {
					r, err := coordconv.Load(dir)
					if err != nil {
						return err
					}
					if r.Config.Task != coordconv.Regression || r.Config.Model != "coordconv" {
						return fmt.Errorf("%s: a %s run of the %s model, not of the CoordConv regressor", dir, r.Config.Task, r.Config.Model)
					}
					trapped := 0
					for _, sr := range r.Seeds {
						if sr.InitDiag == nil || sr.FinalDiag == nil {
							fmt.Fprintf(w, "%s seed %d: no diagnosis (a run from before gaze kept one, or interrupted)\n", dir, sr.Seed)
							continue
						}
						fmt.Fprintf(w, "%s seed %d (%s split, recipe %s)\n  θ₀:  %v\n  end: %v\n", dir, sr.Seed, r.Config.Split, r.Config.Recipe, *sr.InitDiag, *sr.FinalDiag)
						if sr.FinalDiag.Trapped() {
							trapped++
						}
					}
					fmt.Fprintf(w, "%s: %d of %d seeds trapped\n", dir, trapped, len(r.Seeds))
				}
				return nil
			}
			cfg := coordconv.Defaults(coordconv.Regression, "coordconv")
			if r := c.String("recipe"); !slices.Contains(coordconv.Recipes, r) {
				return fmt.Errorf("--recipe %q: want %s", r, strings.Join(coordconv.Recipes, " or "))
			} else {
				cfg = cfg.WithRecipe(r)
			}
			cfg.Split, cfg.TestFrac, cfg.SplitSeed = c.String("split"), c.Float64("test-frac"), c.Uint64("split-seed")
			cfg.Seeds = nil
			for i := range c.Int("seeds") {
				cfg.Seeds = append(cfg.Seeds, c.Uint64("seed")+uint64(i))
			}
			// θ₀ is drawn and diagnosed on the host: every device starts from the same θ₀.
			dev, err := engine.Open("cpu")
			if err != nil {
				return err
			}
			ds, err := coordconv.DiagnoseInit(dev, cfg)
			if err != nil {
				return err
			}
			var sum float64
			for i, d := range ds {
				fmt.Fprintf(w, "seed %d θ₀ (%s split, recipe %s): %v\n", cfg.Seeds[i], cfg.Split, cfg.Recipe, d)
				sum += d.NearHot
			}
			fmt.Fprintf(w, "mean over %d seeds: winner within 2 px of the hot pixel in %.2f%% of examples\n", len(ds), 100*sum/float64(len(ds)))
			return nil
		},
	}
}

func coordconvTableCommand() *cli.Command {
	return &cli.Command{
		Name:      "table",
		Usage:     "print one markdown table of finished runs (median over seeds, per-seed values in brackets) and, where a task and split has both, CoordConv against its best conv baseline",
		ArgsUsage: "RUN_DIR...",
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return fmt.Errorf("name at least one run folder (written by gaze coordconv run --out)")
			}
			var rs []*coordconv.Result
			for _, dir := range c.Args().Slice() {
				r, err := coordconv.Load(dir)
				if err != nil {
					return err
				}
				rs = append(rs, r)
			}
			if err := coordconv.WriteMarkdown(c.App.Writer, rs); err != nil {
				return err
			}
			return coordconv.WriteComparisons(c.App.Writer, coordconv.Compare(rs))
		},
	}
}

func coordconvPlotCommand() *cli.Command {
	return &cli.Command{
		Name:  "plot",
		Usage: "redraw the PNGs of finished runs (learning curves, predictions beside the truth)",
		Description: "Writes curves.png (train and test metric per epoch and seed) and predictions.png (for the first\n" +
			"test examples, the predicted 64×64 map in red beside the truth in black, one row per seed).",
		ArgsUsage: "RUN_DIR...",
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return fmt.Errorf("name at least one run folder (written by gaze coordconv run --out)")
			}
			for _, dir := range c.Args().Slice() {
				if err := coordconv.Plot(dir); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// coordconvConfig turns flags into a run configuration, starting from the task's defaults.
func coordconvConfig(c *cli.Context) (coordconv.Config, error) {
	task, err := coordconv.ParseTask(c.String("task"))
	if err != nil {
		return coordconv.Config{}, err
	}
	model := c.String("model")
	if model != "coordconv" && model != "conv" {
		return coordconv.Config{}, fmt.Errorf("unknown model %q (want %s)", model, strings.Join(coordconv.Models, " or "))
	}
	cfg := coordconv.Defaults(task, model)
	cfg.Split, cfg.TestFrac, cfg.SplitSeed = c.String("split"), c.Float64("test-frac"), c.Uint64("split-seed")
	if r := c.String("recipe"); !slices.Contains(coordconv.Recipes, r) {
		return coordconv.Config{}, fmt.Errorf("--recipe %q: want %s", r, strings.Join(coordconv.Recipes, " or "))
	} else {
		cfg = cfg.WithRecipe(r)
	}
	if c.IsSet("lr-milestones") {
		cfg.LRMilestones = c.IntSlice("lr-milestones")
	}
	if c.IsSet("lr-gamma") {
		cfg.LRGamma = c.Float64("lr-gamma")
	}
	if c.IsSet("lr") {
		cfg.LR = c.Float64("lr")
	}
	if c.IsSet("l2") {
		cfg.L2 = c.Float64("l2")
		if cfg.L2 < 0 {
			return cfg, fmt.Errorf("--l2 %v must be ≥ 0", cfg.L2)
		}
	}
	if c.IsSet("epochs") {
		cfg.Epochs = c.Int("epochs")
	}
	cfg.Beta2, cfg.Batch = c.Float64("beta2"), c.Int("batch")
	cfg.Opts.Mul, cfg.Opts.FS = c.Int("mul"), c.Int("fs")
	// Set only when given: the recipe sets them, and a run folder from before these flags
	// keeps its configuration.
	if c.IsSet("interm") {
		cfg.Opts.Interm = c.Float64("interm")
	}
	if c.IsSet("norm-coords") {
		cfg.Opts.NormCoords = c.Bool("norm-coords")
	}
	if c.IsSet("detach") {
		cfg.Opts.Detach = c.Bool("detach")
	}
	if c.IsSet("softmax-gain") {
		cfg.Opts.Gain = c.Float64("softmax-gain")
	}
	if c.IsSet("render-fs") {
		cfg.Opts.RenderFS = c.Int("render-fs")
	}
	cfg.StopPerfect, cfg.Subsample = c.Bool("stop-perfect"), c.Int("subsample")
	n := c.Int("seeds")
	if n < 1 {
		return cfg, fmt.Errorf("--seeds %d must be ≥ 1", n)
	}
	for i := range n {
		cfg.Seeds = append(cfg.Seeds, c.Uint64("seed")+uint64(i))
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	if _, err := coordconv.NewSpec(cfg.Task, cfg.Model, cfg.Opts); err != nil {
		return cfg, err
	}
	_, _, err = cfg.Sets()
	return cfg, err
}
