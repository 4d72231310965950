package lca

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/csvlog"
	"github.com/gazeml/gaze/internal/npy"
)

// ParseRange parses "a:b" (either side may be empty: the run's start or end) into [a, b).
func ParseRange(s string, T int) (int, int, error) {
	as, bs, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("--iters %q: want a:b", s)
	}
	a, b := 0, T
	var err error
	if as != "" {
		if a, err = strconv.Atoi(as); err != nil {
			return 0, 0, fmt.Errorf("--iters %q: %q is not an iteration", s, as)
		}
	}
	if bs != "" {
		if b, err = strconv.Atoi(bs); err != nil {
			return 0, 0, fmt.Errorf("--iters %q: %q is not an iteration", s, bs)
		}
	}
	if a < 0 || b > T || a >= b {
		return 0, 0, fmt.Errorf("--iters %d:%d is outside the run's iterations 0:%d (or empty)", a, b, T)
	}
	return a, b, nil
}

// Compute runs LCA offline for iterations [a, b) of a run saved with weights.npy, writing a part
// directory out (with its own meta.json). m is the run's model rebuilt, ds its LCA set.
func Compute(run string, meta *Meta, m *engine.Model, ds engine.Examples, a, b int, out string) error {
	if err := meta.CheckArena(m.Arena); err != nil {
		return fmt.Errorf("%s: %w", run, err)
	}
	wpath := filepath.Join(run, WeightsFile)
	shape, dt, off, err := npy.ReadHeader(wpath)
	if err != nil {
		return fmt.Errorf("offline LCA needs the trajectory (train with --save-weights): %w", err)
	}
	if dt != npy.Float32 || len(shape) != 2 || shape[1] != meta.D {
		return fmt.Errorf("%s: holds %s %v, want rows of %d float32", wpath, dt, shape, meta.D)
	}
	if shape[0] < b+1 {
		return fmt.Errorf("%s: holds θ for iterations 0..%d, --iters %d:%d needs up to %d (the run stopped early or the file is truncated)", wpath, shape[0]-1, a, b, b)
	}
	if st, err := os.Stat(wpath); err != nil || st.Size() < int64(off)+int64(shape[0])*int64(4*meta.D) {
		return fmt.Errorf("%s: truncated: shorter than its header's %d rows", wpath, shape[0])
	}
	if _, err := os.Stat(filepath.Join(out, MetaFile)); err == nil {
		return fmt.Errorf("%s already holds computed LCA; remove it or choose another --out", out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	it, err := NewIntegrator(m, ds, meta.Integrator)
	if err != nil {
		return err
	}
	defer it.Close()
	f, err := os.Open(wpath)
	if err != nil {
		return err
	}
	defer f.Close()
	rec := NewRecorder(out, m, it, Outputs{LCA: meta.Outputs.LCA})
	if err := rec.Start(a, nil); err != nil {
		return err
	}
	dev := m.Dev
	before, err := dev.Alloc(meta.D)
	if err != nil {
		return err
	}
	defer dev.Free(before)
	row := make([]float32, meta.D)
	raw := make([]byte, 4*meta.D)
	if err := npy.ReadRowF32(f, off, meta.D, a, row, raw); err != nil {
		return fmt.Errorf("%s: row %d: %w", wpath, a, err)
	}
	dev.Upload(before, row)
	spe := max(meta.StepsPerEpoch, 1)
	for t := a; t < b; t++ {
		if err := npy.ReadRowF32(f, off, meta.D, t+1, row, raw); err != nil {
			return fmt.Errorf("%s: row %d: %w", wpath, t+1, err)
		}
		dev.Upload(m.Arena.Theta, row)
		if err := rec.Record(t, t/spe, math.NaN(), before, m.Arena.Theta); err != nil {
			return errors.Join(err, rec.Close())
		}
		dev.Copy(before, m.Arena.Theta)
	}
	if err := rec.Close(); err != nil {
		return err
	}
	part := *meta
	part.Iters = [2]int{a, b}
	part.Computed = true
	part.Outputs.Weights = false
	return WriteMeta(out, &part)
}

// Merge joins part directories written by Compute into the run directory: the ranges must
// tile an interval without gaps or overlaps (no duplicated boundary rows). Existing computed
// LCA in the run is never overwritten.
func Merge(run string, parts []string) error {
	meta, err := ReadMeta(run)
	if err != nil {
		return err
	}
	if meta.Computed {
		return fmt.Errorf("%s already holds computed LCA (iterations %d:%d); merge into a copy of the run", run, meta.Iters[0], meta.Iters[1])
	}
	if len(parts) == 0 {
		return errors.New("no part directories to merge")
	}
	type part struct {
		dir  string
		meta *Meta
	}
	var ps []part
	for _, d := range parts {
		pm, err := ReadMeta(d)
		if err != nil {
			return err
		}
		if !pm.Computed || pm.Model != meta.Model || pm.D != meta.D {
			return fmt.Errorf("%s is not LCA computed for this run (%s, %d parameters)", d, meta.Model, meta.D)
		}
		ps = append(ps, part{d, pm})
	}
	slices.SortFunc(ps, func(x, y part) int { return x.meta.Iters[0] - y.meta.Iters[0] })
	for i := 1; i < len(ps); i++ {
		prev, cur := ps[i-1].meta.Iters, ps[i].meta.Iters
		switch {
		case cur[0] < prev[1]:
			return fmt.Errorf("%s (iterations %d:%d) and %s (%d:%d) overlap: iterations %d:%d would appear twice",
				ps[i-1].dir, prev[0], prev[1], ps[i].dir, cur[0], cur[1], cur[0], min(prev[1], cur[1]))
		case cur[0] > prev[1]:
			return fmt.Errorf("iterations %d:%d are in no part (between %s and %s)", prev[1], cur[0], ps[i-1].dir, ps[i].dir)
		}
		if ps[i].meta.Integrator != ps[0].meta.Integrator || ps[i].meta.LCAExamples != ps[0].meta.LCAExamples {
			return fmt.Errorf("%s and %s were computed with different integrators or LCA sets", ps[0].dir, ps[i].dir)
		}
	}
	first, last := ps[0].meta.Iters[0], ps[len(ps)-1].meta.Iters[1]
	if first != 0 || last != meta.T {
		return fmt.Errorf("the parts cover iterations %d:%d; iterations %s of the run's 0:%d are in no part", first, last, missing(first, last, meta.T), meta.T)
	}
	withFull := true
	for _, p := range ps {
		withFull = withFull && p.meta.Outputs.LCA
	}

	// The training run's own losses.csv has each iteration's minibatch loss.
	trainLoss := map[int]string{}
	if rows, err := readCSV(filepath.Join(run, LossesFile)); err == nil {
		for _, r := range rows {
			trainLoss[atoi(r[0])] = r[2]
		}
	}
	tmp := func(name string) string { return filepath.Join(run, ".merge-"+name) }
	losses, err := csvlog.Open(tmp(LossesFile), lossesHeader, lossesKeyCol, nil)
	if err != nil {
		return err
	}
	d, l, nn := meta.D, len(meta.Layers), sumInts(meta.Neurons.Size)
	type catSpec struct {
		name string
		dt   npy.Dtype
		cols int
	}
	cats := []catSpec{{LayersFile, npy.Float64, l}, {HelpedLayers, npy.Float32, l}, {NeuronsFile, npy.Float32, nn}}
	if withFull {
		cats = append(cats, catSpec{FullFile, npy.Float32, d})
	}
	total := make([]float64, d)
	helped := make([]int32, d)
	for _, p := range ps {
		rows, err := readCSV(filepath.Join(p.dir, LossesFile))
		if err != nil {
			return err
		}
		if len(rows) != p.meta.Iters[1]-p.meta.Iters[0] {
			return fmt.Errorf("%s: %d rows for iterations %d:%d", filepath.Join(p.dir, LossesFile), len(rows), p.meta.Iters[0], p.meta.Iters[1])
		}
		for _, r := range rows {
			if tl, ok := trainLoss[atoi(r[0])]; ok {
				r[2] = tl
			}
			vals := make([]any, len(r))
			for i, v := range r {
				vals[i] = v
			}
			losses.Row(vals...)
		}
		tot, err := npy.Read(filepath.Join(p.dir, TotalFile), 0, -1)
		if err != nil {
			return err
		}
		hc, err := npy.Read(filepath.Join(p.dir, HelpedFile), 0, -1)
		if err != nil {
			return err
		}
		if len(tot.Data) != d || len(hc.Data) != d {
			return fmt.Errorf("%s: accumulators of %d and %d values, want %d", p.dir, len(tot.Data), len(hc.Data), d)
		}
		for i := range total {
			total[i] += tot.Data[i]
			helped[i] += int32(hc.Data[i])
		}
	}
	if err := losses.Close(); err != nil {
		return err
	}
	for _, c := range cats {
		s, err := npy.CreateStream(tmp(c.name), c.dt, c.cols)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if err := s.AppendFile(filepath.Join(p.dir, c.name), p.meta.Iters[1]-p.meta.Iters[0]); err != nil {
				s.Close()
				return err
			}
		}
		if err := s.Close(); err != nil {
			return err
		}
	}
	if err := npy.Write(tmp(TotalFile), []int{d}, total); err != nil {
		return err
	}
	if err := npy.Write(tmp(HelpedFile), []int{d}, helped); err != nil {
		return err
	}
	names := []string{LossesFile, TotalFile, HelpedFile}
	for _, c := range cats {
		names = append(names, c.name)
	}
	for _, n := range names {
		if err := os.Rename(tmp(n), filepath.Join(run, n)); err != nil {
			return err
		}
	}
	meta.Computed = true
	meta.Iters = [2]int{first, last}
	meta.Integrator = ps[0].meta.Integrator
	meta.Outputs.LCA = withFull
	return WriteMeta(run, meta)
}

// readCSV returns a CSV file's rows without its header.
func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	return rows[1:], nil
}

func atoi(s string) int {
	v, _ := strconv.Atoi(s)
	return v
}

func sumInts(v []int) int {
	s := 0
	for _, x := range v {
		s += x
	}
	return s
}

func missing(first, last, T int) string {
	switch {
	case first > 0 && last < T:
		return fmt.Sprintf("0:%d and %d:%d", first, last, T)
	case first > 0:
		return fmt.Sprintf("0:%d", first)
	}
	return fmt.Sprintf("%d:%d", last, T)
}
