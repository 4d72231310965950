package lca

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"syscall"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/bytesize"
	"github.com/gazeml/gaze/internal/csvlog"
	"github.com/gazeml/gaze/internal/npy"
	"github.com/gazeml/gaze/internal/rundir"
)

// File names of a run directory.
const (
	MetaFile        = "meta.json"
	LossesFile      = "losses.csv"
	LayersFile      = "lca_layers.npy"          // T × L float64: per-layer LCA sums
	HelpedLayers    = "helped_layers.npy"       // T × L float32: fraction of each layer's parameters helping
	NeuronsFile     = "lca_neurons.npy"         // T × neurons float32: LCA summed over each neuron's parameters
	TotalFile       = "lca_total.npy"           // D float64: Σ_t LCA_{t,i}
	HelpedFile      = "helped_count.npy"        // D int32: iterations with LCA_{t,i} < 0
	FullFile        = "lca.npy"                 // T × D float32 (optional)
	WeightsFile     = "weights.npy"             // (T+1) × D float32 (optional)
	ClassLossesFile = "losses_class.csv"        // per iteration and class: L_c before and after, ΔL_c, ΣLCA_c, error
	ClassLayersFile = "lca_class_layers.npy"    // T × C × L float64: per-class, per-layer LCA sums
	ClassHelpedFile = "helped_class_layers.npy" // T × C × L float32: fraction of each layer's parameters helping class c
	IndicesFile     = "lca_indices.npy"         // int64: the LCA set, as indices into the training set as loaded
	HeldOutIndices  = "held_out_indices.npy"    // int64: the held-out split, likewise
	// HeldOutDir holds the held-out split's allocation (--lca-held-out): the per-iteration and
	// per-parameter files above, under the same names.
	HeldOutDir    = "held_out"
	lossesKeyCol  = 0
	stateVersion  = 4 // 1: one set; 2: without the integrator's cached start; 3: without windows
	diskHeadroom  = 1.05
	bytesPerFloat = 4
)

var lossesHeader = []string{"iter", "epoch", "train_loss", "loss_before", "loss_after", "delta_loss", "lca_sum",
	"error", "n", "first_order_sum", "first_order_error", "helped_fraction", "evaluations"}

var classLossesHeader = []string{"iter", "class", "examples", "loss_before", "loss_after", "delta_loss", "lca_sum", "error"}

// Outputs selects the optional T×D files and the rows of the files.
type Outputs struct {
	LCA     bool // lca.npy
	Weights bool // weights.npy
	// Every is the window of the LCA rows (0 or 1: one row per iteration): row r allocates the
	// loss change from θ at iteration r·Every to θ at min((r+1)·Every, T) along the straight
	// chord between them; the last window is shorter when Every does not divide T.
	Every int
	// WeightsEvery thins weights.npy (0 or 1: every iteration): row r is θ at iteration
	// min(r·WeightsEvery, T).
	WeightsEvery int
}

// every is a row stride as a count of iterations (0 means 1).
func every(k int) int { return max(k, 1) }

// rowsAt is the number of rows of stride k written once iterations 0..iter−1 are done: one per
// whole stride, and the shorter last one when the run ended at iter (ended == iter).
func rowsAt(iter, k, ended int) int {
	k = every(k)
	n := iter / k
	if ended == iter && iter%k != 0 {
		n++
	}
	return n
}

// Recorder writes a run directory: it runs the integrator on every step (when it has one),
// streams the per-iteration files of every set the integrator allocates over (the LCA set's in
// the run directory, the held-out split's in held_out/), and keeps the per-parameter
// accumulators, which travel in the trainer's checkpoints (it is an engine.CheckpointExtra).
type Recorder struct {
	Dir     string
	it      *Integrator // nil: record weights only (offline training)
	m       *engine.Model
	out     Outputs
	layers  []string
	neurons Neurons

	Iter   int         // the next iteration to record
	First  int         // the iteration the files start at (Start's first)
	splits []*splitRec // one per set of the integrator
	// T is the run's last iteration: where the last, shorter window (and weights row) ends.
	T int
	// Ended is the iteration at which shorter last rows were written (0: none): rows of a
	// window or weights stride that T cut short.
	Ended int
	// The open window: θ at its first iteration (on the device), and that iteration's epoch and
	// minibatch loss, which its row reports.
	winStart engine.Buffer
	winEpoch int
	winLoss  float64

	weightS *npy.Stream
	host    []float32
	nsum    []float64
	lsum    []float32
	crow    []float64 // a T × C × L row
	chrow   []float32
	started bool
	OnStep  func(iter int, s Step) // optional progress callback
	// Streams, when set, registers the recorder's files with its run, so that the run's
	// checkpoints commit them and a resumed run reopens them at the recorded states.
	Streams *rundir.Streams
}

