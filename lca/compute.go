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
	Part    string // "K/N": part K of N (PartRange), instead of Iters
	Out     string // the part folder (default RUN/parts/aaaaaaa-bbbbbbb)
	Device  string // engine device name (default cpu)
	Devices string // devices of the full-set gradients ("cpu:2", "cuda:0,cuda:1"; default Device)
	DataDir string // where the run's data set is now ("": where the run read it)
	Log     func(format string, args ...any)
}

// ComputeRun computes LCA offline for a range of iterations of the run in dir (trained with
// --offline --save-weights): it reloads the run's data, takes the LCA set (and the held-out split)
// from the run's index files, rebuilds its model and writes a part folder, which it returns with
// the range.
func ComputeRun(dir string, o ComputeOptions) (out string, a, b int, err error) {
	meta, err := ReadMeta(dir)
	if err != nil {
		return "", 0, 0, err
	}
	if o.Part != "" {
		if o.Iters != "" && o.Iters != ":" {
			return "", 0, 0, fmt.Errorf("--part %s and --iters %s: give one", o.Part, o.Iters)
		}
		a, b, err = ParsePart(o.Part, meta.T)
	} else {
		a, b, err = ParseRange(cmpOr(o.Iters, ":"), meta.T)
	}
	if err != nil {
		return "", 0, 0, err
	}
	if err := checkTrajectory(dir, meta); err != nil {
		return "", 0, 0, err
	}
	if _, err := checkWeights(dir, meta, a, b); err != nil {
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
	ls, err := SetsFromIndices(dir, meta, ds)
	if err != nil {
		return "", 0, 0, err
	}
	device := cmpOr(o.Device, "cpu")
	gd, err := openGradientDevices(cmpOr(o.Devices, device), device)
	if err != nil {
		return "", 0, 0, err
	}
	dev := gd.train
	if dev == nil {
		if dev, err = engine.Open(device); err != nil {
			return "", 0, 0, err
		}
	}
	gd.fill(dev)
	chunk := min(meta.Integrator.Chunk, ls.Sets[0].Data.Len())
	build := func(d engine.Device) (*engine.Model, error) {
		return models.New(d, meta.Model, meta.Input, meta.Classes, chunk)
	}
	m, err := build(dev)
	if err != nil {
		return "", 0, 0, err
	}
	defer m.Close()
	m.L2 = meta.L2
	if err := meta.CheckArena(m.Arena); err != nil {
		return "", 0, 0, fmt.Errorf("%s: %w", dir, err)
	}
	it, err := newIntegratorOn(m, ls.Sets, meta.Integrator, gd, build)
	if err != nil {
		return "", 0, 0, err
	}
	defer it.pool.Close()
	return out, a, b, Compute(dir, meta, m, it, a, b, out)
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
