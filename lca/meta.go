package lca

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/rundir"
)

// ParamMeta describes one parameter of θ in meta.json.
type ParamMeta struct {
	Name   string `json:"name"`
	Layer  string `json:"layer"`
	Kind   string `json:"kind"`
	Shape  []int  `json:"shape"`
	Offset int    `json:"offset"`
	Size   int    `json:"size"`
}

// Meta is a run directory's meta.json: what was trained on what, how LCA was computed, and
// where every parameter sits in the per-parameter files.
type Meta struct {
	Model         string           `json:"model"`
	Input         []int            `json:"input_shape"`
	Classes       int              `json:"classes"`
	Data          json.RawMessage  `json:"data"` // the command line's data description
	Optimizer     engine.OptConfig `json:"optimizer"`
	L2            float64          `json:"l2"`
	Batch         int              `json:"batch"`
	Epochs        int              `json:"epochs"`
	StepsPerEpoch int              `json:"steps_per_epoch"`
	Seed          uint64           `json:"seed"`
	Device        string           `json:"device"`

	Integrator  Config `json:"integrator"`
	LCAExamples int    `json:"lca_examples"` // size of the LCA set
	LCASubset   bool   `json:"lca_subset"`   // a seeded random subset of the training split
	LCASeed     uint64 `json:"lca_seed"`
	LCASet      string `json:"lca_set"` // in words, for the report
	Computed    bool   `json:"lca_computed"`
	// Outputs are the optional T × D files: lca.npy is written online, or for an offline run by
	// every part (and joined by merge); weights.npy by the training run.
	Outputs struct {
		LCA     bool `json:"lca"`
		Weights bool `json:"weights"`
	} `json:"outputs"`
	// Identity is the training run's identity (its config.json's): every part computed from the
	// run carries it, and merge, compute and report refuse files of another run.
	Identity string `json:"identity,omitempty"`
	// Indices names the file of the LCA set's examples (int64 indices into the training set as
	// loaded, before the held-out split: for MNIST the order of the IDX files), in the set's
	// order; HeldOutIndices the held-out split's. Offline computation reads the same files.
	Indices        string `json:"lca_indices,omitempty"`
	HeldOutIndices string `json:"held_out_indices,omitempty"`
	// Chunks says how the set is cut into the chunks whose gradients are combined: in batch-
	// statistics mode a chunk is what batch norm normalises together.
	Chunks string `json:"chunks,omitempty"`
	// ClassCounts are n_c, the LCA set's examples per class (per-class LCA).
	ClassCounts []int `json:"class_counts,omitempty"`
	// HeldOut describes the held-out allocation (--lca-held-out), written to HeldOut.Dir.
	HeldOut *HeldOutMeta `json:"held_out_lca,omitempty"`
	// Notes are caveats of the run's numbers, in words (runs of earlier versions carry one for
	// per-class LCA under batch-statistics batch norm, which is now refused).
	Notes []string `json:"notes,omitempty"`

	// Window is the number of iterations each row of the LCA files covers (0 in runs made
	// before windows: 1). Row r allocates the loss change from θ at iteration r·Window to θ at
	// min((r+1)·Window, T) along the straight chord between them, and losses.csv lists it under
	// its first iteration r·Window (its train_loss and epoch are that iteration's); the last
	// window is shorter when Window does not divide T. helped_count counts rows.
	Window int `json:"window,omitempty"`
	// WeightsEvery: weights.npy holds θ at iterations 0, WeightsEvery, 2·WeightsEvery, … and T
	// (row r is θ at min(r·WeightsEvery, T)); 0 in runs made before it: 1.
	WeightsEvery int `json:"weights_every,omitempty"`

	D       int         `json:"d"`
	T       int         `json:"t"`     // iterations of the whole run
	Iters   [2]int      `json:"iters"` // [first, last) iterations these files cover
	Params  []ParamMeta `json:"params"`
	Layers  []string    `json:"layers"`
	Neurons struct {
		Layers []string `json:"layers"`
		Start  []int    `json:"start"`
		Size   []int    `json:"size"`
	} `json:"neurons"`
}

// Rows is the number of rows of the LCA files: one per window of the iterations Iters covers
// (they start on a window boundary; the last window may be short).
func (m *Meta) Rows() int {
	k := every(m.Window)
	return (m.Iters[1] - m.Iters[0] + k - 1) / k
}

// HeldOutMeta is the held-out split's allocation in meta.json.
type HeldOutMeta struct {
	Dir         string `json:"dir"`
	Examples    int    `json:"examples"`
	ClassCounts []int  `json:"class_counts,omitempty"`
}

// FillArena records the arena's parameters, layers and neurons.
func (m *Meta) FillArena(a *engine.Arena) {
	m.D = a.D
	m.Params = m.Params[:0]
	for _, p := range a.Params {
		m.Params = append(m.Params, ParamMeta{Name: p.Name, Layer: p.Layer, Kind: p.Kind.String(), Shape: p.Shape, Offset: p.Offset, Size: p.Size})
	}
	m.Layers = a.Layers()
	nm := NeuronMap(a)
	m.Neurons.Layers, m.Neurons.Start, m.Neurons.Size = nm.Layers, nm.Start, nm.Size
}

// CheckArena fails when a rebuilt model's arena differs from the one the run was made with.
func (m *Meta) CheckArena(a *engine.Arena) error {
	if a.D != m.D || len(a.Params) != len(m.Params) {
		return fmt.Errorf("the run was made with %d parameters in %d tensors, the model built now has %d in %d", m.D, len(m.Params), a.D, len(a.Params))
	}
	for i, p := range a.Params {
		q := m.Params[i]
		if p.Name != q.Name || p.Offset != q.Offset || p.Size != q.Size {
			return fmt.Errorf("parameter %d is %s@%d×%d in the run, %s@%d×%d in the model", i, q.Name, q.Offset, q.Size, p.Name, p.Offset, p.Size)
		}
	}
	return nil
}

// WriteMeta writes dir/meta.json atomically (or, given a path, that file).
func WriteMeta(dir string, m *Meta, path ...string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	to := filepath.Join(dir, MetaFile)
	if len(path) > 0 {
		to = path[0]
	}
	return rundir.WriteFileAtomic(to, append(b, '\n'))
}

// ReadMeta reads dir/meta.json.
func ReadMeta(dir string) (*Meta, error) {
	b, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		return nil, fmt.Errorf("%s is not an LCA run directory: %w", dir, err)
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, MetaFile), err)
	}
	if m.D < 1 || len(m.Params) == 0 {
		return nil, fmt.Errorf("%s: no parameters described", filepath.Join(dir, MetaFile))
	}
	return &m, nil
}
