package lca

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/crashpoint"
	"github.com/gazeml/gaze/internal/csvlog"
	"github.com/gazeml/gaze/internal/npy"
	"github.com/gazeml/gaze/internal/rundir"
	"github.com/gazeml/gaze/train"
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
// directory out (with its own meta.json, carrying the run's identity, and finished.json): one
// row per window of every iterations (1: per iteration; a and b on window boundaries, b may be
// the run's end). m is the run's model rebuilt, it an integrator on m over the run's sets. The
// trajectory must be the run's: its first row is θ₀, which with config.json gives the identity
// meta.json records.
func Compute(run string, meta *Meta, m *engine.Model, it *Integrator, a, b, window int, out string) (err error) {
	if err := meta.CheckArena(m.Arena); err != nil {
		return fmt.Errorf("%s: %w", run, err)
	}
	if err := checkTrajectory(run, meta); err != nil {
		return err
	}
	off, err := checkWeights(run, meta, a, b)
	if err != nil {
		return err
	}
	wpath := filepath.Join(run, WeightsFile)
	if _, err := os.Stat(filepath.Join(out, MetaFile)); err == nil {
		return fmt.Errorf("%s already holds computed LCA; remove it or choose another --out", out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	// One process per part: two computes of the same range would interleave their rows.
	lock, err := rundir.AcquireLock(filepath.Join(out, rundir.LockFile), out)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, lock.Release()) }()
	if _, err := os.Stat(filepath.Join(out, MetaFile)); err == nil {
		return fmt.Errorf("%s already holds computed LCA; remove it or choose another --out", out)
	}
	f, err := os.Open(wpath)
	if err != nil {
		return err
	}
	defer f.Close()
	k, kw := every(window), every(meta.WeightsEvery)
	if k%kw != 0 || a%k != 0 || (b%k != 0 && b != meta.T) {
		return fmt.Errorf("iterations %d:%d in windows of %d: the windows must start at multiples of %d (of the trajectory's stride %d), the range on window boundaries", a, b, k, k, kw)
	}
	rec := NewRecorder(out, m, it, Outputs{LCA: meta.Outputs.LCA, Every: k})
	rec.T = meta.T
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
	if err := npy.ReadRowF32(f, off, meta.D, weightsRow(a, kw), row, raw); err != nil {
		return fmt.Errorf("%s: row %d: %w", wpath, weightsRow(a, kw), err)
	}
	dev.Upload(before, row)
	spe := max(meta.StepsPerEpoch, 1)
	for t := a; t < b; t += k {
		end := min(t+k, b)
		if err := npy.ReadRowF32(f, off, meta.D, weightsRow(end, kw), row, raw); err != nil {
			return fmt.Errorf("%s: row %d: %w", wpath, weightsRow(end, kw), err)
		}
		dev.Upload(m.Arena.Theta, row)
		if err := rec.RecordWindow(t, end, t/spe, before, m.Arena.Theta); err != nil {
			return errors.Join(err, rec.Close())
		}
		crashpoint.Hit("compute")
		dev.Copy(before, m.Arena.Theta)
	}
	if err := rec.Close(); err != nil {
		return err
	}
	part := *meta
	part.Iters = [2]int{a, b}
	part.Computed = true
	part.Window = k
	part.Outputs.Weights = false
	if err := WriteMeta(out, &part); err != nil {
		return err
	}
	return rundir.WriteFinished(out, rundir.Finished{Identity: meta.Identity, Iterations: b - a}, RunFiles...)
}

// weightsRow is the row of weights.npy holding θ at iteration t, for a trajectory saved every
// kw iterations (and at its end T, which need not be a multiple of kw).
func weightsRow(t, kw int) int { return (t + kw - 1) / kw }

