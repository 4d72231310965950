package coordconv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/rundir"
)

// SweepOptions are a hyper-parameter sweep of a configuration: every combination of the
// learning rates, filter sizes (of the deconv painter) and width multipliers is one run folder
// under Dir.
type SweepOptions struct {
	Dir  string
	LRs  []float64
	FSs  []int
	Muls []int
	// Started, when set, hears of each combination before it runs; resumed is true when its
	// folder held it already (finished combinations are read back, not trained again).
	Started func(name, dir string, resumed bool)
	// Finished, when set, hears of each combination's result or error.
	Finished func(name string, r *Result, err error)
	// Progress, when set, is told about every epoch of every combination.
	Progress func(name string, seed uint64, e EpochResult)
}

// SweepName is a combination's name and folder name: "lr 0.002 fs 3 m 1" in lr0.002_fs3_m1,
// or for regression (whose baseline has no filter size) "lr 0.001 m 2" in lr0.001_m2.
func SweepName(cfg Config) (name, folder string) {
	if cfg.Task == Regression {
		return fmt.Sprintf("lr %g m %d", cfg.LR, cfg.Opts.Mul), fmt.Sprintf("lr%g_m%d", cfg.LR, cfg.Opts.Mul)
	}
	return fmt.Sprintf("lr %g fs %d m %d", cfg.LR, cfg.Opts.FS, cfg.Opts.Mul), fmt.Sprintf("lr%g_fs%d_m%d", cfg.LR, cfg.Opts.FS, cfg.Opts.Mul)
}

// Sweep runs every combination of o.LRs × o.FSs × o.Muls on base (the other settings), each in
// its own run folder, continuing the ones a previous sweep left there; a combination whose
// folder holds another configuration stops the sweep (rundir.ErrMismatch). A combination that
// fails (a diverging loss) is reported in failed and the others still run. The results, best
// first (SortBest), are also written to o.Dir/sweep.md.
func Sweep(ctx context.Context, dev engine.Device, base Config, o SweepOptions) (best []*Result, failed []error, err error) {
	for _, lr := range o.LRs {
		for _, fs := range o.FSs {
			for _, mul := range o.Muls {
				cfg := base
				// The sweep is of the baselines' recipe: the intermediate loss stays off, as it always has.
				cfg.LR, cfg.Opts = lr, ModelOptions{Mul: mul, FS: fs}
				if err := cfg.Validate(); err != nil {
					return nil, nil, err
				}
				name, sub := SweepName(cfg)
				dir := filepath.Join(o.Dir, sub)
				resume := HoldsRun(dir)
				if o.Started != nil {
					o.Started(name, dir, resume)
				}
				var progress func(uint64, EpochResult)
				if o.Progress != nil {
					progress = func(seed uint64, e EpochResult) { o.Progress(name, seed, e) }
				}
				res, err := Run(ctx, dev, cfg, RunOptions{Dir: dir, Resume: resume, Progress: progress})
				if errors.Is(err, rundir.ErrFinished) && res != nil {
					err = nil // done in an earlier sweep: read back
				}
				if errors.Is(err, context.Canceled) || errors.Is(err, rundir.ErrMismatch) || errors.Is(err, rundir.ErrLocked) {
					return nil, nil, fmt.Errorf("%s: %w", name, err)
				}
				if o.Finished != nil {
					o.Finished(name, res, err)
				}
				if err != nil {
					failed = append(failed, fmt.Errorf("%s: %w", name, err))
					continue
				}
				best = append(best, res)
			}
		}
	}
	if len(best) == 0 {
		return nil, failed, errors.Join(failed...)
	}
	SortBest(best)
	var md bytes.Buffer
	if err := WriteMarkdown(&md, best); err != nil {
		return best, failed, err
	}
	return best, failed, rundir.WriteFileAtomic(filepath.Join(o.Dir, "sweep.md"), md.Bytes())
}
