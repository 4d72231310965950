package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/coordconv"
	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/models"
	"github.com/gazeml/gaze/internal/csvlog"
	"github.com/gazeml/gaze/internal/rundir"
)

// runConfig is everything that defines a training run; it is saved as config.json so that
// --resume can check it continues the same run.
type runConfig struct {
	Model      string           `json:"model"`
	Data       dataSpec         `json:"data"`
	Opt        engine.OptConfig `json:"optimizer"`
	L2         float64          `json:"l2"`
	Batch      int              `json:"batch"`
	Epochs     int              `json:"epochs"`
	Seed       uint64           `json:"seed"`
	Device     string           `json:"device"`
	CkptEvery  int              `json:"checkpoint_every"`
	EvalBatch  int              `json:"eval_batch"`
	ModelInput []int            `json:"input_shape,omitempty"`
	D          int              `json:"parameters,omitempty"`
	LCA        *lcaSpec         `json:"lca,omitempty"`
	CoordConv  string           `json:"coordconv,omitempty"`
}

func trainFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "model", Value: "mnist-fc", Usage: "network: " + models.Help},
		&cli.StringFlag{Name: "coordconv", Value: "none", Usage: "ResNets only: swap the first (first) or every (all) convolution for a CoordConv"},
		&cli.StringFlag{Name: "data", Value: "mnist", Usage: "data set: mnist, cifar10 or synthetic"},
		dataDirFlag,
		&cli.StringFlag{Name: "synthetic", Value: "2000x1x28x28", Usage: "with --data synthetic: NxCxHxW of the training set (the test set has N/5)"},
		&cli.IntFlag{Name: "classes", Value: 10, Usage: "with --data synthetic: number of classes"},
		&cli.IntFlag{Name: "held-out", Usage: "take this many training examples out as a held-out split (LCA: 5000)"},
		&cli.Uint64Flag{Name: "split-seed", Usage: "seed of the held-out split"},
		&cli.StringFlag{Name: "opt", Value: "sgd", Usage: "optimizer: sgd or adam"},
		&cli.Float64Flag{Name: "lr", Value: 0.01, Usage: "learning rate"},
		&cli.Float64Flag{Name: "momentum", Value: 0.9, Usage: "SGD momentum"},
		&cli.BoolFlag{Name: "nesterov", Usage: "SGD with Nesterov momentum"},
		&cli.Float64Flag{Name: "weight-decay", Usage: "decoupled-from-loss weight decay added to the gradient (PyTorch's weight_decay)"},
		&cli.Float64Flag{Name: "l2", Usage: "L2 penalty λ/2·Σw² on weights, added to the loss and reported apart"},
		&cli.Float64Flag{Name: "beta1", Value: 0.9, Usage: "Adam β1"},
		&cli.Float64Flag{Name: "beta2", Value: 0.999, Usage: "Adam β2 (the reference LCA/intrinsic-dimension code uses 0.99)"},
		&cli.Float64Flag{Name: "eps", Value: 1e-8, Usage: "Adam epsilon"},
		&cli.IntSliceFlag{Name: "lr-milestones", Usage: "epochs at which the learning rate is multiplied by --lr-gamma (e.g. 100,150)"},
		&cli.Float64Flag{Name: "lr-gamma", Value: 0.1, Usage: "learning-rate factor at each milestone"},
		&cli.StringSliceFlag{Name: "freeze", Usage: "freeze LAYER (or LAYER@ITER: from iteration ITER on); a trailing . or * selects a prefix, e.g. stage1.*; repeatable"},
		&cli.StringSliceFlag{Name: "layer-lr", Usage: "LAYER=LR[@ITER]: a learning rate of its own for a layer (from iteration ITER on); repeatable"},
		&cli.StringSliceFlag{Name: "layer-momentum", Usage: "LAYER=M[@ITER]: a momentum (Adam: β1) of its own for a layer; repeatable"},
		&cli.IntFlag{Name: "batch", Value: 250, Usage: "minibatch size"},
		&cli.IntFlag{Name: "epochs", Value: 3, Usage: "number of epochs"},
		&cli.Uint64Flag{Name: "seed", Usage: "seed of initialisation, shuffling and dropout"},
		&cli.StringFlag{Name: "device", Value: "cpu", Usage: "device: cpu or cuda (see gaze devices)"},
		&cli.StringFlag{Name: "out", Value: "runs/train", Usage: "output folder: config.json, metrics.csv, epochs.csv, result.json, checkpoint.ckpt"},
		&cli.BoolFlag{Name: "resume", Usage: "continue the run in --out from its checkpoint (same flags; --epochs may grow)"},
		&cli.IntFlag{Name: "checkpoint-every", Value: 500, Usage: "iterations between checkpoints (one is also written after every epoch and on Ctrl-C)"},
		&cli.IntFlag{Name: "eval-batch", Value: 1000, Usage: "batch size for evaluation"},
		&cli.BoolFlag{Name: "quiet", Usage: "no progress bar; one line per epoch"},
	}
}

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:  "train",
		Usage: "train a model and report test accuracy",
		Description: "Trains --model on --data and writes, in --out: config.json (the run's settings), metrics.csv (loss per\n" +
			"iteration), epochs.csv (train loss, test loss and accuracy per epoch), result.json and checkpoint.ckpt.\n" +
			"Ctrl-C writes a checkpoint; --resume continues without losing or repeating an iteration.",
		Flags:  trainFlags(),
		Action: runTrain,
	}
}