// checkTrajectory checks that the run's config.json and the first row of its weights.npy (θ₀)
// give the identity its meta.json records: a trajectory or configuration of another run (same
// model, another seed) is refused, naming the file. Runs written before identities are
// accepted as they are.
func checkTrajectory(run string, meta *Meta) error {
	if meta.Identity == "" {
		return nil
	}
	cpath := filepath.Join(run, "config.json")
	cfg, err := os.ReadFile(cpath)
	if err != nil {
		return fmt.Errorf("%s: the run's configuration is needed to check its identity: %w", run, err)
	}
	var saved struct {
		Identity string `json:"identity"`
	}
	if err := json.Unmarshal(cfg, &saved); err != nil {
		return fmt.Errorf("%s: %w", cpath, err)
	}
	if saved.Identity != meta.Identity {
		return rundir.IdentityMismatch(filepath.Join(run, MetaFile), meta.Identity, saved.Identity)
	}
	wpath := filepath.Join(run, WeightsFile)
	theta0, err := npy.Read(wpath, 0, 1)
	if err != nil {
		return fmt.Errorf("offline LCA needs the trajectory (train with --save-weights): %w", err)
	}
	row := make([]float32, len(theta0.Data))
	for i, v := range theta0.Data {
		row[i] = float32(v)
	}
	id, err := rundir.Identity(json.RawMessage(cfg), train.IdentitySkip(specMutable...), train.Float32Bytes(row))
	if err != nil {
		return err
	}
	if id != meta.Identity {
		return fmt.Errorf("%s: its first row is not this run's θ₀ (with config.json it gives identity %s, the run's is %s): the trajectory belongs to another run", wpath, id, meta.Identity)
	}
	return nil
}

// checkWeights checks that the run's weights.npy holds θ for iterations a..b and returns the
// offset of its data.
func checkWeights(run string, meta *Meta, a, b int) (int, error) {
	wpath := filepath.Join(run, WeightsFile)
	shape, dt, off, err := npy.ReadHeader(wpath)
	if err != nil {
		return 0, fmt.Errorf("offline LCA needs the trajectory (train with --save-weights): %w", err)
	}
	if dt != npy.Float32 || len(shape) != 2 || shape[1] != meta.D {
		return 0, fmt.Errorf("%s: holds %s %v, want rows of %d float32", wpath, dt, shape, meta.D)
	}
	if need := weightsRow(b, every(meta.WeightsEvery)) + 1; shape[0] < need {
		return 0, fmt.Errorf("%s: holds %d rows of θ (every %d iterations), --iters %d:%d needs %d (the run stopped early or the file is truncated)", wpath, shape[0], every(meta.WeightsEvery), a, b, need)
	}
	if st, err := os.Stat(wpath); err != nil || st.Size() < int64(off)+int64(shape[0])*int64(4*meta.D) {
		return 0, fmt.Errorf("%s: truncated: shorter than its header's %d rows", wpath, shape[0])
	}
	return off, nil
}

