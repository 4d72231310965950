package lca

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
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
	MetaFile      = "meta.json"
	LossesFile    = "losses.csv"
	LayersFile    = "lca_layers.npy"    // T × L float64: per-layer LCA sums
	HelpedLayers  = "helped_layers.npy" // T × L float32: fraction of each layer's parameters helping
	NeuronsFile   = "lca_neurons.npy"   // T × neurons float32: LCA summed over each neuron's parameters
	TotalFile     = "lca_total.npy"     // D float64: Σ_t LCA_{t,i}
	HelpedFile    = "helped_count.npy"  // D int32: iterations with LCA_{t,i} < 0
	FullFile      = "lca.npy"           // T × D float32 (optional)
	WeightsFile   = "weights.npy"       // (T+1) × D float32 (optional)
	lossesKeyCol  = 0
	stateVersion  = 2 // 1: without the integrator's cached start
	diskHeadroom  = 1.05
	bytesPerFloat = 4
)

var lossesHeader = []string{"iter", "epoch", "train_loss", "loss_before", "loss_after", "delta_loss", "lca_sum",
	"error", "n", "first_order_sum", "first_order_error", "helped_fraction", "evaluations"}

// Outputs selects the optional T×D files.
type Outputs struct {
	LCA     bool // lca.npy
	Weights bool // weights.npy
}

// Recorder writes a run directory: it runs the integrator on every step (when it has one),
// streams the per-iteration files, and keeps the per-parameter accumulators, which travel in
// the trainer's checkpoints (it is an engine.CheckpointExtra).
type Recorder struct {
	Dir     string
	it      *Integrator // nil: record weights only (offline training)
	m       *engine.Model
	out     Outputs
	layers  []string
	neurons Neurons

	Iter   int       // the next iteration to record
	Total  []float64 // Σ_t LCA_{t,i}
	Helped []int32   // #t with LCA_{t,i} < 0

	losses              *csvlog.Log
	layerS, helpS, nrnS *npy.Stream
	fullS, weightS      *npy.Stream
	host                []float32
	nsum                []float32
	lsum                []float32
	started             bool
	OnStep              func(iter int, s Step) // optional progress callback
	// Streams, when set, registers the recorder's files with its run, so that the run's
	// checkpoints commit them and a resumed run reopens them at the recorded states.
	Streams *rundir.Streams
}

// NewRecorder prepares a recorder for m; it opens no file until Start or LoadState.
func NewRecorder(dir string, m *engine.Model, it *Integrator, out Outputs) *Recorder {
	names, _, _ := m.Arena.LayerSegments()
	d := m.Arena.D
	r := &Recorder{Dir: dir, it: it, m: m, out: out, layers: names, neurons: NeuronMap(m.Arena),
		Total: make([]float64, d), Helped: make([]int32, d), host: make([]float32, d)}
	r.nsum = make([]float32, r.neurons.Count)
	r.lsum = make([]float32, len(names))
	return r
}

