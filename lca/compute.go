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
	"github.com/gazeml/gaze/internal/bytesize"
)

// ComputeOptions say which iterations of a saved run `gaze lca compute` allocates, and where.
type ComputeOptions struct {
	Iters   string // "a:b"; either side may be empty (the run's start or end)
	Part    string // "K/N": part K of N (PartRange), instead of Iters
	Every   int    // window LCA: iterations per row (0: the trajectory's stride, meta.WeightsEvery)
	MaxDisk int64  // refuse a part folder that would hold more than this many bytes (0: no limit)
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
	k, err := computeWindow(meta, o.Every)
	if err != nil {
		return "", 0, 0, err
	}
	if o.Part != "" {
		if o.Iters != "" && o.Iters != ":" {
			return "", 0, 0, fmt.Errorf("--part %s and --iters %s: give one", o.Part, o.Iters)
		}
		a, b, err = ParsePart(o.Part, meta.T, k)
	} else if a, b, err = ParseRange(cmpOr(o.Iters, ":"), meta.T); err == nil && (a%k != 0 || (b%k != 0 && b != meta.T)) {
		err = fmt.Errorf("--iters %d:%d with windows of %d iterations: both ends must be multiples of %d (or the end the run's %d)", a, b, k, k, meta.T)
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
		out = filepath.Join(dir, "parts", partName(a, b, k))
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
	plan := computePlan(NewRecorder(out, m, it, Outputs{LCA: meta.Outputs.LCA, Every: k}), b-a, meta)
	if o.Log != nil {
		o.Log("disk plan: the part folder %s holds at most %s", out, plan)
	}
	if o.MaxDisk > 0 && plan.Total() > o.MaxDisk {
		return "", 0, 0, fmt.Errorf("--max-disk %s: the part of iterations %d:%d would write %s; compute a shorter range (--iters, or --part with more parts)%s",
			bytesize.Format(o.MaxDisk), a, b, plan, computeHint(k, meta))
	}
	if err := CheckDisk(existingParent(out), plan.Total()); err != nil {
		return "", 0, 0, err
	}
	return out, a, b, Compute(dir, meta, m, it, a, b, k, out)
}

// computeHint suggests longer windows when the run's trajectory allows them.
func computeHint(k int, meta *Meta) string {
	if meta.T/k < 2 {
		return ""
	}
	return fmt.Sprintf(", or longer windows: --every K, a multiple of %d above %d (one row per window)", every(meta.WeightsEvery), k)
}

// computeWindow is the window of an offline computation asked for with --every (0: the
// trajectory's stride), which must be a multiple of the stride.
func computeWindow(meta *Meta, asked int) (int, error) {
	kw := every(meta.WeightsEvery)
	k := asked
	if k == 0 {
		k = kw
	}
	if k < 1 || k%kw != 0 {
		return 0, fmt.Errorf("--every %d: the trajectory holds θ every %d iterations, so windows must be a multiple of %d", asked, kw, kw)
	}
	return k, nil
}

// partName is the default name of the part of iterations a:b in windows of k.
func partName(a, b, k int) string {
	if k > 1 {
		return fmt.Sprintf("w%d-%07d-%07d", k, a, b)
	}
	return fmt.Sprintf("%07d-%07d", a, b)
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