// Merge joins part directories written by Compute into the run directory: the ranges must
// tile an interval without gaps or overlaps (no duplicated boundary rows), the parts be of one
// window, and every part must carry the run's identity and its files be those it finished with.
// Existing computed LCA in the run is never overwritten. The run's finished.json is rewritten
// for the merged files. Parts of another window than the LCA the run already holds (window LCA
// beside per-iteration LCA, or the reverse) go to their own folder, RUN/window-K (WindowDir),
// which the report shows beside the run's own.
func Merge(run string, parts []string) (err error) {
	meta, err := ReadMeta(run)
	if err != nil {
		return err
	}
	lock, err := rundir.AcquireLock(filepath.Join(run, rundir.LockFile), run)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, lock.Release()) }()
	fin, finished, err := rundir.ReadFinished(run)
	if err != nil {
		return err
	}
	if meta.Identity != "" && !finished {
		return fmt.Errorf("%s: the training run is not finished (no %s): continue it with gaze lca train --resume before merging", run, rundir.FinishedFile)
	}
	if len(parts) == 0 {
		return errors.New("no part directories to merge")
	}
	ps, err := readParts(meta, parts)
	if err != nil {
		return err
	}
	k := every(ps[0].meta.Window)
	for _, p := range ps[1:] {
		if every(p.meta.Window) != k {
			return fmt.Errorf("%s holds windows of %d iterations, %s of %d: merge the parts of one window at a time (name them: gaze lca merge RUN PART...)", ps[0].dir, k, p.dir, every(p.meta.Window))
		}
	}
	dest := run
	if meta.Computed {
		if every(meta.Window) == k {
			return fmt.Errorf("%s already holds computed LCA (iterations %d:%d); merge into a copy of the run", run, meta.Iters[0], meta.Iters[1])
		}
		dest = filepath.Join(run, WindowDir(k))
		if _, err := os.Stat(filepath.Join(dest, MetaFile)); err == nil {
			return fmt.Errorf("%s already holds computed LCA of windows of %d iterations", dest, k)
		}
	}
	// The run's files merge keeps must be those it finished with; the ones it replaces may be
	// anything (a merge killed between its renames left some replaced already).
	except := mergedFiles
	if dest != run {
		except = nil
	}
	if err := checkRunExcept(run, meta, fin, except); err != nil {
		return err
	}
	if err := checkTiling(ps, meta.T); err != nil {
		return err
	}
	if dest != run {
		if err := os.MkdirAll(dest, 0o755); err != nil {
			return err
		}
	}
	withFull := true
	for _, p := range ps {
		withFull = withFull && p.meta.Outputs.LCA
	}
	// Every merged file, meta.json included, is written beside the run's under a temporary
	// name (the LCA set's, then the held-out split's in its folder); then finished.json records
	// the state the run will have (the commit point: a merge killed after it is finished by
	// running it again), and the files are renamed into place, meta.json last.
	classes := 0
	if ps[0].meta.Integrator.PerClass {
		classes = meta.Classes
	}
	names, err := writeMerged(run, dest, "", meta, ps, withFull, classes)
	if err != nil {
		return err
	}
	if meta.HeldOut != nil {
		if err := os.MkdirAll(filepath.Join(dest, HeldOutDir), 0o755); err != nil {
			return err
		}
		more, err := writeMerged(run, dest, HeldOutDir, meta, ps, false, classes)
		if err != nil {
			return err
		}
		names = append(names, more...)
	}
	merged := *meta
	merged.Computed = true
	merged.Iters = [2]int{ps[0].meta.Iters[0], ps[len(ps)-1].meta.Iters[1]}
	merged.Integrator = ps[0].meta.Integrator
	merged.Outputs.LCA = withFull
	merged.Window = k
	if dest != run {
		// A folder of its own: its files, then meta.json, then its finished.json (a merge killed
		// before that is done again from the start).
		merged.Outputs.Weights = false
		for _, n := range names {
			if err := os.Rename(mergeTmp(dest, n), filepath.Join(dest, n)); err != nil {
				return err
			}
		}
		if err := WriteMeta(dest, &merged); err != nil {
			return err
		}
		return rundir.WriteFinished(dest, rundir.Finished{Identity: meta.Identity, Iterations: meta.T}, RunFiles...)
	}
	if err := WriteMeta(run, &merged, mergeTmp(run, MetaFile)); err != nil {
		return err
	}
	names = append(names, MetaFile)
	if finished {
		at := func(name string) string {
			if slices.Contains(names, name) {
				return mergeTmp(run, name)
			}
			return filepath.Join(run, name)
		}
		if err := rundir.WriteFinishedFrom(run, rundir.Finished{Identity: fin.Identity, Iterations: fin.Iterations}, at, append(trainFiles, RunFiles...)...); err != nil {
			return err
		}
	}
	crashpoint.Hit("merge")
	for _, n := range names {
		if err := os.Rename(mergeTmp(run, n), filepath.Join(run, n)); err != nil {
			return err
		}
		crashpoint.Hit("merge-rename")
	}
	return nil
}

// trainFiles are the training run's files of an LCA run folder (see train.Session.Finish).
var trainFiles = []string{"config.json", "metrics.csv", "epochs.csv", "result.json"}

// mergedFiles are the files Merge writes into a run: every file of RunFiles but the trajectory
// and the index files.
var mergedFiles = slices.DeleteFunc(slices.Clone(RunFiles), func(f string) bool {
	return f == WeightsFile || f == IndicesFile || f == HeldOutIndices
})

// checkRunExcept is CheckRun for a run that is about to have the files except replaced: its
// identity, and its other files as they were when it finished (fin, nil when it has not).
func checkRunExcept(run string, meta *Meta, fin *rundir.Finished, except []string) error {
	var cfg struct {
		Identity string `json:"identity"`
	}
	if b, err := os.ReadFile(filepath.Join(run, "config.json")); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(run, "config.json"), err)
		}
		if cfg.Identity != meta.Identity {
			return rundir.IdentityMismatch(filepath.Join(run, MetaFile), meta.Identity, cfg.Identity)
		}
	}
	if fin == nil {
		return nil
	}
	kept := *fin
	kept.Files = slices.DeleteFunc(slices.Clone(fin.Files), func(f rundir.FileState) bool { return slices.Contains(except, f.File) })
	return kept.Verify(run)
}

// mergePart is one part directory written by Compute.
type mergePart struct {
	dir  string
	meta *Meta
}

