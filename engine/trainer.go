package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/internal/crashpoint"
	"github.com/gazeml/gaze/internal/rundir"
)

// TrainConfig configures a training run.
type TrainConfig struct {
	Epochs    int
	Batch     int
	Seed      uint64 // shuffling order and dropout masks
	EvalBatch int    // batch size for evaluation (default 1000)
	// Checkpoint, when set, is the checkpoint file: written at the end of every epoch, every
	// CheckpointEvery iterations if that is positive, and when the context is cancelled.
	Checkpoint      string
	CheckpointEvery int
}

// StepInfo describes one optimizer step to a hook.
type StepInfo struct {
	Iter   int     // 0-based index of the step just taken
	Epoch  int     // 0-based
	Loss   float64 // mean data loss of the batch at θ before the step
	L2     float64 // the L2 penalty at θ before the step (0 when off)
	LR     float64 // scheduled base learning rate
	Before Buffer  // θ before the step (device memory, valid during the hook)
	After  Buffer  // θ after the step
}

// EpochInfo summarises one epoch.
type EpochInfo struct {
	Epoch     int     `json:"epoch"` // 1-based
	Iter      int     `json:"iter"`  // iterations completed
	TrainLoss float64 `json:"train_loss"`
	TestLoss  float64 `json:"test_loss"`
	TestAcc   float64 `json:"test_acc"`
	Seconds   float64 `json:"seconds"`
}

// Progress is reported after every step.
type Progress struct {
	Iter, Total int
	Epoch       int // 1-based
	Loss        float64
	ExPerSec    float64
	ETA         time.Duration
}

// DivergedError reports a loss that stopped being finite.
type DivergedError struct {
	Iter       int
	Loss       float64
	Checkpoint string // the last good checkpoint, if any
	CheckIter  int
}

func (e *DivergedError) Error() string {
	msg := fmt.Sprintf("training diverged: loss is %v at iteration %d", e.Loss, e.Iter)
	if e.Checkpoint != "" {
		msg += fmt.Sprintf("; the last good checkpoint %s (iteration %d) is kept", e.Checkpoint, e.CheckIter)
	}
	return msg + "; try a smaller learning rate"
}

// Reparam lets the trainer optimise other variables than θ (intrinsic dimension trains
// θ = θ₀ + P·θ_d). Expand writes θ from the variables; Project turns ∇θ into their gradient.
// The trainer's optimizer then works on the variables' own arena (VarArena).
type Reparam interface {
	Expand() error
	Project() error
	VarArena() *Arena
}

// CheckpointExtra is state that travels inside the trainer's checkpoints.
type CheckpointExtra interface {
	// SaveState returns the state as of the trainer's current iteration.
	SaveState() ([]byte, error)
	// LoadState restores what SaveState returned.
	LoadState([]byte) error
}

// Trainer runs epochs × minibatches over a model.
type Trainer struct {
	Model       *Model
	Opt         *Optimizer
	Train, Test Examples
	Cfg         TrainConfig
	// Hook, when set, runs after every optimizer step; an error stops training.
	Hook func(StepInfo) error
	// OnEpoch, when set, runs after every epoch's evaluation.
	OnEpoch func(EpochInfo) error
	// OnStep, when set, sees every step's losses (for metrics files).
	OnStep func(StepInfo)
	// Progress, when set, is called after every step.
	Progress func(Progress)
	// Reparam, when set, is what the optimizer updates (see Reparam); θ is expanded from it
	// before the first step and after every step.
	Reparam Reparam
	// Extra, when set, adds its state to every checkpoint (an LCA run's accumulators), so a
	// resumed run restores it together with θ, atomically.
	Extra CheckpointExtra
	// Streams, when set, are the files the run appends to (metrics, LCA rows): every checkpoint
	// commits them first and records their states, and LoadCheckpoint hands those records back
	// to the registry, against which the reopened files are verified (see rundir.Streams).
	Streams *rundir.Streams

	// Iter is the number of completed iterations; a checkpoint restores it.
	Iter int
	// Running sums of the current epoch, kept in checkpoints so a resumed epoch reports the
	// same mean as an uninterrupted one.
	epochLoss  float64
	epochCount int
	epochTime  float64 // seconds spent in this epoch before the current process
	lastCkIter int
	lastCkPath string
	lastEpoch  *EpochInfo // the last finished epoch (kept in checkpoints)

	prev  Buffer
	order []int
	x, y  []float32
	clock runClock // of the Run in progress

	tg        trainGraphs // the step's CUDA graphs in the Run in progress (trainer_graph.go)
	graphErr  error
	lastGraph bool
}