func configFromFlags(c *cli.Context) (runConfig, error) {
	cfg := runConfig{
		Model: c.String("model"),
		Data: dataSpec{Name: c.String("data"), Dir: c.String("data-dir"), HeldOut: c.Int("held-out"),
			SplitSeed: c.Uint64("split-seed"), Classes: c.Int("classes")},
		Opt: engine.OptConfig{Kind: c.String("opt"), LR: c.Float64("lr"), WeightDecay: c.Float64("weight-decay"),
			Milestones: c.IntSlice("lr-milestones"), Gamma: c.Float64("lr-gamma")},
		L2: c.Float64("l2"), Batch: c.Int("batch"), Epochs: c.Int("epochs"), Seed: c.Uint64("seed"),
		Device: c.String("device"), CkptEvery: c.Int("checkpoint-every"), EvalBatch: c.Int("eval-batch"),
	}
	if mode := c.String("coordconv"); mode != "none" {
		cfg.CoordConv = mode
	}
	switch cfg.Opt.Kind {
	case "sgd":
		cfg.Opt.Momentum, cfg.Opt.Nesterov = c.Float64("momentum"), c.Bool("nesterov")
	case "adam":
		cfg.Opt.Beta1, cfg.Opt.Beta2, cfg.Opt.Eps = c.Float64("beta1"), c.Float64("beta2"), c.Float64("eps")
	}
	groups, err := groupsFromFlags(c)
	if err != nil {
		return cfg, err
	}
	cfg.Opt.Groups = groups
	if cfg.Data.Name == "synthetic" {
		cfg.Data.Synthetic = c.String("synthetic")
	} else {
		cfg.Data.Classes = 0
	}
	if err := cfg.Opt.Validate(); err != nil {
		return cfg, err
	}
	switch {
	case cfg.Batch < 1:
		return cfg, fmt.Errorf("--batch %d must be ≥ 1", cfg.Batch)
	case cfg.Epochs < 1:
		return cfg, fmt.Errorf("--epochs %d must be ≥ 1", cfg.Epochs)
	case cfg.L2 < 0:
		return cfg, fmt.Errorf("--l2 %v must be ≥ 0", cfg.L2)
	case cfg.CkptEvery < 0:
		return cfg, fmt.Errorf("--checkpoint-every %d must be ≥ 0", cfg.CkptEvery)
	case cfg.Data.HeldOut < 0:
		return cfg, fmt.Errorf("--held-out %d must be ≥ 0", cfg.Data.HeldOut)
	case cfg.Data.Name == "synthetic" && cfg.Data.Classes < 2:
		return cfg, fmt.Errorf("--classes %d must be ≥ 2", cfg.Data.Classes)
	}
	return cfg, nil
}