// rows is the number of rows of the part's files: its windows (a part starts on a window
// boundary; its last window may be short).
func (p mergePart) rows() int { return p.meta.Rows() }

// WindowDir is the folder of a run that holds LCA of windows of k iterations merged beside
// the LCA the run holds itself.
func WindowDir(k int) string { return fmt.Sprintf("window-%d", k) }

// readParts reads the parts' metadata, checks that each holds LCA computed for the run (its
// identity, and its files as it finished them), and returns them in iteration order.
func readParts(meta *Meta, parts []string) ([]mergePart, error) {
	var ps []mergePart
	for _, d := range parts {
		pm, err := ReadMeta(d)
		if err != nil {
			return nil, err
		}
		if !pm.Computed || pm.Model != meta.Model || pm.D != meta.D {
			return nil, fmt.Errorf("%s is not LCA computed for this run (%s, %d parameters)", d, meta.Model, meta.D)
		}
		if pm.Identity != meta.Identity {
			return nil, rundir.IdentityMismatch("part "+d, pm.Identity, meta.Identity)
		}
		if err := CheckRun(d); err != nil {
			return nil, err
		}
		ps = append(ps, mergePart{d, pm})
	}
	slices.SortFunc(ps, func(x, y mergePart) int { return x.meta.Iters[0] - y.meta.Iters[0] })
	return ps, nil
}

// checkTiling checks that the sorted parts cover iterations 0:T exactly once, computed with one
// integrator over one LCA set.
func checkTiling(ps []mergePart, T int) error {
	for i := 1; i < len(ps); i++ {
		prev, cur := ps[i-1].meta.Iters, ps[i].meta.Iters
		switch {
		case cur[0] < prev[1]:
			return fmt.Errorf("%s (iterations %d:%d) and %s (%d:%d) overlap: iterations %d:%d would appear twice",
				ps[i-1].dir, prev[0], prev[1], ps[i].dir, cur[0], cur[1], cur[0], min(prev[1], cur[1]))
		case cur[0] > prev[1]:
			return fmt.Errorf("iterations %d:%d are in no part (between %s and %s)", prev[1], cur[0], ps[i-1].dir, ps[i].dir)
		}
		if ps[i].meta.Integrator != ps[0].meta.Integrator || ps[i].meta.LCAExamples != ps[0].meta.LCAExamples || every(ps[i].meta.Window) != every(ps[0].meta.Window) {
			return fmt.Errorf("%s and %s were computed with different integrators or LCA sets", ps[0].dir, ps[i].dir)
		}
	}
	first, last := ps[0].meta.Iters[0], ps[len(ps)-1].meta.Iters[1]
	if first != 0 || last != T {
		return fmt.Errorf("the parts cover iterations %d:%d; iterations %s of the run's 0:%d are in no part", first, last, missing(first, last, T), T)
	}
	return nil
}

// mergeTmp is where Merge writes a file of the run (a path relative to it) before renaming it
// into place.
func mergeTmp(run, name string) string {
	return filepath.Join(run, filepath.Dir(name), ".merge-"+filepath.Base(name))
}

// writeMerged writes the merged losses, accumulators and per-iteration streams of one set (its
// files in sub: "" for the LCA set, held_out/ for the held-out split; the full T × D LCA only
// when every part has it; the per-class files with classes > 0) to their temporary names, and
// returns the files' names relative to the run.
func writeMerged(run, dest, sub string, meta *Meta, ps []mergePart, withFull bool, classes int) ([]string, error) {
	rel := func(name string) string { return filepath.Join(sub, name) }
	if err := mergeLosses(run, dest, sub, ps); err != nil {
		return nil, err
	}
	total, helped, err := sumAccumulators(ps, sub, meta.D)
	if err != nil {
		return nil, err
	}
	l := len(meta.Layers)
	streams := []mergedStream{{LayersFile, npy.Float64, []int{l}}, {HelpedLayers, npy.Float32, []int{l}}, {NeuronsFile, npy.Float32, []int{sumInts(meta.Neurons.Size)}}}
	if withFull {
		streams = append(streams, mergedStream{FullFile, npy.Float32, []int{meta.D}})
	}
	names := []string{rel(LossesFile), rel(TotalFile), rel(HelpedFile)}
	if classes > 0 {
		streams = append(streams, mergedStream{ClassLayersFile, npy.Float64, []int{classes, l}}, mergedStream{ClassHelpedFile, npy.Float32, []int{classes, l}})
		if err := concatCSV(dest, sub, ClassLossesFile, classLossesHeader, ps, classes); err != nil {
			return nil, err
		}
		names = append(names, rel(ClassLossesFile))
	}
	for _, c := range streams {
		if err := concatStream(dest, sub, c, ps); err != nil {
			return nil, err
		}
		names = append(names, rel(c.name))
	}
	if err := npy.Write(mergeTmp(dest, rel(TotalFile)), []int{meta.D}, total); err != nil {
		return nil, err
	}
	if err := npy.Write(mergeTmp(dest, rel(HelpedFile)), []int{meta.D}, helped); err != nil {
		return nil, err
	}
	return names, nil
}