// NewTrainer checks the configuration against the model and data.
func NewTrainer(m *Model, opt *Optimizer, train, test Examples, cfg TrainConfig) (*Trainer, error) {
	if cfg.Epochs < 1 {
		return nil, fmt.Errorf("epochs %d must be ≥ 1", cfg.Epochs)
	}
	if cfg.Batch < 1 {
		return nil, fmt.Errorf("batch size %d must be ≥ 1", cfg.Batch)
	}
	if train == nil || train.Len() == 0 {
		return nil, fmt.Errorf("training set: %w", ErrEmpty)
	}
	if err := m.checkData(train); err != nil {
		return nil, fmt.Errorf("training set: %w", err)
	}
	if test != nil {
		if err := m.checkData(test); err != nil {
			return nil, fmt.Errorf("test set: %w", err)
		}
	}
	if cfg.EvalBatch < 1 {
		cfg.EvalBatch = 1000
	}
	if cfg.CheckpointEvery < 0 {
		return nil, fmt.Errorf("checkpoint interval %d must be ≥ 0", cfg.CheckpointEvery)
	}
	b := min(cfg.Batch, train.Len())
	if err := m.EnsureBatch(b); err != nil {
		return nil, err
	}
	return &Trainer{Model: m, Opt: opt, Train: train, Test: test, Cfg: cfg, lastCkIter: -1,
		x: make([]float32, b*m.InSize()), y: make([]float32, b*m.TargetSize())}, nil
}

// StepsPerEpoch is ceil(N / batch): the last batch of an epoch may be smaller.
func (t *Trainer) StepsPerEpoch() int { return (t.Train.Len() + t.Cfg.Batch - 1) / t.Cfg.Batch }

// TotalSteps is the number of iterations of the whole run.
func (t *Trainer) TotalSteps() int { return t.Cfg.Epochs * t.StepsPerEpoch() }