// splitRec is what the recorder writes and accumulates for one set.
type splitRec struct {
	dir                 string
	classes             int // per-class LCA: the number of classes, else 0
	full                bool
	losses, classLosses *csvlog.Log
	layerS, helpS, nrnS *npy.Stream
	classS, classHelpS  *npy.Stream
	fullS               *npy.Stream
	Total               []float64 // Σ_t LCA_{t,i}
	Helped              []int32   // #t with LCA_{t,i} < 0
}

// NewRecorder prepares a recorder for m; it opens no file until Start or LoadState.
func NewRecorder(dir string, m *engine.Model, it *Integrator, out Outputs) *Recorder {
	names, _, _ := m.Arena.LayerSegments()
	d := m.Arena.D
	r := &Recorder{Dir: dir, it: it, m: m, out: out, layers: names, neurons: NeuronMap(m.Arena), host: make([]float32, d)}
	r.nsum = make([]float64, r.neurons.Count)
	r.lsum = make([]float32, len(names))
	if it != nil {
		for k, s := range it.sets {
			sr := &splitRec{dir: dir, full: k == 0 && out.LCA, Total: make([]float64, d), Helped: make([]int32, d)}
			if k > 0 {
				sr.dir = filepath.Join(dir, HeldOutDir)
			}
			if it.Cfg.PerClass {
				sr.classes = s.Classes
			}
			r.splits = append(r.splits, sr)
		}
	}
	return r
}

// plan is what the recorder's files of a run of T iterations take: the rows of every set's
// files (one per window), the optional T × D ones, and the accumulators.
func (r *Recorder) plan(T int) DiskPlan {
	d, l := int64(r.m.Arena.D), int64(len(r.layers))
	rows := int64(rowsAt(T, r.out.Every, T))
	var p DiskPlan
	for k, s := range r.splits {
		c := int64(s.classes)
		set := rows*(l*8+l*4+int64(r.neurons.Count)*4+160) + 2*npyHeader
		cls := rows * c * (l*12 + 80)
		full := int64(0)
		if s.full {
			full = rows*d*bytesPerFloat + npyHeader
		}
		acc := d*12 + 2*npyHeader
		if k > 0 {
			p.HeldOut += set + cls + full + acc
			continue
		}
		p.Rows += set
		p.Classes += cls
		p.Full += full
		p.Accumulators += acc
	}
	if r.out.Weights {
		p.Weights = int64(1+rowsAt(T, r.out.WeightsEvery, T))*d*bytesPerFloat + npyHeader
	}
	return p
}

// npyHeader bounds the header of an NPY file gaze writes.
const npyHeader = 128

// CheckDisk fails when the run directory's file system has less free space than need.
func CheckDisk(dir string, need int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space of %s: %w", dir, err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if float64(need)*diskHeadroom > float64(free) {
		return fmt.Errorf("%s: the run writes %s but only %s are free; drop --save-lca/--save-weights, use --lca-examples or fewer epochs, or choose another --out",
			dir, bytesize.Format(need), bytesize.Format(free))
	}
	return nil
}

// Start opens the run's files for recording from iteration first (0 for a new run; the
// first iteration of a range for offline compute). initial is θ at that iteration, written as
// the first row of weights.npy.
func (r *Recorder) Start(first int, initial engine.Buffer) error {
	if r.started {
		return errors.New("recorder already started")
	}
	r.Iter, r.First = first, first
	if err := r.open(nil); err != nil {
		return err
	}
	if r.weightS != nil && initial != nil {
		r.m.Dev.Download(r.host, initial)
		if err := r.weightS.AppendF32(r.host); err != nil {
			return err
		}
	}
	return nil
}

