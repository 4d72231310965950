// Package train is a training run in a run folder: what `gaze train` does and what `gaze lca
// train` builds on. Run opens the folder (internal/rundir: a new run refuses a used folder,
// --resume compares the configuration field by field), loads the data, builds the model,
// optimizer and trainer, and trains with a progress line, metrics files, checkpoints and a
// result file.
package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/gazeml/gaze/coordconv"
	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/engine/models"
	"github.com/gazeml/gaze/internal/csvlog"
	"github.com/gazeml/gaze/internal/rundir"
)

// Config is everything that defines a training run. config.json holds it (its field names are
// those of the first runs, so older folders resume), and --resume compares it with the flags.
type Config struct {
	Model     string           `json:"model"`
	Data      data.Spec        `json:"data"`
	Opt       engine.OptConfig `json:"optimizer"`
	L2        float64          `json:"l2"`
	Batch     int              `json:"batch"`
	Epochs    int              `json:"epochs"`
	Seed      uint64           `json:"seed"`
	Device    string           `json:"device"`
	Precision string           `json:"precision,omitempty"` // "" or fp32: float32; tf32: TF32 tensor cores (cuda)
	CkptEvery int              `json:"checkpoint_every"`
	EvalBatch int              `json:"eval_batch"`
	// Input and D are filled in when the model is built (recorded for readers of the folder).
	Input     []int  `json:"input_shape,omitempty"`
	D         int    `json:"parameters,omitempty"`
	CoordConv string `json:"coordconv,omitempty"` // ResNets: "first" or "all" convolutions are CoordConvs
}

// Layout is a training run's folder: config.json, checkpoint.ckpt, metrics.csv, epochs.csv and
// result.json. A resumed run may train more epochs, checkpoint at another interval, evaluate in
// other batches, read its data from another folder and run on another device or at another
// precision (like the device, the precision changes the rounding, not the recipe).
var Layout = rundir.Layout{
	Markers:    []string{"checkpoint.ckpt", "metrics.csv"},
	Checkpoint: "checkpoint.ckpt",
	Mutable:    []string{"epochs", "checkpoint_every", "eval_batch", "data.dir", "device", "precision"},
	Derived:    []string{"input_shape", "parameters"},
}

// Validate reports a configuration that cannot run, naming the flag.
func (c Config) Validate() error {
	if err := c.Opt.Validate(); err != nil {
		return err
	}
	switch {
	case c.Batch < 1:
		return fmt.Errorf("--batch %d must be ≥ 1", c.Batch)
	case c.Epochs < 1:
		return fmt.Errorf("--epochs %d must be ≥ 1", c.Epochs)
	case c.L2 < 0:
		return fmt.Errorf("--l2 %v must be ≥ 0", c.L2)
	case c.CkptEvery < 0:
		return fmt.Errorf("--checkpoint-every %d must be ≥ 0", c.CkptEvery)
	case c.Data.HeldOut < 0:
		return fmt.Errorf("--held-out %d must be ≥ 0", c.Data.HeldOut)
	case c.Data.Name == "synthetic" && c.Data.Classes < 2:
		return fmt.Errorf("--classes %d must be ≥ 2", c.Data.Classes)
	case c.Precision != "" && c.Precision != engine.PrecisionFP32 && c.Precision != engine.PrecisionTF32:
		return fmt.Errorf("--precision %q: want %s or %s", c.Precision, engine.PrecisionFP32, engine.PrecisionTF32)
	}
	return nil
}

// Options are how a run is carried out; they change none of its numbers.
type Options struct {
	Dir    string    // the run folder
	Resume bool      // continue the run in Dir from its checkpoint
	Quiet  bool      // no progress line; one line per epoch
	Log    io.Writer // progress line and log lines (nil: none)
	// Saved, when set, turns the configuration into what config.json holds (a command that
	// adds its own part, as lca does); by default the configuration itself.
	Saved func(Config) any
	// Mutable names more fields of the saved configuration that may change on --resume (the
	// caller's own part: "lca.devices").
	Mutable []string
	// Device, when set, is the opened device to train on, in place of opening Config.Device
	// (lca trains on the first of its --devices).
	Device engine.Device
}

func (o Options) saved(c Config) any {
	if o.Saved != nil {
		return o.Saved(c)
	}
	return c
}