// mergeLosses concatenates the parts' losses.csv of one set into dest, with each row's minibatch
// loss taken from the training run's own losses.csv (a part does not know it): the loss of the
// row's first iteration.
func mergeLosses(run, dest, sub string, ps []mergePart) error {
	trainLoss := map[int]string{}
	if rows, err := readCSV(filepath.Join(run, LossesFile)); err == nil {
		for _, r := range rows {
			trainLoss[atoi(r[0])] = r[2]
		}
	}
	return concatRows(dest, sub, LossesFile, lossesHeader, ps, 1, func(r []string) {
		if tl, ok := trainLoss[atoi(r[0])]; ok {
			r[2] = tl
		}
	})
}

// concatCSV concatenates the parts' per-class CSV file name of one set (rows per iteration
// rows per iteration).
func concatCSV(run, sub, name string, header []string, ps []mergePart, rows int) error {
	return concatRows(run, sub, name, header, ps, rows, nil)
}

// concatRows writes the rows of every part's sub/name (perIter rows an iteration), in part
// order and edited by edit, to the file's temporary name in the run.
func concatRows(run, sub, name string, header []string, ps []mergePart, perIter int, edit func([]string)) error {
	out, err := csvlog.Open(mergeTmp(run, filepath.Join(sub, name)), header, lossesKeyCol, nil)
	if err != nil {
		return err
	}
	for _, p := range ps {
		path := filepath.Join(p.dir, sub, name)
		rows, err := readCSV(path)
		if err != nil {
			return errors.Join(err, out.Close())
		}
		if len(rows) != perIter*p.rows() {
			err := fmt.Errorf("%s: %d rows for iterations %d:%d", path, len(rows), p.meta.Iters[0], p.meta.Iters[1])
			return errors.Join(err, out.Close())
		}
		for _, r := range rows {
			if edit != nil {
				edit(r)
			}
			vals := make([]any, len(r))
			for i, v := range r {
				vals[i] = v
			}
			out.Row(vals...)
		}
	}
	return out.Close()
}

// sumAccumulators adds up the parts' per-parameter total LCA and helped counts of one set.
func sumAccumulators(ps []mergePart, sub string, d int) ([]float64, []int32, error) {
	total := make([]float64, d)
	helped := make([]int32, d)
	for _, p := range ps {
		tot, err := npy.Read(filepath.Join(p.dir, sub, TotalFile), 0, -1)
		if err != nil {
			return nil, nil, err
		}
		hc, err := npy.Read(filepath.Join(p.dir, sub, HelpedFile), 0, -1)
		if err != nil {
			return nil, nil, err
		}
		if len(tot.Data) != d || len(hc.Data) != d {
			return nil, nil, fmt.Errorf("%s: accumulators of %d and %d values, want %d", filepath.Join(p.dir, sub), len(tot.Data), len(hc.Data), d)
		}
		for i := range total {
			total[i] += tot.Data[i]
			helped[i] += int32(hc.Data[i])
		}
	}
	return total, helped, nil
}

// mergedStream is a per-iteration NPY file of a run: T rows of shape inner.
type mergedStream struct {
	name  string
	dt    npy.Dtype
	inner []int
}

// concatStream writes the rows of every part's file sub/c, in part order, to its temporary name.
func concatStream(run, sub string, c mergedStream, ps []mergePart) error {
	s, err := npy.CreateStreamShape(mergeTmp(run, filepath.Join(sub, c.name)), c.dt, c.inner)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := s.AppendFile(filepath.Join(p.dir, sub, c.name), p.rows()); err != nil {
			s.Close()
			return err
		}
	}
	return s.Close()
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