// open creates the files, or with keep (a resumed run) reopens them cut back to r.Iter rows.
func (r *Recorder) open(keep func(int) bool) error {
	var err error
	p := func(name string) string { return filepath.Join(r.Dir, name) }
	if r.it == nil {
		// Offline training records the minibatch losses beside the trajectory.
		lg, err := r.log(p(LossesFile), lossesHeader, keep)
		if err != nil {
			return err
		}
		r.splits = []*splitRec{{dir: r.Dir, losses: lg}}
	}
	for _, s := range r.splits {
		if r.it != nil {
			if err := s.open(r, keep); err != nil {
				return err
			}
		}
	}
	if r.out.Weights {
		if r.weightS, err = r.stream(p(WeightsFile), npy.Float32, []int{r.m.Arena.D}, 1+rowsAt(r.Iter, r.out.WeightsEvery, r.Ended), keep != nil); err != nil {
			return err
		}
	}
	if r.it != nil && every(r.out.Every) > 1 && r.winStart == nil {
		if r.winStart, err = r.m.Dev.Alloc(r.m.Arena.D); err != nil {
			return err
		}
	}
	r.started = true
	return nil
}

// stream creates an NPY row stream, or reopens it at rows rows (resume): through the run's
// stream registry when the recorder has one (the checkpoint's record decides), else cut back.
func (r *Recorder) stream(path string, dt npy.Dtype, inner []int, rows int, resume bool) (*npy.Stream, error) {
	switch {
	case r.Streams != nil:
		return npy.OpenInShape(r.Streams, path, dt, inner, rows)
	case resume:
		return npy.OpenStreamShape(path, dt, inner, rows)
	}
	return npy.CreateStreamShape(path, dt, inner)
}

// log creates a CSV log, or reopens it for a resumed run, like stream.
func (r *Recorder) log(path string, header []string, keep func(int) bool) (*csvlog.Log, error) {
	if r.Streams != nil {
		return csvlog.OpenIn(r.Streams, path, header, lossesKeyCol, keep)
	}
	return csvlog.Open(path, header, lossesKeyCol, keep)
}

// open creates (or reopens, cut back) one set's files.
func (s *splitRec) open(r *Recorder, keep func(int) bool) error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	p := func(name string) string { return filepath.Join(s.dir, name) }
	var err error
	if s.losses, err = r.log(p(LossesFile), lossesHeader, keep); err != nil {
		return err
	}
	l, d, rows, resume := len(r.layers), r.m.Arena.D, r.rows(), keep != nil
	if s.layerS, err = r.stream(p(LayersFile), npy.Float64, []int{l}, rows, resume); err != nil {
		return err
	}
	if s.helpS, err = r.stream(p(HelpedLayers), npy.Float32, []int{l}, rows, resume); err != nil {
		return err
	}
	if s.nrnS, err = r.stream(p(NeuronsFile), npy.Float32, []int{r.neurons.Count}, rows, resume); err != nil {
		return err
	}
	if s.full {
		if s.fullS, err = r.stream(p(FullFile), npy.Float32, []int{d}, rows, resume); err != nil {
			return err
		}
	}
	if s.classes > 0 {
		if s.classLosses, err = r.log(p(ClassLossesFile), classLossesHeader, keep); err != nil {
			return err
		}
		if s.classS, err = r.stream(p(ClassLayersFile), npy.Float64, []int{s.classes, l}, rows, resume); err != nil {
			return err
		}
		if s.classHelpS, err = r.stream(p(ClassHelpedFile), npy.Float32, []int{s.classes, l}, rows, resume); err != nil {
			return err
		}
	}
	return nil
}

// streams lists the set's open NPY streams.
func (s *splitRec) streams() []*npy.Stream {
	var out []*npy.Stream
	for _, st := range []*npy.Stream{s.layerS, s.helpS, s.nrnS, s.fullS, s.classS, s.classHelpS} {
		if st != nil {
			out = append(out, st)
		}
	}
	return out
}

// Hook records one training step; it is the trainer's step hook in online mode.
func (r *Recorder) Hook(s engine.StepInfo) error {
	return r.Record(s.Iter, s.Epoch, s.Loss, s.Before, s.After)
}

// rows is the number of rows the LCA files hold once iterations First..Iter−1 are recorded.
func (r *Recorder) rows() int {
	return rowsAt(r.Iter, r.out.Every, r.Ended) - rowsAt(r.First, r.out.Every, -1)
}

