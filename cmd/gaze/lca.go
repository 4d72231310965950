package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/engine/models"
	"github.com/gazeml/gaze/internal/bytesize"
	"github.com/gazeml/gaze/lca"
)

// lcaSpec is the LCA part of a run's configuration (compared on --resume).
type lcaSpec struct {
	Examples int        `json:"examples"`
	Seed     uint64     `json:"seed"`
	Config   lca.Config `json:"integrator"`
	SaveLCA  bool       `json:"save_lca"`
	SaveW    bool       `json:"save_weights"`
	Offline  bool       `json:"offline"`
}

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
		&cli.BoolFlag{Name: "save-lca", Usage: "also write lca.npy, the T × D per-parameter LCA (float32)"},
		&cli.BoolFlag{Name: "save-weights", Usage: "also write weights.npy, the (T+1) × D trajectory (float32), for offline LCA"},
		&cli.BoolFlag{Name: "offline", Usage: "train and save the trajectory only (with --save-weights); compute LCA later with `gaze lca compute`"},
		&cli.BoolFlag{Name: "no-report", Usage: "do not write the report at the end"},
	}
}

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
					"optionally lca.npy and weights.npy, and the report (report/report.html). --resume continues a killed run.",
				Flags:  append(train, lcaFlags()...),
				Action: runLCATrain,
			},
			{
				Name:      "compute",
				Usage:     "compute LCA offline for a range of iterations of a run saved with --save-weights",
				ArgsUsage: "RUN",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "iters", Value: ":", Usage: "iterations a:b to compute (either side may be empty)"},
					&cli.StringFlag{Name: "out", Usage: "part directory (default RUN/parts/a-b)"},
					&cli.StringFlag{Name: "device", Value: "cpu", Usage: "device: cpu or cuda"},
					dataDirFlag,
				},
				Action: runLCACompute,
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
						parts, _ = filepath.Glob(filepath.Join(run, "parts", "*"))
						sort.Strings(parts)
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
				Usage:     "write the plots and the HTML report of a computed run",
				ArgsUsage: "RUN",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the summary as JSON"}},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return errors.New("usage: gaze lca report RUN")
					}
					return writeReport(c, c.Args().First())
				},
			},
		},
	}
}

func writeReport(c *cli.Context, run string) error {
	s, err := lca.Report(run)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		b, _ := json.MarshalIndent(s, "", "  ")
		fmt.Fprintln(c.App.Writer, string(b))
		return nil
	}
	fmt.Fprintf(c.App.Writer, "LCA of %s over %s, %d iterations: ΔL = %.4f, ΣLCA = %.4f (relative error %.3f %%, first order %.2f %%); "+
		"largest per-iteration error %.2g; %.1f %% of parameters help on average\nreport: %s\n",
		s.Model, s.LCASet, s.Iterations, s.DeltaLoss, s.SumLCA, 100*s.RelErr, 100*s.FirstRelErr, s.MaxIterErr, 100*s.HelpedMean,
		filepath.Join(run, lca.ReportDir, "report.html"))
	return nil
}

func lcaSpecFromFlags(c *cli.Context) (lcaSpec, error) {
	sp := lcaSpec{Examples: c.Int("lca-examples"), Seed: c.Uint64("lca-seed"),
		Config: lca.Config{Chunk: c.Int("lca-batch"), Threshold: c.Float64("error-threshold"), MaxN: c.Int("max-n"),
			FirstOrder: c.Bool("first-order"), IncludeL2: c.Bool("include-l2"), BatchStats: !c.Bool("bn-running-stats")},
		SaveLCA: c.Bool("save-lca"), SaveW: c.Bool("save-weights"), Offline: c.Bool("offline")}
	if err := sp.Config.Validate(); err != nil {
		return sp, err
	}
	if sp.Examples < 0 {
		return sp, fmt.Errorf("--lca-examples %d must be ≥ 0", sp.Examples)
	}
	if sp.Offline && !sp.SaveW {
		return sp, errors.New("--offline needs --save-weights: offline LCA is computed from the saved trajectory")
	}
	return sp, nil
}

// lcaSet is the LCA set: the training split, or a seeded random subset of it.
func lcaSet(train *data.Dataset, n int, seed uint64) (*data.Dataset, string, error) {
	if n == 0 || n >= train.Len() {
		return train, fmt.Sprintf("the whole training split (%d examples)", train.Len()), nil
	}
	_, sub, err := data.Split(train, n, seed)
	if err != nil {
		return nil, "", err
	}
	return sub, fmt.Sprintf("a fixed random subset of %d training examples (seed %d)", n, seed), nil
}