// sameRun reports how cfg differs from the saved configuration, ignoring what may change on
// resume (epochs, checkpoint interval, evaluation batch, the data folder).
func sameRun(saved, cfg runConfig) error {
	a, b := saved, cfg
	a.Epochs, b.Epochs = 0, 0
	a.CkptEvery, b.CkptEvery = 0, 0
	a.EvalBatch, b.EvalBatch = 0, 0
	a.Data.Dir, b.Data.Dir = "", ""
	a.ModelInput, b.ModelInput, a.D, b.D = nil, nil, 0, 0
	a.Device, b.Device = "", ""
	if reflect.DeepEqual(a, b) {
		return nil
	}
	sj, _ := json.Marshal(a)
	cj, _ := json.Marshal(b)
	return fmt.Errorf("--resume: the flags describe another run than the one saved\n saved: %s\n  flags: %s", sj, cj)
}

func runTrain(c *cli.Context) error {
	cfg, err := configFromFlags(c)
	if err != nil {
		return err
	}
	s, err := newSession(c, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	res, err := s.train(c)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "test accuracy %.2f %% after %d epochs (%s)\n", 100*res["test_acc"].(float64), cfg.Epochs, s.out)
	return nil
}

// session is a training run being set up: what `gaze train` and `gaze lca train` share.
type session struct {
	cfg    runConfig
	out    string
	resume bool
	logf   func(string, ...any)
	dev    engine.Device
	ds     *loaded
	m      *engine.Model
	opt    *engine.Optimizer
	tr     *engine.Trainer
	ckPath string
}

// newSession checks the output folder (a new run must not overwrite one; a resumed run must
// match the saved configuration), then opens the device, loads the data and builds the model,
// optimizer and trainer. The checkpoint is loaded by train, after the caller attached its hooks.
func newSession(c *cli.Context, cfg runConfig) (*session, error) {
	s := &session{cfg: cfg, out: c.String("out"), resume: c.Bool("resume"),
		logf: func(format string, a ...any) { fmt.Fprintf(c.App.ErrWriter, format+"\n", a...) }}
	if err := ensureWritable(s.out); err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(s.out, "config.json")
	s.ckPath = filepath.Join(s.out, "checkpoint.ckpt")
	if s.resume {
		var saved runConfig
		b, err := os.ReadFile(cfgPath)
		if err != nil {
			return nil, fmt.Errorf("--resume: %s holds no run: %w", s.out, err)
		}
		if err := json.Unmarshal(b, &saved); err != nil {
			return nil, fmt.Errorf("--resume: %s: %w", cfgPath, err)
		}
		if err := sameRun(saved, cfg); err != nil {
			return nil, err
		}
		if _, err := os.Stat(s.ckPath); err != nil {
			return nil, fmt.Errorf("--resume: no checkpoint in %s (the run stopped before its first one): start it again without --resume into a new folder", s.out)
		}
	} else {
		for _, f := range []string{cfgPath, s.ckPath, filepath.Join(s.out, "metrics.csv")} {
			if _, err := os.Stat(f); err == nil {
				return nil, fmt.Errorf("%s already holds a run (%s); continue it with --resume or choose another --out", s.out, filepath.Base(f))
			}
		}
	}
	var err error
	if s.dev, err = engine.Open(cfg.Device); err != nil {
		return nil, err
	}
	if s.ds, err = loadData(cfg.Data, s.logf); err != nil {
		return nil, err
	}
	if s.m, err = buildModel(s.dev, cfg, s.ds, min(cfg.Batch, s.ds.train.Len())); err != nil {
		return nil, err
	}
	s.m.L2 = cfg.L2
	s.m.Init(cfg.Seed)
	s.cfg.ModelInput, s.cfg.D = s.ds.in, s.m.Arena.D
	if s.opt, err = engine.NewOptimizer(s.dev, s.m.Arena, cfg.Opt); err != nil {
		s.close()
		return nil, err
	}
	s.tr, err = engine.NewTrainer(s.m, s.opt, s.ds.train, s.ds.test, engine.TrainConfig{Epochs: cfg.Epochs, Batch: cfg.Batch,
		Seed: cfg.Seed, EvalBatch: cfg.EvalBatch, Checkpoint: s.ckPath, CheckpointEvery: cfg.CkptEvery})
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *session) close() {
	if s.opt != nil {
		s.opt.Close()
	}
	if s.m != nil {
		s.m.Close()
	}
}