// PlannedBytes is what a run of T iterations writes to the run directory (roughly: the
// per-iteration files and the optional T×D ones).
func (r *Recorder) PlannedBytes(T int) int64 {
	d, l := int64(r.m.Arena.D), int64(len(r.layers))
	b := int64(T)*(l*8+l*4+int64(r.neurons.Count)*4+160) + d*12
	if r.out.LCA {
		b += int64(T) * d * bytesPerFloat
	}
	if r.out.Weights {
		b += int64(T+1) * d * bytesPerFloat
	}
	return b
}

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
	r.Iter = first
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
	if r.Streams != nil {
		r.losses, err = csvlog.OpenIn(r.Streams, p(LossesFile), lossesHeader, lossesKeyCol, keep)
	} else {
		r.losses, err = csvlog.Open(p(LossesFile), lossesHeader, lossesKeyCol, keep)
	}
	if err != nil {
		return err
	}
	l, d := len(r.layers), r.m.Arena.D
	stream := func(name string, dt npy.Dtype, cols, rows int) (*npy.Stream, error) {
		switch {
		case r.Streams != nil:
			return npy.OpenIn(r.Streams, p(name), dt, cols, rows)
		case keep != nil:
			return npy.OpenStream(p(name), dt, cols, rows)
		}
		return npy.CreateStream(p(name), dt, cols)
	}
	rows := r.Iter
	if r.it != nil {
		if r.layerS, err = stream(LayersFile, npy.Float64, l, rows); err != nil {
			return err
		}
		if r.helpS, err = stream(HelpedLayers, npy.Float32, l, rows); err != nil {
			return err
		}
		if r.nrnS, err = stream(NeuronsFile, npy.Float32, r.neurons.Count, rows); err != nil {
			return err
		}
		if r.out.LCA {
			if r.fullS, err = stream(FullFile, npy.Float32, d, rows); err != nil {
				return err
			}
		}
	}
	if r.out.Weights {
		if r.weightS, err = stream(WeightsFile, npy.Float32, d, rows+1); err != nil {
			return err
		}
	}
	r.started = true
	return nil
}

// Hook records one training step; it is the trainer's step hook in online mode.
func (r *Recorder) Hook(s engine.StepInfo) error {
	return r.Record(s.Iter, s.Epoch, s.Loss, s.Before, s.After)
}