// Result is what result.json holds. The fields are in alphabetical order, the order in which
// the first runs wrote them.
type Result struct {
	Epochs      int      `json:"epochs"`
	HeldOutAcc  *float64 `json:"held_out_acc,omitempty"`
	HeldOutLoss *float64 `json:"held_out_loss,omitempty"`
	Iterations  int      `json:"iterations"`
	Model       string   `json:"model"`
	Parameters  int      `json:"parameters"`
	Seconds     float64  `json:"seconds_this_process"`
	TestAcc     float64  `json:"test_acc"`
	TestLoss    float64  `json:"test_loss"`
	TrainLoss   float64  `json:"train_loss"`
}

// InterruptedError is the error of a run stopped by its context (Ctrl-C): the checkpoint it
// wrote lets --resume continue it. It matches context.Canceled.
type InterruptedError struct {
	Iter       int
	Checkpoint string
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("interrupted: checkpoint at iteration %d written to %s; continue with the same command plus --resume", e.Iter, e.Checkpoint)
}

func (e *InterruptedError) Unwrap() error { return context.Canceled }

// Session is an open training run: its folder, device, data, model, optimizer and trainer. A
// caller that records more (lca) attaches its hooks to Trainer between Open and Train.
type Session struct {
	Config  Config
	Run     *rundir.Run
	Device  engine.Device
	Data    *data.Loaded
	Model   *engine.Model
	Opt     *engine.Optimizer
	Trainer *engine.Trainer
	opts    Options
}

// Run trains cfg in o.Dir: Open, then Train.
func Run(ctx context.Context, cfg Config, o Options) (*Result, error) {
	s, err := Open(cfg, o)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Train(ctx)
}

// Open validates cfg, opens the run folder (a new run must not overwrite one; a resumed run
// must match the saved configuration), then opens the device, loads the data and builds the
// model, optimizer and trainer. The checkpoint is loaded by Train, after the caller attached
// its hooks.
func Open(cfg Config, o Options) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	layout := Layout
	layout.Mutable = append(slices.Clone(Layout.Mutable), o.Mutable...)
	r, err := rundir.Open(o.Dir, o.Resume, layout, o.saved(cfg))
	if err != nil {
		return nil, err
	}
	s := &Session{Config: cfg, Run: r, opts: o}
	if err := s.build(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Session) build() error {
	cfg := s.Config
	var err error
	if s.Device = s.opts.Device; s.Device == nil {
		if s.Device, err = engine.Open(cfg.Device); err != nil {
			return err
		}
	}
	if err = engine.SetPrecision(s.Device, cfg.Precision); err != nil {
		return err
	}
	if s.Data, err = data.Load(cfg.Data, s.Logf); err != nil {
		return err
	}
	if s.Model, err = BuildModel(s.Device, cfg, s.Data, min(cfg.Batch, s.Data.Train.Len())); err != nil {
		return err
	}
	s.Model.L2 = cfg.L2
	s.Model.Init(cfg.Seed)
	s.Config.Input, s.Config.D = s.Data.Input, s.Model.Arena.D
	if s.Opt, err = engine.NewOptimizer(s.Device, s.Model.Arena, cfg.Opt); err != nil {
		return err
	}
	s.Trainer, err = engine.NewTrainer(s.Model, s.Opt, s.Data.Train, s.Data.Test, engine.TrainConfig{Epochs: cfg.Epochs, Batch: cfg.Batch,
		Seed: cfg.Seed, EvalBatch: cfg.EvalBatch, Checkpoint: s.Run.Checkpoint(), CheckpointEvery: cfg.CkptEvery})
	return err
}

// BuildModel builds the zoo model cfg names, with CoordConvs swapped in when cfg.CoordConv asks.
func BuildModel(dev engine.Device, cfg Config, ds *data.Loaded, batch int) (*engine.Model, error) {
	if cfg.CoordConv == "" {
		return models.New(dev, cfg.Model, ds.Input, ds.Classes, batch)
	}
	n, err := models.ResNetBlocks(cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("--coordconv %s: %w", cfg.CoordConv, err)
	}
	net, err := coordconv.ResNet(n, ds.Classes, cfg.CoordConv)
	if err != nil {
		return nil, err
	}
	return engine.NewModel(dev, cfg.Model, net, ds.Input, engine.SoftmaxCrossEntropy, batch)
}

// Logf writes one line to the run's log.
func (s *Session) Logf(format string, args ...any) {
	if s.opts.Log != nil {
		fmt.Fprintf(s.opts.Log, format+"\n", args...)
	}
}