// Run trains until every epoch is done, the context is cancelled (a checkpoint is written
// first when configured), the loss diverges, or a hook fails.
func (t *Trainer) Run(ctx context.Context) error {
	if t.order == nil {
		t.order = make([]int, t.Train.Len())
	}
	release, err := t.holdPrev()
	if err != nil {
		return err
	}
	defer release()
	// Recordings of the step live for one Run: they use t.prev, which release frees.
	t.tg, t.graphErr = trainGraphs{}, nil
	defer t.tg.close()
	t.Model.SetSeed(t.Cfg.Seed)
	if err := t.expand(); err != nil {
		return err
	}
	t.clock = newRunClock(t.Iter)
	spe, total := t.StepsPerEpoch(), t.TotalSteps()
	orderEpoch := -1
	for t.Iter < total {
		if err := ctx.Err(); err != nil {
			return t.stopCancelled(err)
		}
		epoch := t.Iter / spe
		if orderEpoch != epoch {
			data.ShuffleInto(t.order, t.Cfg.Seed, epoch)
			orderEpoch = epoch
		}
		info, err := t.step(epoch)
		if err != nil {
			return err
		}
		if err := t.reportStep(info, total); err != nil {
			return err
		}
		crashpoint.Hit("step")
		if t.Iter%spe == 0 {
			err = t.endEpoch(epoch)
		} else if t.Cfg.Checkpoint != "" && t.Cfg.CheckpointEvery > 0 && t.Iter%t.Cfg.CheckpointEvery == 0 {
			err = t.periodicCheckpoint()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// runClock is the wall-clock bookkeeping of one Run: the rate of this process's steps for
// progress reports, and when the current epoch's time started counting (the checkpointed
// epochTime holds what earlier processes spent in it).
type runClock struct {
	start      time.Time
	startIter  int
	epochStart time.Time
}

func newRunClock(iter int) runClock {
	return runClock{start: time.Now(), startIter: iter, epochStart: time.Now()}
}

// bankEpochTime moves the time spent in the epoch so far into epochTime, which checkpoints
// keep, and restarts the epoch's clock.
func (t *Trainer) bankEpochTime() {
	t.epochTime += time.Since(t.clock.epochStart).Seconds()
	t.clock.epochStart = time.Now()
}

// holdPrev allocates the copy of θ before each step that the step hook sees; release frees it.
func (t *Trainer) holdPrev() (release func(), err error) {
	if t.Hook == nil || t.prev != nil {
		return func() {}, nil
	}
	m := t.Model
	if t.prev, err = m.Dev.Alloc(m.Arena.D); err != nil {
		return nil, fmt.Errorf("copy of θ for the step hook: %w", err)
	}
	return func() { m.Dev.Free(t.prev); t.prev = nil }, nil
}

// step takes one optimizer step on the minibatch at t.Iter of the epoch's order and advances the
// iteration and the epoch's running sums.
func (t *Trainer) step(epoch int) (StepInfo, error) {
	k, err := t.gatherBatch()
	if err != nil {
		return StepInfo{}, err
	}
	loss, l2, ok, err := t.graphStep(k, epoch)
	if err != nil {
		return StepInfo{}, err
	}
	t.lastGraph = ok
	if !ok {
		if loss, l2, err = t.batchGradient(k); err != nil {
			return StepInfo{}, err
		}
		if err := t.update(epoch); err != nil {
			return StepInfo{}, err
		}
	}
	m := t.Model
	info := StepInfo{Iter: t.Iter, Epoch: epoch, Loss: loss, L2: l2, LR: t.Opt.LR(epoch), Before: t.prev, After: m.Arena.Theta}
	t.Iter++
	t.epochLoss += loss * float64(k)
	t.epochCount += k
	return info, nil
}

// gatherBatch copies the minibatch of iteration t.Iter to the host staging buffers and returns
// its size (the last one of an epoch may be short).
func (t *Trainer) gatherBatch() (int, error) {
	pos := t.Iter % t.StepsPerEpoch()
	idx := t.order[pos*t.Cfg.Batch : min((pos+1)*t.Cfg.Batch, len(t.order))]
	if err := t.Train.Gather(idx, t.x, t.y); err != nil {
		return 0, fmt.Errorf("iteration %d: %w", t.Iter, err)
	}
	return len(idx), nil
}

// batchGradient runs the k staged examples forward and backward, leaving in ∇θ the gradient of
// the batch's mean loss plus the L2 term (projected onto the Reparam's variables if any), and
// returns the mean data loss and the L2 penalty. A loss that is not finite is a DivergedError.
func (t *Trainer) batchGradient(k int) (loss, l2 float64, err error) {
	m := t.Model
	m.SetStep(t.Iter)
	m.ZeroGrad()
	loss, err = m.Batch(t.x, t.y, k, TrainMode, true, 1/float64(k))
	if err != nil {
		return 0, 0, fmt.Errorf("iteration %d: %w", t.Iter, err)
	}
	loss /= float64(k)
	l2 = m.L2Penalty()
	if math.IsNaN(loss+l2) || math.IsInf(loss+l2, 0) {
		return 0, 0, &DivergedError{Iter: t.Iter, Loss: loss + l2, Checkpoint: t.lastCkPath, CheckIter: t.lastCkIter}
	}
	m.AddL2Grad()
	if t.Reparam != nil {
		if err := t.Reparam.Project(); err != nil {
			return 0, 0, fmt.Errorf("iteration %d: %w", t.Iter, err)
		}
	}
	return loss, l2, nil
}

// update applies the optimizer step (keeping θ before it for the hook) and expands θ from the
// Reparam's variables.
func (t *Trainer) update(epoch int) error {
	m := t.Model
	if t.prev != nil {
		m.Dev.Copy(t.prev, m.Arena.Theta)
	}
	t.Opt.Step(t.Iter, epoch)
	if err := t.expand(); err != nil {
		return fmt.Errorf("iteration %d: %w", t.Iter, err)
	}
	if err := m.Dev.Sync(); err != nil {
		return fmt.Errorf("iteration %d: optimizer step: %w", t.Iter, err)
	}
	return nil
}

// reportStep shows a finished step to OnStep, Hook and Progress.
func (t *Trainer) reportStep(info StepInfo, total int) error {
	if t.OnStep != nil {
		t.OnStep(info)
	}
	if t.Hook != nil {
		if err := t.Hook(info); err != nil {
			return fmt.Errorf("step hook at iteration %d: %w", info.Iter, err)
		}
	}
	if t.Progress != nil {
		done := t.Iter - t.clock.startIter
		el := time.Since(t.clock.start)
		rate := float64(done) / el.Seconds()
		t.Progress(Progress{Iter: t.Iter, Total: total, Epoch: info.Epoch + 1, Loss: info.Loss,
			ExPerSec: rate * float64(t.Cfg.Batch), ETA: time.Duration(float64(total-t.Iter) / rate * float64(time.Second))})
	}
	return nil
}

// endEpoch evaluates the test set after the epoch's last step, reports the epoch to OnEpoch,
// starts the next epoch's sums and writes a checkpoint.
func (t *Trainer) endEpoch(epoch int) error {
	info := EpochInfo{Epoch: epoch + 1, Iter: t.Iter, TrainLoss: t.epochLoss / float64(t.epochCount),
		Seconds: t.epochTime + time.Since(t.clock.epochStart).Seconds()}
	if t.Test != nil {
		var err error
		if info.TestLoss, info.TestAcc, err = t.Model.Evaluate(t.Test, t.Cfg.EvalBatch, EvalMode); err != nil {
			return fmt.Errorf("evaluation after epoch %d: %w", epoch+1, err)
		}
	}
	t.epochLoss, t.epochCount, t.epochTime = 0, 0, 0
	t.clock.epochStart = time.Now()
	t.lastEpoch = &info
	if t.OnEpoch != nil {
		if err := t.OnEpoch(info); err != nil {
			return err
		}
	}
	if t.Cfg.Checkpoint == "" {
		return nil
	}
	return t.checkpoint()
}

// periodicCheckpoint is the checkpoint every CheckpointEvery iterations within an epoch.
func (t *Trainer) periodicCheckpoint() error {
	t.bankEpochTime()
	return t.checkpoint()
}

// stopCancelled ends a cancelled Run: it checkpoints the current iteration, unless the last
// checkpoint already holds it, and returns the context's error.
func (t *Trainer) stopCancelled(err error) error {
	if t.Cfg.Checkpoint == "" || t.lastCkIter == t.Iter {
		return err
	}
	t.bankEpochTime()
	if cerr := t.checkpoint(); cerr != nil {
		return errors.Join(err, cerr)
	}
	return err
}

// checkpoint writes the configured checkpoint; every checkpoint Run writes goes through here.
func (t *Trainer) checkpoint() error {
	return t.SaveCheckpoint(t.Cfg.Checkpoint)
}

// Checkpoint writes the configured checkpoint now, as Run does: a run writes one before its
// first step, so that a resumed run always has a state to verify its files against.
func (t *Trainer) Checkpoint() error {
	if t.Cfg.Checkpoint == "" {
		return errors.New("trainer: no checkpoint file configured")
	}
	return t.checkpoint()
}

// LastEpoch is the summary of the last finished epoch (restored by LoadCheckpoint), or nil
// before the first one.
func (t *Trainer) LastEpoch() *EpochInfo { return t.lastEpoch }

// CheckpointBytes is the size of this trainer's checkpoints, with extra bytes of extra state,
// not counting the header (a few kilobytes at most).
func (t *Trainer) CheckpointBytes(extra int) int64 {
	m, oa := t.Model, t.Opt.arena
	n := int64(m.Arena.D)
	if m.Arena.Stats != nil {
		n += int64(m.Arena.Stats.Len())
	}
	if oa != m.Arena {
		n += int64(oa.D)
	}
	if t.Opt.S1 != nil {
		n += int64(oa.D)
	}
	if t.Opt.S2 != nil {
		n += int64(oa.D)
	}
	return 4*n + int64(extra) + 4
}

func (t *Trainer) expand() error {
	if t.Reparam == nil {
		return nil
	}
	if t.Reparam.VarArena() != t.Opt.arena {
		return errors.New("trainer: the optimizer must update the Reparam's variables (NewOptimizer on its VarArena)")
	}
	return t.Reparam.Expand()
}