// Record allocates the loss change of iteration iter (θ_t = before → θ_{t+1} = after).
func (r *Recorder) Record(iter, epoch int, trainLoss float64, before, after engine.Buffer) error {
	if !r.started {
		return errors.New("recorder not started")
	}
	if iter != r.Iter {
		return fmt.Errorf("LCA recorder expected iteration %d, got %d", r.Iter, iter)
	}
	dev := r.m.Dev
	if r.weightS != nil {
		dev.Download(r.host, after)
		if err := r.weightS.AppendF32(r.host); err != nil {
			return err
		}
	}
	if r.it == nil {
		r.losses.Row(iter, epoch+1, trainLoss, "", "", "", "", "", "", "", "", "", 0)
		r.Iter++
		return nil
	}
	st, err := r.it.Step(before, after)
	if err != nil {
		return fmt.Errorf("LCA at iteration %d: %w", iter, err)
	}
	dev.Download(r.host, r.it.Out)
	if err := dev.Sync(); err != nil {
		return err
	}
	// Per-parameter accumulators, per-layer helped fractions and per-neuron sums on the host:
	// O(D) per iteration against the O(D·examples) of the gradients.
	clear(r.nsum)
	clear(r.lsum)
	helped := 0
	for i, v := range r.host {
		r.Total[i] += float64(v)
		if v < 0 {
			r.Helped[i]++
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
	frac := float64(helped) / float64(len(r.host))
	r.losses.Row(iter, epoch+1, trainLoss, st.LossBefore, st.LossAfter, st.LossAfter-st.LossBefore, st.Sum,
		st.Error(), st.N, st.FirstOrderSum, st.FirstOrderError(), frac, st.Evaluations)
	errs := []error{r.layerS.AppendF64(st.Layers), r.helpS.AppendF32(r.lsum), r.nrnS.AppendF32(r.nsum)}
	if r.fullS != nil {
		errs = append(errs, r.fullS.AppendF32(r.host))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r.Iter++
	if r.OnStep != nil {
		r.OnStep(iter, st)
	}
	return nil
}

// Sync makes everything recorded so far durable and readable (headers updated) and writes the
// accumulators' snapshot files.
func (r *Recorder) Sync() error {
	if !r.started {
		return nil
	}
	errs := []error{r.losses.Sync()}
	for _, s := range []*npy.Stream{r.layerS, r.helpS, r.nrnS, r.fullS, r.weightS} {
		if s != nil {
			errs = append(errs, s.Sync())
		}
	}
	if r.it != nil {
		d := len(r.Total)
		errs = append(errs,
			npy.Write(filepath.Join(r.Dir, TotalFile), []int{d}, r.Total),
			npy.Write(filepath.Join(r.Dir, HelpedFile), []int{d}, r.Helped))
	}
	return errors.Join(errs...)
}

// Close syncs and closes the files.
func (r *Recorder) Close() error {
	if !r.started {
		return nil
	}
	err := r.Sync()
	errs := []error{err, r.losses.Close()}
	for _, s := range []*npy.Stream{r.layerS, r.helpS, r.nrnS, r.fullS, r.weightS} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	r.started = false
	return errors.Join(errs...)
}

// SaveState syncs the files and returns the accumulators as of r.Iter and the integrator's
// cached start gradient (engine.CheckpointExtra): with it, a resumed run evaluates the same
// gradients as an uninterrupted one, and its losses.csv is the same to the last column.
func (r *Recorder) SaveState() ([]byte, error) {
	if err := r.Sync(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, [3]int64{stateVersion, int64(r.Iter), int64(len(r.Total))})
	binary.Write(&b, binary.LittleEndian, r.Total)
	binary.Write(&b, binary.LittleEndian, r.Helped)
	var loss float64
	var grad []float32
	ok := false
	if r.it != nil {
		loss, grad, ok = r.it.Start()
	}
	if !ok {
		binary.Write(&b, binary.LittleEndian, int64(0))
		return b.Bytes(), nil
	}
	binary.Write(&b, binary.LittleEndian, int64(1))
	binary.Write(&b, binary.LittleEndian, loss)
	binary.Write(&b, binary.LittleEndian, grad)
	return b.Bytes(), nil
}

// StateBytes is the size of SaveState's state (at most: with a cached start gradient).
func (r *Recorder) StateBytes() int {
	return 24 + 12*len(r.Total) + 8 + 8 + 4*len(r.Total)
}

// LoadState restores the accumulators of a checkpoint (and the integrator's start) and reopens
// the run's files at the checkpoint, so that nothing after it is kept twice.
func (r *Recorder) LoadState(state []byte) error {
	rd := bytes.NewReader(state)
	var hdr [3]int64
	if err := binary.Read(rd, binary.LittleEndian, &hdr); err != nil {
		return fmt.Errorf("LCA state: %w", err)
	}
	if (hdr[0] != stateVersion && hdr[0] != 1) || hdr[2] != int64(len(r.Total)) {
		return fmt.Errorf("LCA state: version %d for %d parameters, want version %d for %d", hdr[0], hdr[2], stateVersion, len(r.Total))
	}
	if err := binary.Read(rd, binary.LittleEndian, r.Total); err != nil {
		return fmt.Errorf("LCA state: %w", err)
	}
	if err := binary.Read(rd, binary.LittleEndian, r.Helped); err != nil {
		return fmt.Errorf("LCA state: %w", err)
	}
	r.Iter = int(hdr[1])
	if r.it != nil {
		r.it.Restart()
	}
	if hdr[0] >= 2 {
		var have int64
		if err := binary.Read(rd, binary.LittleEndian, &have); err != nil {
			return fmt.Errorf("LCA state: %w", err)
		}
		if have == 1 {
			var loss float64
			grad := make([]float32, len(r.Total))
			if err := errors.Join(binary.Read(rd, binary.LittleEndian, &loss), binary.Read(rd, binary.LittleEndian, grad)); err != nil {
				return fmt.Errorf("LCA state: start gradient: %w", err)
			}
			if r.it != nil {
				if err := r.it.SetStart(loss, grad); err != nil {
					return fmt.Errorf("LCA state: %w", err)
				}
			}
		}
	}
	if rd.Len() != 0 {
		return fmt.Errorf("LCA state: %d bytes left over", rd.Len())
	}
	k := r.Iter
	return r.open(func(it int) bool { return it < k })
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
