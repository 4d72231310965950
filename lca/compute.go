package lca

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/engine/models"
)

// ComputeOptions say which iterations of a saved run `gaze lca compute` allocates, and where.
type ComputeOptions struct {
	Iters   string // "a:b"; either side may be empty (the run's start or end)
	Out     string // the part folder (default RUN/parts/aaaaaaa-bbbbbbb)
	Device  string // engine device name (default cpu)
	DataDir string // where the run's data set is now ("": where the run read it)
	Log     func(format string, args ...any)
}

// ComputeRun computes LCA offline for a range of iterations of the run in dir (trained with
// --offline --save-weights): it reloads the run's data and LCA set, rebuilds its model and
// writes a part folder, which it returns with the range.
func ComputeRun(dir string, o ComputeOptions) (out string, a, b int, err error) {
	meta, err := ReadMeta(dir)
	if err != nil {
		return "", 0, 0, err
	}
	if a, b, err = ParseRange(o.Iters, meta.T); err != nil {
		return "", 0, 0, err
	}
	out = o.Out
	if out == "" {
		out = filepath.Join(dir, "parts", fmt.Sprintf("%07d-%07d", a, b))
	}
	var spec data.Spec
	if err := json.Unmarshal(meta.Data, &spec); err != nil {
		return "", 0, 0, fmt.Errorf("%s: data description: %w", dir, err)
	}
	if o.DataDir != "" {
		spec.Dir = o.DataDir
	}
	ds, err := data.Load(spec, o.Log)
	if err != nil {
		return "", 0, 0, err
	}
	set, _, err := Set(ds.Train, meta.LCAExamples, meta.LCASeed)
	if err != nil {
		return "", 0, 0, err
	}
	device := o.Device
	if device == "" {
		device = "cpu"
	}
	dev, err := engine.Open(device)
	if err != nil {
		return "", 0, 0, err
	}
	m, err := models.New(dev, meta.Model, meta.Input, meta.Classes, min(meta.Integrator.Chunk, set.Len()))
	if err != nil {
		return "", 0, 0, err
	}
	defer m.Close()
	m.L2 = meta.L2
	return out, a, b, Compute(dir, meta, m, set, a, b, out)
}

// Parts lists the part folders under dir/parts, in name (and so iteration) order.
func Parts(dir string) ([]string, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	parts, err := filepath.Glob(filepath.Join(dir, "parts", "*"))
	sort.Strings(parts)
	return parts, err
}