// train resumes from the checkpoint when asked, writes config.json, runs the trainer with the
// progress bar and the metrics files, and writes result.json, which it returns.
func (s *session) train(c *cli.Context) (map[string]any, error) {
	cfg, tr, m, logf := s.cfg, s.tr, s.m, s.logf
	if s.resume {
		if err := tr.LoadCheckpoint(s.ckPath); err != nil {
			return nil, err
		}
		logf("resuming %s at iteration %d of %d", s.out, tr.Iter, tr.TotalSteps())
	}
	cj, _ := json.MarshalIndent(cfg, "", "  ")
	if err := rundir.WriteFileAtomic(filepath.Join(s.out, "config.json"), append(cj, '\n')); err != nil {
		return nil, err
	}

	// On resume, rows past the checkpoint (written after it, before the run stopped) go.
	var keepIter, keepEpoch func(int) bool
	if s.resume {
		keepIter = func(it int) bool { return it < tr.Iter }
		keepEpoch = func(it int) bool { return it <= tr.Iter }
	}
	metrics, err := csvlog.Open(filepath.Join(s.out, "metrics.csv"), []string{"iter", "epoch", "loss", "l2", "lr"}, 0, keepIter)
	if err != nil {
		return nil, err
	}
	defer metrics.Close()
	epochs, err := csvlog.Open(filepath.Join(s.out, "epochs.csv"), []string{"epoch", "iter", "train_loss", "test_loss", "test_acc", "seconds"}, 1, keepEpoch)
	if err != nil {
		return nil, err
	}
	defer epochs.Close()

	logf("gaze: %s (%d parameters) on %s: %d training, %d test examples; %s lr %g, batch %d, %d epochs (%d iterations) on %s",
		cfg.Model, m.Arena.D, cfg.Data.Name, s.ds.train.Len(), s.ds.test.Len(), cfg.Opt.Kind, cfg.Opt.LR, cfg.Batch, cfg.Epochs, tr.TotalSteps(), s.dev.Name())
	bar := newProgressBar(c.App.ErrWriter, c.Bool("quiet"))
	tr.OnStep = func(st engine.StepInfo) {
		metrics.Row(st.Iter, st.Epoch+1, st.Loss, st.L2, st.LR)
	}
	tr.Progress = bar.update
	var last engine.EpochInfo
	tr.OnEpoch = func(e engine.EpochInfo) error {
		bar.clear()
		logf("epoch %d/%d: train loss %.4f, test loss %.4f, test accuracy %.2f %% (%.1f s)", e.Epoch, cfg.Epochs, e.TrainLoss, e.TestLoss, 100*e.TestAcc, e.Seconds)
		epochs.Row(e.Epoch, e.Iter, e.TrainLoss, e.TestLoss, e.TestAcc, e.Seconds)
		last = e
		return errors.Join(metrics.Flush(), epochs.Flush())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	err = tr.Run(ctx)
	bar.clear()
	if ferr := errors.Join(metrics.Flush(), epochs.Flush()); ferr != nil {
		return nil, ferr
	}
	if errors.Is(err, context.Canceled) {
		logf("interrupted: checkpoint at iteration %d written to %s; continue with the same command plus --resume", tr.Iter, s.ckPath)
		return nil, cli.Exit("", 130)
	}
	if err != nil {
		return nil, err
	}
	res := map[string]any{"model": cfg.Model, "parameters": m.Arena.D, "iterations": tr.Iter, "epochs": cfg.Epochs,
		"test_loss": last.TestLoss, "test_acc": last.TestAcc, "train_loss": last.TrainLoss, "seconds_this_process": time.Since(start).Seconds()}
	if s.ds.heldOut != nil {
		hl, ha, err := m.Evaluate(s.ds.heldOut, cfg.EvalBatch, engine.EvalMode)
		if err != nil {
			return nil, err
		}
		res["held_out_loss"], res["held_out_acc"] = hl, ha
		logf("held-out (%d examples): loss %.4f, accuracy %.2f %%", s.ds.heldOut.Len(), hl, 100*ha)
	}
	rj, _ := json.MarshalIndent(res, "", "  ")
	if err := rundir.WriteFileAtomic(filepath.Join(s.out, "result.json"), append(rj, '\n')); err != nil {
		return nil, err
	}
	return res, nil
}

// progressBar draws one status line on a terminal, or a line every 30 s elsewhere (logs).
type progressBar struct {
	w        io.Writer
	tty      bool
	quiet    bool
	last     time.Time
	drawn    bool
	interval time.Duration
}

func newProgressBar(w io.Writer, quiet bool) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	iv := 30 * time.Second
	if tty {
		iv = 200 * time.Millisecond
	}
	return &progressBar{w: w, tty: tty, quiet: quiet, interval: iv, last: time.Now()}
}