// Record records iteration iter (θ_t = before → θ_{t+1} = after): its LCA row, or with a window
// (Outputs.Every) the window's row once the window ends (at a multiple of Every, or at T), and
// the trajectory's row when it is due. The allocation is complete before any file of the
// iteration is written, so a failure (a device that fails mid-run) leaves the files as the last
// checkpoint has them.
func (r *Recorder) Record(iter, epoch int, trainLoss float64, before, after engine.Buffer) error {
	if !r.started {
		return errors.New("recorder not started")
	}
	if iter != r.Iter {
		return fmt.Errorf("LCA recorder expected iteration %d, got %d", r.Iter, iter)
	}
	k, kw, last := every(r.out.Every), every(r.out.WeightsEvery), iter+1 == r.T
	if r.it != nil && k > 1 && iter%k == 0 {
		r.m.Dev.Copy(r.winStart, before)
		r.winEpoch, r.winLoss = epoch, trainLoss
	}
	if r.it != nil && k > 1 && ((iter+1)%k == 0 || last) {
		if err := r.recordRow(iter-iter%k, iter+1, r.winEpoch, r.winLoss, r.winStart, after); err != nil {
			return err
		}
	} else if r.it != nil && k == 1 {
		if err := r.recordRow(iter, iter+1, epoch, trainLoss, before, after); err != nil {
			return err
		}
	}
	if r.weightS != nil && ((iter+1)%kw == 0 || last) {
		r.m.Dev.Download(r.host, after)
		if err := r.m.Dev.Sync(); err != nil {
			return err
		}
		if err := r.weightS.AppendF32(r.host); err != nil {
			return err
		}
	}
	if r.it == nil {
		r.splits[0].losses.Row(iter, epoch+1, trainLoss, "", "", "", "", "", "", "", "", "", 0)
	}
	r.Iter++
	if last && (r.Iter%k != 0 || r.Iter%kw != 0) {
		r.Ended = r.Iter
	}
	return nil
}

// RecordWindow records the row of the window [first, end) (θ at first = before → θ at end =
// after; offline computation). Windows are recorded in order, each starting where the last
// ended; a window shorter than Outputs.Every must be the run's last.
func (r *Recorder) RecordWindow(first, end, epoch int, before, after engine.Buffer) error {
	if !r.started {
		return errors.New("recorder not started")
	}
	k := every(r.out.Every)
	if first != r.Iter || end <= first || end-first > k || (end-first < k && end != r.T) {
		return fmt.Errorf("LCA recorder expected a window of %d iterations from %d, got %d:%d", k, r.Iter, first, end)
	}
	if err := r.recordRow(first, end, epoch, math.NaN(), before, after); err != nil {
		return err
	}
	r.Iter = end
	if end-first < k {
		r.Ended = end
	}
	return nil
}

// recordRow allocates the loss change from θ at iteration first (before) to θ at end (after)
// and writes its row, listed under iteration first. After a window cut short by the run's end,
// the integrator forgets its cached end gradient: it is no window's start.
func (r *Recorder) recordRow(first, end, epoch int, trainLoss float64, before, after engine.Buffer) error {
	st, err := r.it.Step(before, after)
	if err != nil {
		if end-first > 1 {
			return fmt.Errorf("LCA of iterations %d:%d: %w", first, end, err)
		}
		return fmt.Errorf("LCA at iteration %d: %w", first, err)
	}
	for k, s := range r.splits {
		ss := st.SetStep
		if k > 0 {
			ss = *st.HeldOut
		}
		if err := r.recordSet(s, first, epoch, trainLoss, ss, st); err != nil {
			return err
		}
	}
	if end-first < every(r.out.Every) {
		r.it.Restart()
	}
	if r.OnStep != nil {
		r.OnStep(first, st)
	}
	return nil
}

