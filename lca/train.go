package lca

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/internal/bytesize"
	"github.com/gazeml/gaze/train"
)

// Spec is the LCA part of a run's configuration (config.json's "lca", compared on --resume).
type Spec struct {
	Examples int    `json:"examples"` // size of the LCA set: a seeded subset of the training split (0: all of it)
	Seed     uint64 `json:"seed"`     // seed of that subset
	Config   Config `json:"integrator"`
	SaveLCA  bool   `json:"save_lca"`     // also write lca.npy (T × D)
	SaveW    bool   `json:"save_weights"` // also write weights.npy ((T+1) × D), for offline LCA
	Offline  bool   `json:"offline"`      // train and save the trajectory only
}

// Validate reports an LCA part that cannot run, naming the flag.
func (sp Spec) Validate() error {
	if err := sp.Config.Validate(); err != nil {
		return err
	}
	if sp.Examples < 0 {
		return fmt.Errorf("--lca-examples %d must be ≥ 0", sp.Examples)
	}
	if sp.Offline && !sp.SaveW {
		return errors.New("--offline needs --save-weights: offline LCA is computed from the saved trajectory")
	}
	return nil
}

// TrainConfig is an LCA study's configuration: the training run's, with the LCA part beside it
// in config.json.
type TrainConfig struct {
	train.Config
	LCA Spec `json:"lca"`
}

// TrainOptions are how an LCA study is carried out (see train.Options).
type TrainOptions struct {
	train.Options
	NoReport bool // do not write the report at the end
}

// Train trains cfg in the run folder o.Dir and allocates every iteration's loss change among the
// parameters (online), or saves the trajectory for `gaze lca compute` (cfg.LCA.Offline). It
// returns the report's summary, or nil when no report was written (offline, or o.NoReport).
// Resuming a finished run returns a *rundir.FinishedError and changes nothing.
//
// The LCA files are streams of the run (rundir.Streams): committed with every checkpoint, cut
// back to it or refused on resume. The run is marked finished after its report, so a run
// killed while writing the report finishes it when resumed.
func Train(ctx context.Context, cfg TrainConfig, o TrainOptions) (*Summary, error) {
	sp := cfg.LCA
	if err := sp.Validate(); err != nil {
		return nil, err
	}
	// The optional T × D files: an offline run's lca.npy is written by compute and merge.
	files := Outputs{LCA: sp.SaveLCA, Weights: sp.SaveW}
	to := o.Options
	to.Saved = func(c train.Config) any { return TrainConfig{Config: c, LCA: sp} }
	var need int64
	// (An LCA set larger than the training split is all of it, as the report says.)
	to.Check = func(s *train.Session) (err error) {
		need, err = checkDisk(s, files)
		return err
	}
	s, err := train.Open(cfg.Config, to)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	dir := s.Run.Dir
	set, setDesc, err := Set(s.Data.Train, sp.Examples, sp.Seed)
	if err != nil {
		return nil, err
	}
	var it *Integrator
	if !sp.Offline {
		if it, err = NewIntegrator(s.Model, set, sp.Config); err != nil {
			return nil, err
		}
		defer it.Close()
	}
	rec := NewRecorder(dir, s.Model, it, Outputs{LCA: sp.SaveLCA && !sp.Offline, Weights: sp.SaveW})
	rec.Streams = s.Run.Streams
	s.Logf("LCA over %s; the run needs about %s more in %s", setDesc, bytesize.Format(need), dir)
	meta, err := newMeta(s, sp, setDesc)
	if err != nil {
		return nil, err
	}
	if err := WriteMeta(dir, meta); err != nil {
		return nil, err
	}
	s.Trainer.Hook = rec.Hook
	s.Trainer.Extra = rec
	if !s.FromCheckpoint() {
		if err := rec.Start(0, s.Model.Arena.Theta); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	_, err = s.Train(ctx)
	if cerr := rec.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	s.Logf("training with LCA took %.1f s", time.Since(start).Seconds())
	if sp.Offline || o.NoReport {
		return nil, s.Finish(RunFiles...)
	}
	sum, err := Report(dir)
	if err != nil {
		return nil, err
	}
	return &sum, s.Finish(RunFiles...)
}

// RunFiles are the files of an LCA run folder besides the training run's, as finished.json
// lists them (the optional ones when present). The report is not among them: `gaze lca report`
// rewrites it.
var RunFiles = []string{MetaFile, LossesFile, LayersFile, HelpedLayers, NeuronsFile, TotalFile, HelpedFile, FullFile, WeightsFile}

// checkDisk checks, before the run folder is touched, that its file system has room for what
// the run still writes (DiskNeed, less what a resumed run's files hold already) and returns it.
func checkDisk(s *train.Session, out Outputs) (int64, error) {
	need := max(diskNeed(s, out)-dirBytes(s.Dir()), 0)
	return need, CheckDisk(existingParent(s.Dir()), need)
}

// diskNeed is DiskNeed for a session's model, trainer and outputs.
func diskNeed(s *train.Session, out Outputs) int64 {
	rec := NewRecorder(s.Dir(), s.Model, nil, out)
	return DiskNeed(rec, s.Trainer.CheckpointBytes(rec.StateBytes()), s.Trainer.TotalSteps(), s.Model.Arena.Params)
}

// DiskNeed is the most a run's folder holds at once, in bytes: the files it writes (per
// iteration, the optional T × D ones, the accumulators, the training logs, meta.json and the
// report) plus what is written beside them before a rename: the checkpoint twice (the old one
// and its replacement) and the accumulators' snapshots twice.
func DiskNeed(rec *Recorder, checkpoint int64, T int, params []engine.Param) int64 {
	d := int64(rec.m.Arena.D)
	b := rec.PlannedBytes(T)
	b += 2 * checkpoint
	b += 12*d + 2*4096                                        // the accumulators' temporary copies, headers
	b += int64(T)*96 + 64<<10                                 // metrics.csv, epochs.csv, config.json, result.json
	b += int64(len(params))*256 + int64(rec.neurons.Count)*16 // meta.json: parameters and neurons
	return b + ReportBytes(len(rec.layers))
}

// ReportBytes bounds the size of the report of a run with the given number of layers: six
// figures and a heat map per layer as PNGs (a few hundred kilobytes each at most), and the HTML
// holding them again in base64.
func ReportBytes(layers int) int64 { return int64(6+layers) * (1 << 20) }

// dirBytes is the size of the files directly in dir (0 when it does not exist).
func dirBytes(dir string) int64 {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
	}
	return n
}

