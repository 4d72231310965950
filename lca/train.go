package lca

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
func Train(ctx context.Context, cfg TrainConfig, o TrainOptions) (*Summary, error) {
	sp := cfg.LCA
	if err := sp.Validate(); err != nil {
		return nil, err
	}
	to := o.Options
	to.Saved = func(c train.Config) any { return TrainConfig{Config: c, LCA: sp} }
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
	need := rec.PlannedBytes(s.Trainer.TotalSteps())
	if err := CheckDisk(dir, need); err != nil {
		return nil, err
	}
	s.Logf("LCA over %s; the run writes about %s to %s", setDesc, bytesize.Format(need), dir)
	meta, err := newMeta(s, sp, setDesc)
	if err != nil {
		return nil, err
	}
	if err := WriteMeta(dir, meta); err != nil {
		return nil, err
	}
	s.Trainer.Hook = rec.Hook
	s.Trainer.Extra = rec
	if !o.Resume {
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
		return nil, nil
	}
	sum, err := Report(dir)
	if err != nil {
		return nil, err
	}
	return &sum, nil
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
		Computed: !sp.Offline, T: tr.TotalSteps()}
	m.Outputs.LCA, m.Outputs.Weights = sp.SaveLCA && !sp.Offline, sp.SaveW
	m.Iters = [2]int{0, tr.TotalSteps()}
	m.FillArena(s.Model.Arena)
	return m, nil
}