// recordSet writes one set's rows of iteration iter and adds its allocation to the accumulators.
func (r *Recorder) recordSet(s *splitRec, iter, epoch int, trainLoss float64, ss SetStep, st Step) error {
	// Per-parameter accumulators, per-layer helped fractions and per-neuron sums on the host:
	// O(D) per iteration against the O(D·examples) of the gradients. lca_total adds the values
	// lca.npy stores (rounded to float32) in float64: it is then exactly Σ_t of lca.npy's rows
	// wherever that sum is exact, and so are the sums of parts that Merge adds up, so a merged
	// run's lca_total matches the online one's bit for bit (sums of float64 values would differ
	// in the last bit with the grouping).
	clear(r.nsum)
	clear(r.lsum)
	helped := 0
	for i, v := range ss.Out {
		s.Total[i] += float64(float32(v))
		if v < 0 {
			s.Helped[i]++
			helped++
			r.lsum[r.neurons.LayerOf[i]]++
		}
		if n := r.neurons.Of[i]; n >= 0 {
			r.nsum[n] += v
		}
	}
	for l, seg := range r.neurons.LayerSize {
		r.lsum[l] /= float32(seg)
	}
	frac := float64(helped) / float64(len(ss.Out))
	s.losses.Row(iter, epoch+1, trainLoss, ss.LossBefore, ss.LossAfter, ss.LossAfter-ss.LossBefore, ss.Sum,
		ss.Error(), st.N, ss.FirstOrderSum, ss.FirstOrderError(), frac, st.Evaluations)
	nrn := r.host[:len(r.nsum)]
	for i, v := range r.nsum {
		nrn[i] = float32(v)
	}
	errs := []error{s.layerS.AppendF64(ss.Layers), s.helpS.AppendF32(r.lsum), s.nrnS.AppendF32(nrn)}
	if s.fullS != nil {
		for i, v := range ss.Out {
			r.host[i] = float32(v)
		}
		errs = append(errs, s.fullS.AppendF32(r.host))
	}
	if s.classes > 0 {
		r.crow, r.chrow = r.crow[:0], r.chrow[:0]
		for c, cs := range ss.Classes {
			s.classLosses.Row(iter, c, cs.Examples, cs.LossBefore, cs.LossAfter, cs.LossAfter-cs.LossBefore, cs.Sum, cs.Error())
			r.crow = append(r.crow, cs.Layers...)
			r.chrow = append(r.chrow, cs.Helped...)
		}
		errs = append(errs, s.classS.AppendF64(r.crow), s.classHelpS.AppendF32(r.chrow))
	}
	return errors.Join(errs...)
}

// Sync makes everything recorded so far durable and readable (headers updated) and writes the
// accumulators' snapshot files.
func (r *Recorder) Sync() error {
	if !r.started {
		return nil
	}
	var errs []error
	for _, s := range r.splits {
		errs = append(errs, s.losses.Sync())
		if s.classLosses != nil {
			errs = append(errs, s.classLosses.Sync())
		}
		for _, st := range s.streams() {
			errs = append(errs, st.Sync())
		}
		if r.it != nil {
			d := len(s.Total)
			errs = append(errs,
				npy.Write(filepath.Join(s.dir, TotalFile), []int{d}, s.Total),
				npy.Write(filepath.Join(s.dir, HelpedFile), []int{d}, s.Helped))
		}
	}
	if r.weightS != nil {
		errs = append(errs, r.weightS.Sync())
	}
	return errors.Join(errs...)
}

// Close syncs and closes the files.
func (r *Recorder) Close() error {
	if !r.started {
		return nil
	}
	errs := []error{r.Sync()}
	for _, s := range r.splits {
		errs = append(errs, s.losses.Close())
		if s.classLosses != nil {
			errs = append(errs, s.classLosses.Close())
		}
		for _, st := range s.streams() {
			errs = append(errs, st.Close())
		}
	}
	if r.weightS != nil {
		errs = append(errs, r.weightS.Close())
	}
	if r.winStart != nil {
		r.m.Dev.Free(r.winStart)
		r.winStart = nil
	}
	r.started = false
	return errors.Join(errs...)
}