// existingParent is dir or its nearest existing ancestor: where a folder not made yet will be.
func existingParent(dir string) string {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			return d
		}
	}
}

// Set is the LCA set: the training split, or a seeded random subset of n of its examples; desc
// says which in words, for the report.
func Set(train *data.Dataset, n int, seed uint64) (set *data.Dataset, desc string, err error) {
	if n == 0 || n >= train.Len() {
		return train, fmt.Sprintf("the whole training split (%d examples)", train.Len()), nil
	}
	_, sub, err := data.Split(train, n, seed)
	if err != nil {
		return nil, "", err
	}
	return sub, fmt.Sprintf("a fixed random subset of %d training examples (seed %d)", n, seed), nil
}

func newMeta(s *train.Session, sp Spec, set string) (*Meta, error) {
	cfg, tr := s.Config, s.Trainer
	dj, err := json.Marshal(cfg.Data)
	if err != nil {
		return nil, err
	}
	m := &Meta{Model: cfg.Model, Input: s.Data.Input, Classes: s.Data.Classes, Data: dj, Optimizer: cfg.Opt, L2: cfg.L2,
		Batch: cfg.Batch, Epochs: cfg.Epochs, StepsPerEpoch: tr.StepsPerEpoch(), Seed: cfg.Seed, Device: cfg.Device,
		Integrator: sp.Config, LCAExamples: sp.Examples, LCASubset: sp.Examples > 0, LCASeed: sp.Seed, LCASet: set,
		Computed: !sp.Offline, T: tr.TotalSteps(), Identity: cfg.Identity}
	// An offline run's parts write lca.npy when it was asked for, and merge joins them.
	m.Outputs.LCA, m.Outputs.Weights = sp.SaveLCA, sp.SaveW
	m.Iters = [2]int{0, tr.TotalSteps()}
	m.FillArena(s.Model.Arena)
	return m, nil
}