func newMeta(cfg runConfig, sp lcaSpec, s *session, set string) (*lca.Meta, error) {
	dj, err := json.Marshal(cfg.Data)
	if err != nil {
		return nil, err
	}
	m := &lca.Meta{Model: cfg.Model, Input: s.ds.in, Classes: s.ds.classes, Data: dj, Optimizer: cfg.Opt, L2: cfg.L2,
		Batch: cfg.Batch, Epochs: cfg.Epochs, StepsPerEpoch: s.tr.StepsPerEpoch(), Seed: cfg.Seed, Device: cfg.Device,
		Integrator: sp.Config, LCAExamples: sp.Examples, LCASubset: sp.Examples > 0, LCASeed: sp.Seed, LCASet: set,
		Computed: !sp.Offline, T: s.tr.TotalSteps()}
	m.Outputs.LCA, m.Outputs.Weights = sp.SaveLCA && !sp.Offline, sp.SaveW
	m.Iters = [2]int{0, s.tr.TotalSteps()}
	m.FillArena(s.m.Arena)
	return m, nil
}

func runLCATrain(c *cli.Context) error {
	cfg, err := configFromFlags(c)
	if err != nil {
		return err
	}
	sp, err := lcaSpecFromFlags(c)
	if err != nil {
		return err
	}
	cfg.LCA = &sp
	s, err := newSession(c, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	set, setDesc, err := lcaSet(s.ds.train, sp.Examples, sp.Seed)
	if err != nil {
		return err
	}
	var it *lca.Integrator
	if !sp.Offline {
		if it, err = lca.NewIntegrator(s.m, set, sp.Config); err != nil {
			return err
		}
		defer it.Close()
	}
	rec := lca.NewRecorder(s.out, s.m, it, lca.Outputs{LCA: sp.SaveLCA && !sp.Offline, Weights: sp.SaveW})
	T := s.tr.TotalSteps()
	need := rec.PlannedBytes(T)
	if err := lca.CheckDisk(s.out, need); err != nil {
		return err
	}
	s.logf("LCA over %s; the run writes about %s to %s", setDesc, bytesize.Format(need), s.out)
	meta, err := newMeta(s.cfg, sp, s, setDesc)
	if err != nil {
		return err
	}
	if err := lca.WriteMeta(s.out, meta); err != nil {
		return err
	}
	s.tr.Hook = rec.Hook
	s.tr.Extra = rec
	if !s.resume {
		if err := rec.Start(0, s.m.Arena.Theta); err != nil {
			return err
		}
	}
	start := time.Now()
	_, err = s.train(c)
	if cerr := rec.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	s.logf("training with LCA took %.1f s", time.Since(start).Seconds())
	if sp.Offline || c.Bool("no-report") {
		fmt.Fprintf(c.App.Writer, "run saved in %s\n", s.out)
		return nil
	}
	return writeReport(c, s.out)
}

func runLCACompute(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("usage: gaze lca compute RUN --iters a:b")
	}
	run := c.Args().First()
	meta, err := lca.ReadMeta(run)
	if err != nil {
		return err
	}
	a, b, err := lca.ParseRange(c.String("iters"), meta.T)
	if err != nil {
		return err
	}
	out := c.String("out")
	if out == "" {
		out = filepath.Join(run, "parts", fmt.Sprintf("%07d-%07d", a, b))
	}
	var spec dataSpec
	if err := json.Unmarshal(meta.Data, &spec); err != nil {
		return fmt.Errorf("%s: data description: %w", run, err)
	}
	if c.IsSet("data-dir") {
		spec.Dir = c.String("data-dir")
	}
	logf := func(format string, a ...any) { fmt.Fprintf(c.App.ErrWriter, format+"\n", a...) }
	ds, err := loadData(spec, logf)
	if err != nil {
		return err
	}
	set, _, err := lcaSet(ds.train, meta.LCAExamples, meta.LCASeed)
	if err != nil {
		return err
	}
	dev, err := engine.Open(c.String("device"))
	if err != nil {
		return err
	}
	m, err := models.New(dev, meta.Model, meta.Input, meta.Classes, min(meta.Integrator.Chunk, set.Len()))
	if err != nil {
		return err
	}
	defer m.Close()
	m.L2 = meta.L2
	start := time.Now()
	if err := lca.Compute(run, meta, m, set, a, b, out); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "LCA of iterations %d:%d written to %s (%.1f s)\n", a, b, out, time.Since(start).Seconds())
	return nil
}