// SaveState syncs the files and returns the accumulators as of r.Iter (engine.CheckpointExtra):
// version, iteration, D and the number of sets, then each set's totals and helped counts, then
// the integrator's cached start (the number of its loss groups, then each one's loss and
// gradient at θ_t): with it, a resumed run evaluates the same gradients as an uninterrupted
// one, and its losses.csv is the same to the evaluations column. Version 4 adds Ended and the
// open window (a flag, then its first iteration's minibatch loss and epoch and θ there), so
// that a run checkpointed inside a window resumes it.
func (r *Recorder) SaveState() ([]byte, error) {
	if err := r.Sync(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	acc := r.accumulating()
	binary.Write(&b, binary.LittleEndian, [4]int64{stateVersion, int64(r.Iter), int64(r.m.Arena.D), int64(len(acc))})
	for _, s := range acc {
		binary.Write(&b, binary.LittleEndian, s.Total)
		binary.Write(&b, binary.LittleEndian, s.Helped)
	}
	var losses []float64
	var grads [][]float64
	if r.it != nil {
		losses, grads, _ = r.it.Start()
	}
	binary.Write(&b, binary.LittleEndian, int64(len(losses)))
	for k := range losses {
		binary.Write(&b, binary.LittleEndian, losses[k])
		binary.Write(&b, binary.LittleEndian, grads[k])
	}
	open := r.winStart != nil && r.Iter%every(r.out.Every) != 0 && r.Ended != r.Iter
	binary.Write(&b, binary.LittleEndian, [2]int64{int64(r.Ended), b2i(open)})
	if open {
		r.m.Dev.Download(r.host, r.winStart)
		if err := r.m.Dev.Sync(); err != nil {
			return nil, err
		}
		binary.Write(&b, binary.LittleEndian, r.winLoss)
		binary.Write(&b, binary.LittleEndian, int64(r.winEpoch))
		binary.Write(&b, binary.LittleEndian, r.host)
	}
	return b.Bytes(), nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// StateBytes is the size of SaveState's state (at most: with a cached start).
func (r *Recorder) StateBytes() int {
	d, sets := r.m.Arena.D, len(r.splits)
	groups := 0
	for _, s := range r.splits {
		groups += 1 + s.classes
	}
	return 32 + sets*12*d + 8 + groups*(8+8*d) + 16 + 16 + 4*d
}

// accumulating lists the sets with per-parameter accumulators (none offline).
func (r *Recorder) accumulating() []*splitRec {
	if r.it == nil {
		return nil
	}
	return r.splits
}

// LoadState restores the accumulators of a checkpoint and reopens the run's files cut back to
// its iteration, so that nothing after the checkpoint is kept twice. It reads the first
// version's state (one set) too.
func (r *Recorder) LoadState(state []byte) error {
	rd := bytes.NewReader(state)
	var hdr [3]int64
	if err := binary.Read(rd, binary.LittleEndian, &hdr); err != nil {
		return fmt.Errorf("LCA state: %w", err)
	}
	acc := r.accumulating()
	sets := int64(len(acc))
	switch hdr[0] {
	case 1: // one set; an offline run's state held zeros, which are not read
		if len(acc) > 1 {
			sets = 1
		}
	case 2, stateVersion:
		if err := binary.Read(rd, binary.LittleEndian, &sets); err != nil {
			return fmt.Errorf("LCA state: %w", err)
		}
	}
	if hdr[0] < 1 || hdr[0] > stateVersion || hdr[2] != int64(r.m.Arena.D) || sets != int64(len(acc)) {
		return fmt.Errorf("LCA state: version %d for %d parameters and %d sets, want version %d for %d and %d", hdr[0], hdr[2], sets, stateVersion, r.m.Arena.D, len(acc))
	}
	for _, s := range acc {
		if err := binary.Read(rd, binary.LittleEndian, s.Total); err != nil {
			return fmt.Errorf("LCA state: %w", err)
		}
		if err := binary.Read(rd, binary.LittleEndian, s.Helped); err != nil {
			return fmt.Errorf("LCA state: %w", err)
		}
	}
	r.Iter = int(hdr[1])
	if r.it != nil {
		r.it.Restart()
	}
	if hdr[0] >= 3 {
		if err := r.loadStart(rd); err != nil {
			return fmt.Errorf("LCA state: start gradients: %w", err)
		}
	}
	var win []float32
	r.Ended = 0
	if hdr[0] >= 4 {
		var w [2]int64
		if err := binary.Read(rd, binary.LittleEndian, &w); err != nil {
			return fmt.Errorf("LCA state: window: %w", err)
		}
		r.Ended = int(w[0])
		if w[1] == 1 {
			var ep int64
			win = make([]float32, r.m.Arena.D)
			if err := errors.Join(binary.Read(rd, binary.LittleEndian, &r.winLoss), binary.Read(rd, binary.LittleEndian, &ep), binary.Read(rd, binary.LittleEndian, win)); err != nil {
				return fmt.Errorf("LCA state: window: %w", err)
			}
			r.winEpoch = int(ep)
		}
	}
	if rd.Len() != 0 {
		return fmt.Errorf("LCA state: %d bytes left over", rd.Len())
	}
	k, kw := every(r.out.Every), every(r.out.WeightsEvery)
	if r.it != nil && k > 1 && r.Iter%k != 0 && r.Ended != r.Iter && win == nil {
		return fmt.Errorf("LCA state: iteration %d is inside a window of %d iterations, but the state holds no window start", r.Iter, k)
	}
	if r.Ended == r.Iter && r.Iter > 0 && r.T > r.Iter {
		return fmt.Errorf("the run ended at iteration %d with a shorter last row (--lca-every %d, --save-weights-every %d): it cannot be continued for more epochs; train a new run", r.Iter, k, kw)
	}
	// The files keep the rows of windows that ended before the checkpoint (a row is listed
	// under its window's first iteration).
	kept := rowsAt(r.Iter, k, r.Ended) * k
	if r.it == nil {
		kept = r.Iter
	}
	if err := r.open(func(it int) bool { return it < kept }); err != nil {
		return err
	}
	if win != nil {
		r.m.Dev.Upload(r.winStart, win)
	}
	return nil
}

// loadStart reads the integrator's cached start that SaveState wrote.
func (r *Recorder) loadStart(rd *bytes.Reader) error {
	var n int64
	if err := binary.Read(rd, binary.LittleEndian, &n); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if n < 0 || n*int64(8+8*r.m.Arena.D) > int64(rd.Len()) {
		return fmt.Errorf("%d groups of %d values do not fit in %d bytes", n, r.m.Arena.D, rd.Len())
	}
	losses := make([]float64, n)
	grads := make([][]float64, n)
	for k := range grads {
		grads[k] = make([]float64, r.m.Arena.D)
		if err := errors.Join(binary.Read(rd, binary.LittleEndian, &losses[k]), binary.Read(rd, binary.LittleEndian, grads[k])); err != nil {
			return err
		}
	}
	if r.it == nil {
		return nil
	}
	return r.it.SetStart(losses, grads)
}

// Neurons maps parameters to neurons: a neuron is one output unit (Linear row, conv output
// channel, batch-norm channel), and its LCA sums its incoming weights and its bias.
type Neurons struct {
	Count     int
	Layers    []string // per layer with neurons
	Start     []int    // first neuron index of each layer
	Size      []int    // neurons of each layer
	Of        []int32  // per parameter: its neuron, or -1
	LayerOf   []int32  // per parameter: its layer index (arena order)
	LayerSize []int    // parameters per layer
}

// NeuronMap derives the neuron map from the arena's parameter metadata: the output units of a
// layer are its bias's length when it has one, else its weight's first dimension (its second
// for a transposed convolution, whose weight is [in, out, k, k]).
func NeuronMap(a *engine.Arena) Neurons {
	nm := Neurons{Of: make([]int32, a.D), LayerOf: make([]int32, a.D)}
	names, start, end := a.LayerSegments()
	for l := range names {
		nm.LayerSize = append(nm.LayerSize, end[l]-start[l])
		for i := start[l]; i < end[l]; i++ {
			nm.LayerOf[i] = int32(l)
		}
	}
	for _, name := range names {
		var ps []engine.Param
		for _, p := range a.Params {
			if p.Layer == name {
				ps = append(ps, p)
			}
		}
		units := 0
		for _, p := range ps {
			if p.Kind != engine.Weight {
				units = p.Shape[0]
				break
			}
		}
		if units == 0 {
			units = ps[0].Shape[0]
		}
		first := nm.Count
		nm.Layers = append(nm.Layers, name)
		nm.Start = append(nm.Start, first)
		nm.Size = append(nm.Size, units)
		nm.Count += units
		for _, p := range ps {
			per := p.Size / p.Shape[0]
			for j := 0; j < p.Size; j++ {
				unit := j / per
				if len(p.Shape) == 4 && p.Shape[0] != units && p.Shape[1] == units {
					unit = (j / (p.Shape[2] * p.Shape[3])) % units // ConvTranspose [in, out, k, k]
				}
				nm.Of[p.Offset+j] = int32(first + unit%units)
			}
		}
	}
	return nm
}
