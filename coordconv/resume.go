package coordconv

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gazeml/gaze/internal/crashpoint"
	"github.com/gazeml/gaze/internal/rundir"
)

// RunOptions says where a run keeps its state and who hears of its progress.
type RunOptions struct {
	// Dir, when set, holds the run: config.json from the start, the result files (see Save)
	// after every seed, and seed<N>.ckpt, the checkpoint of the seed in progress, after every
	// epoch and when the context is cancelled. A new run refuses a Dir that holds one.
	Dir string
	// Resume continues the run in Dir with the same configuration: finished seeds are read
	// back, the seed in progress continues from its checkpoint, and the result is what an
	// uninterrupted run would have given (wall times include the earlier processes').
	Resume bool
	// Progress, when set, is told about every epoch.
	Progress func(seed uint64, e EpochResult)
}

// runLayout is a run folder: config.json, the result files of the finished seeds and the
// checkpoint of the seed in progress. Nothing in the configuration may change on resume.
var runLayout = rundir.Layout{Markers: []string{"result.json", "seed*.ckpt"}, Legacy: legacyConfig}

// legacyConfig is the configuration of a folder written before config.json existed: its
// result names it.
func legacyConfig(dir string) ([]byte, error) {
	prev, err := Load(dir)
	if err != nil {
		return nil, fmt.Errorf("%s holds checkpoints but no config.json: cannot tell which run they belong to", dir)
	}
	return json.Marshal(prev.Config)
}

func checkpointPath(dir string, seed uint64) string {
	return filepath.Join(dir, fmt.Sprintf("seed%d.ckpt", seed))
}

// dropCheckpoint removes a finished seed's checkpoint, if there is one: its results are saved
// and it has nothing left to give.
func dropCheckpoint(dir string, seed uint64) error {
	if err := os.Remove(checkpointPath(dir, seed)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// HoldsRun tells whether dir holds a run (finished or not) that Resume can continue.
func HoldsRun(dir string) bool {
	_, ok := runLayout.Holds(dir)
	return ok
}

// ResultFiles are the files of a finished run folder that finished.json lists (the PNGs,
// which gaze coordconv plot redraws, are not among them).
var ResultFiles = []string{"config.json", "result.json", "results.csv", "curves.csv", "predictions.json", "table.txt"}

// identity is a run's identity: its configuration's (the seeds are part of it, and each seed's
// θ₀ follows from it).
func identity(cfg Config) (string, error) { return rundir.Identity(cfg, nil, nil) }

// finish marks the run in dir finished.
func finish(dir string, cfg Config) error {
	id, err := identity(cfg)
	if err != nil {
		return err
	}
	crashpoint.Hit("finish")
	return rundir.WriteFinished(dir, rundir.Finished{Identity: id}, ResultFiles...)
}

// openRun prepares dir for cfg (see rundir) and returns it open (holding its lock): a new run
// gets config.json; a resumed one must have been started with the same configuration, and its
// finished seeds (with their predictions) are returned in order. A finished run is a
// *rundir.FinishedError (after its files are checked).
func openRun(dir string, cfg Config, resume bool) (_ *rundir.Run, _ []SeedResult, err error) {
	r, err := rundir.Open(dir, resume, runLayout, cfg)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if resume {
		if f, ok, err := rundir.ReadFinished(dir); err != nil {
			return nil, nil, err
		} else if ok {
			if err := f.Verify(dir); err != nil {
				return nil, nil, err
			}
			return nil, nil, &rundir.FinishedError{Dir: dir, Finished: f}
		}
	}
	if err := r.WriteConfig(cfg); err != nil {
		return nil, nil, err
	}
	if !resume {
		return r, nil, nil
	}
	done, err := finishedSeeds(dir, cfg)
	return r, done, err
}

// finishedSeeds reads back the seeds a resumed run finished (with their predictions), in order,
// and removes a finished seed's checkpoint that a killed process left behind.
func finishedSeeds(dir string, cfg Config) ([]SeedResult, error) {
	prev, err := Load(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // no seed finished yet
	}
	if err != nil {
		return nil, err
	}
	pf, err := loadPredFile(dir)
	if err != nil {
		return nil, err
	}
	pred := make(map[uint64][][]float32, len(pf.Seeds))
	for i, s := range pf.Seeds {
		if i < len(pf.Pred) {
			pred[s] = pf.Pred[i]
		}
	}
	var done []SeedResult
	for i, sr := range prev.Seeds {
		if sr.Interrupted {
			break // continued from its checkpoint
		}
		if i >= len(cfg.Seeds) || sr.Seed != cfg.Seeds[i] {
			return nil, fmt.Errorf("%s/result.json: seed %d where the configuration has %v", dir, sr.Seed, cfg.Seeds)
		}
		sr.Pred = pred[sr.Seed]
		done = append(done, sr)
		// A process killed between saving a seed's results and removing its checkpoint leaves
		// the checkpoint behind.
		if err := dropCheckpoint(dir, sr.Seed); err != nil {
			return nil, err
		}
	}
	return done, nil
}

// seedProgress travels in a seed's checkpoint (engine.CheckpointExtra): the epochs evaluated so
// far and the time spent, so a resumed seed reports the curve, best epoch and predictions of an
// uninterrupted one.
type seedProgress struct {
	sr        *SeedResult
	trainSecs float64   // training seconds of the epochs in sr.Curve
	offset    float64   // wall seconds spent on this seed by earlier processes
	start     time.Time // when this process took the seed up
}

type seedState struct {
	Result    SeedResult  `json:"result"`
	Pred      [][]float32 `json:"pred"` // SeedResult leaves it out of its JSON
	TrainSecs float64     `json:"train_secs"`
	Elapsed   float64     `json:"elapsed"`
}

func (p *seedProgress) elapsed() float64 { return p.offset + time.Since(p.start).Seconds() }

func (p *seedProgress) SaveState() ([]byte, error) {
	return json.Marshal(seedState{Result: *p.sr, Pred: p.sr.Pred, TrainSecs: p.trainSecs, Elapsed: p.elapsed()})
}

func (p *seedProgress) LoadState(b []byte) error {
	var s seedState
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("seed progress: %w", err)
	}
	if s.Result.Seed != p.sr.Seed {
		return fmt.Errorf("seed progress is for seed %d, not %d", s.Result.Seed, p.sr.Seed)
	}
	*p.sr = s.Result
	p.sr.Pred = s.Pred
	p.trainSecs, p.offset, p.start = s.TrainSecs, s.Elapsed, time.Now()
	return nil
}