// Close frees the model and optimizer and releases the run folder.
func (s *Session) Close() error {
	if s.Opt != nil {
		s.Opt.Close()
		s.Opt = nil
	}
	if s.Model != nil {
		s.Model.Close()
		s.Model = nil
	}
	if s.Run != nil {
		return s.Run.Close()
	}
	return nil
}

// Train resumes from the checkpoint when asked, writes config.json, runs the trainer with the
// progress line and the metrics files, and writes result.json, which it returns. A cancelled
// context ends it with an *InterruptedError after the checkpoint is written.
func (s *Session) Train(ctx context.Context) (*Result, error) {
	cfg, tr, m := s.Config, s.Trainer, s.Model
	if s.opts.Resume {
		if err := tr.LoadCheckpoint(s.Run.Checkpoint()); err != nil {
			return nil, err
		}
		s.Logf("resuming %s at iteration %d of %d", s.Run.Dir, tr.Iter, tr.TotalSteps())
	}
	if err := s.Run.WriteConfig(s.opts.saved(cfg)); err != nil {
		return nil, err
	}

	// On resume, rows past the checkpoint (written after it, before the run stopped) go.
	var keepIter, keepEpoch func(int) bool
	if s.opts.Resume {
		keepIter = func(it int) bool { return it < tr.Iter }
		keepEpoch = func(it int) bool { return it <= tr.Iter }
	}
	metrics, err := csvlog.Open(s.Run.Path("metrics.csv"), []string{"iter", "epoch", "loss", "l2", "lr"}, 0, keepIter)
	if err != nil {
		return nil, err
	}
	defer metrics.Close()
	epochs, err := csvlog.Open(s.Run.Path("epochs.csv"), []string{"epoch", "iter", "train_loss", "test_loss", "test_acc", "seconds"}, 1, keepEpoch)
	if err != nil {
		return nil, err
	}
	defer epochs.Close()

	s.Logf("gaze: %s (%d parameters) on %s: %d training, %d test examples; %s lr %g, batch %d, %d epochs (%d iterations) on %s",
		cfg.Model, m.Arena.D, cfg.Data.Name, s.Data.Train.Len(), s.Data.Test.Len(), cfg.Opt.Kind, cfg.Opt.LR, cfg.Batch, cfg.Epochs, tr.TotalSteps(), s.Device.Name())
	bar := newProgressBar(s.opts.Log, s.opts.Quiet)
	tr.OnStep = func(st engine.StepInfo) {
		metrics.Row(st.Iter, st.Epoch+1, st.Loss, st.L2, st.LR)
	}
	tr.Progress = bar.update
	var last engine.EpochInfo
	tr.OnEpoch = func(e engine.EpochInfo) error {
		bar.clear()
		s.Logf("epoch %d/%d: train loss %.4f, test loss %.4f, test accuracy %.2f %% (%.1f s)", e.Epoch, cfg.Epochs, e.TrainLoss, e.TestLoss, 100*e.TestAcc, e.Seconds)
		epochs.Row(e.Epoch, e.Iter, e.TrainLoss, e.TestLoss, e.TestAcc, e.Seconds)
		last = e
		return errors.Join(metrics.Flush(), epochs.Flush())
	}
	start := time.Now()
	err = tr.Run(ctx)
	bar.clear()
	if ferr := errors.Join(metrics.Flush(), epochs.Flush()); ferr != nil {
		return nil, ferr
	}
	if errors.Is(err, context.Canceled) {
		return nil, &InterruptedError{Iter: tr.Iter, Checkpoint: s.Run.Checkpoint()}
	}
	if err != nil {
		return nil, err
	}
	res := &Result{Model: cfg.Model, Parameters: m.Arena.D, Iterations: tr.Iter, Epochs: cfg.Epochs,
		TestLoss: last.TestLoss, TestAcc: last.TestAcc, TrainLoss: last.TrainLoss, Seconds: time.Since(start).Seconds()}
	if s.Data.HeldOut != nil {
		hl, ha, err := m.Evaluate(s.Data.HeldOut, cfg.EvalBatch, engine.EvalMode)
		if err != nil {
			return nil, err
		}
		res.HeldOutLoss, res.HeldOutAcc = &hl, &ha
		s.Logf("held-out (%d examples): loss %.4f, accuracy %.2f %%", s.Data.HeldOut.Len(), hl, 100*ha)
	}
	if err := rundir.WriteJSON(s.Run.Path("result.json"), res); err != nil {
		return nil, err
	}
	return res, nil
}