func (p *progressBar) update(s engine.Progress) {
	if p.quiet || (time.Since(p.last) < p.interval && s.Iter != s.Total) {
		return
	}
	p.last = time.Now()
	const width = 24
	done := width * s.Iter / s.Total
	bar := strings.Repeat("=", done) + strings.Repeat(" ", width-done)
	eta := s.ETA.Round(time.Second)
	line := fmt.Sprintf("epoch %d [%s] it %d/%d  loss %.4f  %.0f ex/s  ETA %s", s.Epoch, bar, s.Iter, s.Total, s.Loss, s.ExPerSec, eta)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		p.drawn = true
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func (p *progressBar) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// groupsFromFlags turns --freeze, --layer-lr and --layer-momentum into optimizer overrides.
func groupsFromFlags(c *cli.Context) ([]engine.GroupOverride, error) {
	var groups []engine.GroupOverride
	from := func(flag, s string) (string, int, error) {
		spec, at, ok := strings.Cut(s, "@")
		if !ok {
			return spec, 0, nil
		}
		it, err := strconv.Atoi(at)
		if err != nil || it < 0 {
			return "", 0, fmt.Errorf("--%s %q: %q is not an iteration", flag, s, at)
		}
		return spec, it, nil
	}
	for _, s := range c.StringSlice("freeze") {
		layer, it, err := from("freeze", s)
		if err != nil {
			return nil, err
		}
		groups = append(groups, engine.GroupOverride{Layers: []string{layer}, Frozen: true, FromIter: it})
	}
	for _, flag := range []string{"layer-lr", "layer-momentum"} {
		for _, s := range c.StringSlice(flag) {
			spec, it, err := from(flag, s)
			if err != nil {
				return nil, err
			}
			layer, val, ok := strings.Cut(spec, "=")
			v, err := strconv.ParseFloat(val, 64)
			if !ok || err != nil {
				return nil, fmt.Errorf("--%s %q: want LAYER=VALUE[@ITER]", flag, s)
			}
			g := engine.GroupOverride{Layers: []string{layer}, FromIter: it}
			if flag == "layer-lr" {
				g.LR = &v
			} else {
				g.Momentum = &v
			}
			groups = append(groups, g)
		}
	}
	return groups, nil
}

// buildModel builds the zoo model, with CoordConvs swapped in when --coordconv asks.
func buildModel(dev engine.Device, cfg runConfig, ds *loaded, batch int) (*engine.Model, error) {
	if cfg.CoordConv == "" {
		return models.New(dev, cfg.Model, ds.in, ds.classes, batch)
	}
	n, err := models.ResNetBlocks(cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("--coordconv %s: %w", cfg.CoordConv, err)
	}
	net, err := coordconv.ResNet(n, ds.classes, cfg.CoordConv)
	if err != nil {
		return nil, err
	}
	return engine.NewModel(dev, cfg.Model, net, ds.in, engine.SoftmaxCrossEntropy, batch)
}
