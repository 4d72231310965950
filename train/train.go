// Package train is a training run in a run folder: what `gaze train` does and what `gaze lca
// train` builds on. Run validates the configuration, loads the data and builds the model,
// optimizer and trainer, and only then opens the folder (internal/rundir: a new run refuses a
// used folder, --resume compares the configuration field by field, one process at a time holds
// it), and trains with a progress line, metrics files, checkpoints and a result file.
//
// What survives a kill -9: the checkpoint (written before the first step, every
// --checkpoint-every iterations, after every epoch) and every row the checkpoint stands for,
// because the metrics files are committed with it (rundir.Streams). A resumed run cuts rows
// written after the checkpoint, refuses files shorter or other than recorded, and finishes the
// final steps (result.json) of a run killed after its last checkpoint from the recorded state;
// a finished run (finished.json) is left as it is.
package train

import (
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/gazeml/gaze/coordconv"
	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/engine/models"
	"github.com/gazeml/gaze/internal/crashpoint"
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
	// Identity is the run's identity (rundir.Identity of the configuration and θ₀), filled in
	// when the model is built; files of another run carry another one.
	Identity string `json:"identity,omitempty"`
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

// MaxEpochs bounds --epochs: iteration counts stay far from overflowing, and a typo of a few
// extra digits is refused rather than run for a year.
const MaxEpochs = 1_000_000

// Validate reports a configuration that cannot run, naming the flag. It needs no data: sizes
// that must fit the data are checked when it is loaded, still before the folder is touched.
func (c Config) Validate() error {
	if err := c.Opt.Validate(); err != nil {
		return err
	}
	switch {
	case c.Batch < 1:
		return fmt.Errorf("--batch %d must be ≥ 1", c.Batch)
	case c.Epochs < 1 || c.Epochs > MaxEpochs:
		return fmt.Errorf("--epochs %d must be in [1, %d]", c.Epochs, MaxEpochs)
	case !(c.L2 >= 0) || math.IsInf(c.L2, 0):
		return fmt.Errorf("--l2 %v must be a finite number ≥ 0", c.L2)
	case c.CkptEvery < 0:
		return fmt.Errorf("--checkpoint-every %d must be ≥ 0", c.CkptEvery)
	case c.EvalBatch < 0:
		return fmt.Errorf("--eval-batch %d must be ≥ 1", c.EvalBatch)
	case c.Data.HeldOut < 0:
		return fmt.Errorf("--held-out %d must be ≥ 0", c.Data.HeldOut)
	case c.Data.Name == "synthetic" && c.Data.Classes < 2:
		return fmt.Errorf("--classes %d must be ≥ 2", c.Data.Classes)
	case c.Precision != "" && c.Precision != engine.PrecisionFP32 && c.Precision != engine.PrecisionTF32:
		return fmt.Errorf("--precision %q: want %s or %s", c.Precision, engine.PrecisionFP32, engine.PrecisionTF32)
	}
	for _, m := range c.Opt.Milestones {
		if m < 1 || m > MaxEpochs {
			return fmt.Errorf("--lr-milestones %v: every milestone must be an epoch in [1, %d]", c.Opt.Milestones, MaxEpochs)
		}
	}
	return nil
}

// checkSizes reports sizes that do not fit the loaded data, naming the flag.
func (c Config) checkSizes(l *data.Loaded) error {
	n := l.Train.Len()
	if l.HeldOut != nil {
		n += l.HeldOut.Len()
	}
	// (A batch larger than the training set is one batch of all of it, as it always was.)
	if c.Data.HeldOut >= n {
		return fmt.Errorf("--held-out %d must be smaller than the %d training examples of %s", c.Data.HeldOut, n, c.Data.Name)
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
	// Check, when set, is called once the data is loaded and the model and trainer are built,
	// before the run folder is touched: for a command's own checks against the data (sizes
	// that must fit it, disk space), which must leave nothing on disk when they fail.
	Check func(*Session) error
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
	// fromCheckpoint: Train continues from the run's checkpoint (a resumed run that has one;
	// one killed before its first checkpoint starts from its beginning).
	fromCheckpoint bool
	unfinish       bool // a finished run continued for more epochs
}

// Run trains cfg in o.Dir: Open, then Train, then Finish. Resuming a finished run returns its
// saved result with a *rundir.FinishedError.
func Run(ctx context.Context, cfg Config, o Options) (*Result, error) {
	s, err := Open(cfg, o)
	if errors.Is(err, rundir.ErrFinished) {
		res, rerr := ReadResult(o.Dir)
		return res, errors.Join(err, rerr)
	}
	if err != nil {
		return nil, err
	}
	defer s.Close()
	res, err := s.Train(ctx)
	if err != nil {
		return nil, err
	}
	return res, s.Finish()
}

// ReadResult reads the result.json of the run in dir.
func ReadResult(dir string) (*Result, error) {
	path := filepath.Join(dir, "result.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Open validates cfg, opens the device, loads the data and builds the model, optimizer and
// trainer, and only then opens the run folder (a new run must not overwrite one; a resumed run
// must match the saved configuration and identity, and no other process may hold it): so a
// configuration that cannot run leaves nothing on disk. Resuming a finished run is a
// *rundir.FinishedError. The checkpoint is loaded by Train, after the caller attached its
// hooks.
func Open(cfg Config, o Options) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Session{Config: cfg, opts: o}
	if err := s.build(); err != nil {
		s.Close()
		return nil, err
	}
	if o.Check != nil {
		if err := o.Check(s); err != nil {
			s.Close()
			return nil, err
		}
	}
	if err := s.open(); err != nil {
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
	if err := cfg.checkSizes(s.Data); err != nil {
		return err
	}
	if s.Model, err = BuildModel(s.Device, cfg, s.Data, min(cfg.Batch, s.Data.Train.Len())); err != nil {
		return err
	}
	s.Model.L2 = cfg.L2
	s.Model.Init(cfg.Seed)
	s.Config.Input, s.Config.D = s.Data.Input, s.Model.Arena.D
	if s.Config.Identity, err = Identity(s.opts.saved(s.Config), s.Model, s.opts.Mutable...); err != nil {
		return err
	}
	if s.Opt, err = engine.NewOptimizer(s.Device, s.Model.Arena, cfg.Opt); err != nil {
		return err
	}
	s.Trainer, err = engine.NewTrainer(s.Model, s.Opt, s.Data.Train, s.Data.Test, engine.TrainConfig{Epochs: cfg.Epochs, Batch: cfg.Batch,
		Seed: cfg.Seed, EvalBatch: cfg.EvalBatch, CheckpointEvery: cfg.CkptEvery})
	return err
}

// Identity is the identity of a run whose saved configuration is saved and whose model m was
// just initialised (θ = θ₀): see rundir.Identity. The fields a resumed run may change (the
// layout's and the caller's mutable ones) are left out, so the identity stays the run's when it
// is continued.
func Identity(saved any, m *engine.Model, mutable ...string) (string, error) {
	theta := make([]float32, m.Arena.D)
	m.Dev.Download(theta, m.Arena.Theta)
	if err := m.Dev.Sync(); err != nil {
		return "", err
	}
	return rundir.Identity(saved, IdentitySkip(mutable...), Float32Bytes(theta))
}

// IdentitySkip are the configuration fields a run's identity leaves out: the layout's mutable
// and derived ones, and the caller's mutable ones.
func IdentitySkip(mutable ...string) []string {
	return append(append(append([]string(nil), Layout.Mutable...), Layout.Derived...), mutable...)
}

// Float32Bytes is v as little-endian bytes (as θ₀ enters an identity, and weights.npy holds it).
func Float32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// open opens the run folder, now that the run is known to be able to start, and decides how
// Train begins: from the checkpoint, from scratch, or not at all (a finished run).
func (s *Session) open() error {
	layout := Layout
	layout.Mutable = append(slices.Clone(Layout.Mutable), s.opts.Mutable...)
	r, err := rundir.Open(s.opts.Dir, s.opts.Resume, layout, s.opts.saved(s.Config))
	if err != nil {
		return err
	}
	s.Run = r
	s.Trainer.Cfg.Checkpoint = r.Checkpoint()
	s.Trainer.Streams = r.Streams
	if !s.opts.Resume {
		return nil
	}
	if saved := r.SavedIdentity(); saved != "" && saved != s.Config.Identity {
		return rundir.IdentityMismatch(r.Path("config.json"), saved, s.Config.Identity)
	}
	if f, ok, err := rundir.ReadFinished(r.Dir); err != nil {
		return err
	} else if ok {
		switch total := s.Trainer.TotalSteps(); {
		case f.Iterations == total:
			if err := f.Verify(r.Dir); err != nil {
				return err
			}
			return &rundir.FinishedError{Dir: r.Dir, Finished: f}
		case f.Iterations < total:
			s.unfinish = true // more epochs: continued from the last checkpoint
		}
	}
	if r.HasCheckpoint() {
		s.fromCheckpoint = true
		return nil
	}
	// No checkpoint: the run was killed before writing its first one, which it writes before
	// its first step; rows in its metrics then mean the checkpoint was lost, and starting over
	// would silently drop them.
	if n, err := csvlog.CountRows(r.Path("metrics.csv")); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("%s has no checkpoint (%s), but its metrics.csv holds %d rows: the checkpoint was deleted or lost, and the run cannot continue without it; start it again in another folder",
			r.Dir, Layout.Checkpoint, n)
	}
	return nil
}

// Dir is the run folder's path, known before the folder is opened (for Options.Check).
func (s *Session) Dir() string { return s.opts.Dir }

// FromCheckpoint tells whether Train continues from the run's checkpoint (else it starts the
// run from its beginning: a new run, or one killed before its first checkpoint).
func (s *Session) FromCheckpoint() bool { return s.fromCheckpoint }

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

// Train resumes from the checkpoint when there is one, writes config.json, runs the trainer
// with the progress line and the metrics files (committed with every checkpoint; a new run
// writes one before its first step), and writes result.json, which it returns. A cancelled
// context ends it with an *InterruptedError after the checkpoint is written.
func (s *Session) Train(ctx context.Context) (*Result, error) {
	cfg, tr, m := s.Config, s.Trainer, s.Model
	switch {
	case s.fromCheckpoint:
		if err := tr.LoadCheckpoint(s.Run.Checkpoint()); err != nil {
			return nil, err
		}
		s.Logf("resuming %s at iteration %d of %d", s.Run.Dir, tr.Iter, tr.TotalSteps())
	case s.opts.Resume:
		s.Logf("%s stopped before its first checkpoint: starting the run from its beginning", s.Run.Dir)
	}
	if s.unfinish {
		if err := rundir.Unfinish(s.Run.Dir); err != nil {
			return nil, err
		}
	}
	if err := s.Run.WriteConfig(s.opts.saved(s.Config)); err != nil {
		return nil, err
	}

	// For a checkpoint that recorded no stream states (an older gaze), rows past it go by
	// their iteration; otherwise the streams are cut back to the recorded states.
	var keepIter, keepEpoch func(int) bool
	if s.fromCheckpoint {
		keepIter = func(it int) bool { return it < tr.Iter }
		keepEpoch = func(it int) bool { return it <= tr.Iter }
	}
	metrics, err := csvlog.OpenIn(s.Run.Streams, s.Run.Path("metrics.csv"), []string{"iter", "epoch", "loss", "l2", "lr"}, 0, keepIter)
	if err != nil {
		return nil, err
	}
	defer metrics.Close()
	epochs, err := csvlog.OpenIn(s.Run.Streams, s.Run.Path("epochs.csv"), []string{"epoch", "iter", "train_loss", "test_loss", "test_acc", "seconds"}, 1, keepEpoch)
	if err != nil {
		return nil, err
	}
	defer epochs.Close()
	if !s.fromCheckpoint {
		// The state every later file is verified against: iteration 0, empty streams.
		if err := tr.Checkpoint(); err != nil {
			return nil, err
		}
	}

	s.Logf("gaze: %s (%d parameters) on %s: %d training, %d test examples; %s lr %g, batch %d, %d epochs (%d iterations) on %s",
		cfg.Model, m.Arena.D, cfg.Data.Name, s.Data.Train.Len(), s.Data.Test.Len(), cfg.Opt.Kind, cfg.Opt.LR, cfg.Batch, cfg.Epochs, tr.TotalSteps(), s.Device.Name())
	bar := newProgressBar(s.opts.Log, s.opts.Quiet)
	tr.OnStep = func(st engine.StepInfo) {
		metrics.Row(st.Iter, st.Epoch+1, st.Loss, st.L2, st.LR)
	}
	tr.Progress = bar.update
	tr.OnEpoch = func(e engine.EpochInfo) error {
		bar.clear()
		s.Logf("epoch %d/%d: train loss %.4f, test loss %.4f, test accuracy %.2f %% (%.1f s)", e.Epoch, cfg.Epochs, e.TrainLoss, e.TestLoss, 100*e.TestAcc, e.Seconds)
		epochs.Row(e.Epoch, e.Iter, e.TrainLoss, e.TestLoss, e.TestAcc, e.Seconds)
		// Readable as the run goes (the checkpoint that follows makes them durable).
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
	// The last epoch's numbers, also when this process resumed after the last checkpoint and
	// ran no epoch itself.
	last, err := s.lastEpoch()
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
	crashpoint.Hit("result")
	if err := rundir.WriteJSON(s.Run.Path("result.json"), res); err != nil {
		return nil, err
	}
	return res, nil
}

// lastEpoch is the summary of the run's last epoch: the trainer's (kept in checkpoints), or for
// a checkpoint written before checkpoints kept it, epochs.csv's row at the run's iteration.
func (s *Session) lastEpoch() (engine.EpochInfo, error) {
	tr := s.Trainer
	if e := tr.LastEpoch(); e != nil && e.Iter == tr.Iter {
		return *e, nil
	}
	path := s.Run.Path("epochs.csv")
	f, err := os.Open(path)
	if err != nil {
		return engine.EpochInfo{}, err
	}
	defer f.Close()
	rows, err := csvReadAll(f)
	if err != nil {
		return engine.EpochInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	for _, r := range rows {
		if len(r) == 6 && r[1] == strconv.Itoa(tr.Iter) {
			p := func(i int) float64 { v, _ := strconv.ParseFloat(r[i], 64); return v }
			ep, _ := strconv.Atoi(r[0])
			return engine.EpochInfo{Epoch: ep, Iter: tr.Iter, TrainLoss: p(2), TestLoss: p(3), TestAcc: p(4), Seconds: p(5)}, nil
		}
	}
	return engine.EpochInfo{}, fmt.Errorf("%s has no row for iteration %d, the run's last: cannot tell the last epoch's results", path, tr.Iter)
}

// Finish marks the run finished (rundir.WriteFinished), listing extra files of the run besides
// the training files: after it, --resume leaves the run as it is.
func (s *Session) Finish(extra ...string) error {
	files := append([]string{"config.json", "metrics.csv", "epochs.csv", "result.json"}, extra...)
	crashpoint.Hit("finish")
	return rundir.WriteFinished(s.Run.Dir, rundir.Finished{Identity: s.Config.Identity, Iterations: s.Trainer.Iter}, files...)
}

func csvReadAll(r io.Reader) ([][]string, error) {
	rd := csv.NewReader(r)
	rd.FieldsPerRecord = -1
	return rd.ReadAll()
}
