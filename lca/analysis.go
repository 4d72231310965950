package lca

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/gazeml/gaze/internal/npy"
)

// Run is a computed run directory read into memory (everything but the T×D files).
type Run struct {
	Dir     string
	Meta    *Meta
	Iter    []int       // iteration of each row
	Before  []float64   // L(θ_t) over the LCA set
	After   []float64   // L(θ_{t+1})
	Sum     []float64   // Σ_i LCA_{t,i}
	Err     []float64   // |ΔL − ΣLCA|
	N       []int       // Simpson sub-intervals
	First   []float64   // first-order Σ g(θ_t)·Δ
	Helped  []float64   // fraction of parameters with LCA < 0
	Layers  *npy.Matrix // T × L per-layer sums
	HelpedL *npy.Matrix // T × L per-layer fraction helping
	Neurons *npy.Matrix // T × neurons
	Total   []float64   // D
	Count   []float64   // D: iterations helped
	Classes *ClassRun   // per-class LCA (nil without)
	HeldOut *Run        // the held-out split's allocation (nil without); its Meta is the run's
}

// ReadRun reads a run directory whose LCA has been computed, with its per-class files and its
// held-out split's folder when it has them.
func ReadRun(dir string) (*Run, error) {
	meta, err := ReadMeta(dir)
	if err != nil {
		return nil, err
	}
	if !meta.Computed {
		return nil, fmt.Errorf("%s holds a trajectory without LCA: run `gaze lca compute` on it and `gaze lca merge` the parts first", dir)
	}
	r, err := readSet(dir, meta, -1)
	if err != nil {
		return nil, err
	}
	if meta.HeldOut != nil {
		if r.HeldOut, err = readSet(filepath.Join(dir, meta.HeldOut.Dir), meta, -1); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// readSet reads one set's files (the run directory's, or the held-out folder's): all of the
// run's iterations, exactly (k < 0), or the first k of a run that has not finished, whose
// streams may hold more.
func readSet(dir string, meta *Meta, k int) (*Run, error) {
	r := &Run{Dir: dir, Meta: meta}
	T := meta.Rows()
	var rows [][]string
	var err error
	if k >= 0 {
		T = k
		rows, err = readCSVPrefix(filepath.Join(dir, LossesFile), k)
	} else {
		rows, err = readCSV(filepath.Join(dir, LossesFile))
	}
	if err != nil {
		return nil, err
	}
	if len(rows) != T {
		return nil, fmt.Errorf("%s: %d rows for iterations %d:%d in windows of %d, want %d", filepath.Join(dir, LossesFile), len(rows), meta.Iters[0], meta.Iters[1], every(meta.Window), T)
	}
	readShaped := func(dir, name string, rows, cols int) (*npy.Matrix, error) {
		if k >= 0 && rows == k {
			return readPrefix(dir, name, rows, cols)
		}
		return readShaped(dir, name, rows, cols)
	}
	for _, row := range rows {
		if len(row) != len(lossesHeader) {
			return nil, fmt.Errorf("%s: row %v has %d columns, want %d", filepath.Join(dir, LossesFile), row, len(row), len(lossesHeader))
		}
		r.Iter = append(r.Iter, atoi(row[0]))
		r.Before = append(r.Before, parseF(row[3]))
		r.After = append(r.After, parseF(row[4]))
		r.Sum = append(r.Sum, parseF(row[6]))
		r.Err = append(r.Err, parseF(row[7]))
		r.N = append(r.N, atoi(row[8]))
		r.First = append(r.First, parseF(row[9]))
		r.Helped = append(r.Helped, parseF(row[11]))
	}
	L := len(meta.Layers)
	if r.Layers, err = readShaped(dir, LayersFile, T, L); err != nil {
		return nil, err
	}
	if r.HelpedL, err = readShaped(dir, HelpedLayers, T, L); err != nil {
		return nil, err
	}
	if r.Neurons, err = readShaped(dir, NeuronsFile, T, sumInts(meta.Neurons.Size)); err != nil {
		return nil, err
	}
	tot, err := readShaped(dir, TotalFile, meta.D, 1)
	if err != nil {
		return nil, err
	}
	cnt, err := readShaped(dir, HelpedFile, meta.D, 1)
	if err != nil {
		return nil, err
	}
	r.Total, r.Count = tot.Data, cnt.Data
	if meta.Integrator.PerClass {
		if r.Classes, err = readClasses(dir, meta, T, k >= 0); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// readPrefix reads the first rows rows of dir/name, which holds at least that many rows of cols
// values.
func readPrefix(dir, name string, rows, cols int) (*npy.Matrix, error) {
	m, err := npy.Read(filepath.Join(dir, name), 0, rows)
	if err != nil {
		return nil, err
	}
	if m.Cols() != cols {
		return nil, fmt.Errorf("%s: shape %v, want rows of %d values", filepath.Join(dir, name), m.Shape, cols)
	}
	return m, nil
}

func parseF(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }

// readShaped reads dir/name and checks that it holds rows of cols values.
func readShaped(dir, name string, rows, cols int) (*npy.Matrix, error) {
	m, err := npy.Read(filepath.Join(dir, name), 0, -1)
	if err != nil {
		return nil, err
	}
	if m.Rows() != rows || m.Cols() != cols {
		return nil, fmt.Errorf("%s: shape %v, want %d rows of %d values", filepath.Join(dir, name), m.Shape, rows, cols)
	}
	return m, nil
}

// Summary holds the headline numbers of a run.
type Summary struct {
	Model      string `json:"model"`
	D          int    `json:"parameters"`
	Iterations int    `json:"iterations"`
	// Partial: the run has not finished, and Iterations of its PlannedIterations are reported.
	Partial           bool    `json:"partial,omitempty"`
	PlannedIterations int     `json:"planned_iterations,omitempty"`
	LCASet            string  `json:"lca_set"`
	Integrator        string  `json:"integrator"`
	LossStart         float64 `json:"loss_start"`
	LossEnd           float64 `json:"loss_end"`
	DeltaLoss         float64 `json:"delta_loss"`
	SumLCA            float64 `json:"sum_lca"`
	RelErr            float64 `json:"relative_error"`             // |ΔL − ΣΣLCA| / |ΔL|
	FirstRelErr       float64 `json:"first_order_relative_error"` // same with the first-order sums
	MaxIterErr        float64 `json:"max_iteration_error"`        // over iterations with n < max
	MeanIterErr       float64 `json:"mean_iteration_error"`
	MeanFirstErr      float64 `json:"mean_first_order_error"`
	AtMaxN            int     `json:"iterations_at_max_n"`
	MeanN             float64 `json:"mean_n"`
	HelpedMean        float64 `json:"helped_fraction_mean"` // mean over iterations of the fraction with LCA < 0
	// Window is the number of iterations each row allocates (1: per iteration; the per-iteration
	// numbers above are then per window) and Rows the number of rows.
	Window int            `json:"window"`
	Rows   int            `json:"rows"`
	Layers []LayerSummary `json:"layers"`
	Sync   SyncResult     `json:"synchronisation"`
	// Per-class LCA: each class's numbers, and the synchronisation of learning peaks across
	// classes.
	Classes   []ClassSummary `json:"classes,omitempty"`
	ClassSync *SyncResult    `json:"class_synchronisation,omitempty"`
	// HeldOut is the held-out split's summary (held-out LCA).
	HeldOut *Summary `json:"held_out,omitempty"`
	// Beside are the other allocations of the same trajectory over windows of another length
	// (RUN/window-K), per layer beside this one.
	Beside []BesideSummary `json:"beside,omitempty"`
}

// BesideSummary compares the run's allocation with another of the same run over windows of
// another length. Both allocate the same loss change of each stretch of training, so their
// totals agree within the integrator's error; per layer they differ, because per-iteration LCA
// follows the training path (the SGD steps) and window LCA the straight chord from θ_t to
// θ_{t+K}: the loss change of a layer depends on the path (it is not a function of the end
// points), so the difference is path dependence, not error.
type BesideSummary struct {
	Dir        string        `json:"dir"`
	Window     int           `json:"window"`
	Rows       int           `json:"rows"`
	DeltaLoss  float64       `json:"delta_loss"`
	SumLCA     float64       `json:"sum_lca"`
	MaxRowErr  float64       `json:"max_row_error"`
	Layers     []BesideLayer `json:"layers"`
	MaxLayerAt string        `json:"largest_difference_layer"`
}

// BesideLayer is one layer's total LCA in the run (Own) and in the other allocation (Other).
type BesideLayer struct {
	Layer      string  `json:"layer"`
	Own        float64 `json:"own"`
	Other      float64 `json:"other"`
	Difference float64 `json:"difference"` // Other − Own
}

// besideSummary compares s (the run's summary) with o, the allocation in dir.
func besideSummary(dir string, s, o Summary) BesideSummary {
	b := BesideSummary{Dir: dir, Window: o.Window, Rows: o.Rows, DeltaLoss: o.DeltaLoss, SumLCA: o.SumLCA, MaxRowErr: o.MaxIterErr}
	worst := -1.0
	for l, ls := range s.Layers {
		bl := BesideLayer{Layer: ls.Layer, Own: ls.TotalLCA, Other: o.Layers[l].TotalLCA, Difference: o.Layers[l].TotalLCA - ls.TotalLCA}
		if math.Abs(bl.Difference) > worst {
			worst, b.MaxLayerAt = math.Abs(bl.Difference), ls.Layer
		}
		b.Layers = append(b.Layers, bl)
	}
	return b
}

// LayerSummary is one layer's totals.
type LayerSummary struct {
	Layer      string  `json:"layer"`
	Params     int     `json:"params"`
	TotalLCA   float64 `json:"total_lca"`
	HelpedMean float64 `json:"helped_fraction_mean"`
	Peaks      int     `json:"peaks"`
}

// Summarize computes the headline numbers.
func Summarize(r *Run) Summary {
	m := r.Meta
	T := len(r.Sum)
	// The iterations the T rows cover: all of them for a finished run, the committed windows'
	// for a partial one (only the run's last window may be shorter than the others).
	K := every(m.Window)
	s := Summary{Model: m.Model, D: m.D, Iterations: min(T*K, m.Iters[1]-m.Iters[0]), LCASet: m.LCASet, Window: K, Rows: T}
	if m.Integrator.FirstOrder {
		s.Integrator = "first order"
	} else {
		s.Integrator = fmt.Sprintf("adaptive Simpson, threshold %g, n ≤ %d", m.Integrator.Threshold, m.Integrator.MaxN)
	}
	if T == 0 {
		return s
	}
	s.LossStart, s.LossEnd = r.Before[0], r.After[T-1]
	s.DeltaLoss = s.LossEnd - s.LossStart
	var first, nsum float64
	for t := 0; t < T; t++ {
		s.SumLCA += r.Sum[t]
		first += r.First[t]
		s.MeanIterErr += r.Err[t]
		fe := math.Abs(r.After[t] - r.Before[t] - r.First[t])
		s.MeanFirstErr += fe
		nsum += float64(r.N[t])
		if r.N[t] >= m.Integrator.MaxN && !m.Integrator.FirstOrder {
			s.AtMaxN++
		} else {
			s.MaxIterErr = math.Max(s.MaxIterErr, r.Err[t])
		}
		s.HelpedMean += r.Helped[t]
	}
	s.MeanIterErr /= float64(T)
	s.MeanFirstErr /= float64(T)
	s.MeanN = nsum / float64(T)
	s.HelpedMean /= float64(T)
	s.RelErr = math.Abs(s.DeltaLoss-s.SumLCA) / math.Abs(s.DeltaLoss)
	s.FirstRelErr = math.Abs(s.DeltaLoss-first) / math.Abs(s.DeltaLoss)
	peaks := make([][]int, len(m.Layers))
	for l, name := range m.Layers {
		ls := LayerSummary{Layer: name}
		for _, p := range m.Params {
			if p.Layer == name {
				ls.Params += p.Size
			}
		}
		series := make([]float64, T)
		for t := 0; t < T; t++ {
			series[t] = r.Layers.Row(t)[l]
			ls.TotalLCA += series[t]
			ls.HelpedMean += r.HelpedL.Row(t)[l]
		}
		ls.HelpedMean /= float64(T)
		peaks[l] = Peaks(series)
		ls.Peaks = len(peaks[l])
		s.Layers = append(s.Layers, ls)
	}
	s.Sync = Synchronisation(peaks, T, 200, 1)
	if r.Classes != nil {
		summarizeClasses(r, &s)
	}
	if r.HeldOut != nil {
		h := Summarize(r.HeldOut)
		h.LCASet = fmt.Sprintf("the held-out split (%d examples)", r.HeldOut.Meta.HeldOut.Examples)
		s.HeldOut = &h
	}
	return s
}

// Peak definition, stated in the report: iteration t is a learning peak of a layer when its
// per-layer LCA x_t is the minimum of the window [t−PeakWindow, t+PeakWindow] and lies below the
// layer's median by more than PeakMADs robust standard deviations (1.4826·MAD). Negative LCA is
// learning, so a peak is an unusually strong local burst of learning. Robust statistics keep the
// first iterations' large values from hiding every later peak.
const (
	PeakWindow = 2
	PeakMADs   = 3.0
	SyncSlack  = 1 // peaks of two layers coincide when at most this many iterations apart
)

// Peaks returns the learning peaks of one layer's LCA series.
func Peaks(x []float64) []int {
	if len(x) < 2*PeakWindow+1 {
		return nil
	}
	med, mad := medianMAD(x)
	thr := med - PeakMADs*1.4826*mad
	var out []int
	for t := range x {
		if x[t] >= thr {
			continue
		}
		lo, hi := max(0, t-PeakWindow), min(len(x)-1, t+PeakWindow)
		if slices.Min(x[lo:hi+1]) == x[t] && slices.Index(x[lo:hi+1], x[t]) == t-lo {
			out = append(out, t)
		}
	}
	return out
}

func medianMAD(x []float64) (float64, float64) {
	s := slices.Clone(x)
	slices.Sort(s)
	med := s[len(s)/2]
	for i, v := range x {
		s[i] = math.Abs(v - med)
	}
	slices.Sort(s)
	return med, s[len(s)/2]
}

// SyncResult compares how often learning peaks of different layers coincide with what randomly
// shifted peaks give.
type SyncResult struct {
	Definition string       `json:"definition"`
	Observed   float64      `json:"observed_rate"` // fraction of peaks (over ordered layer pairs) with a coinciding peak in the other layer
	Shuffled   float64      `json:"shifted_rate"`  // the same with the other layer's peaks circularly shifted at random (mean over shifts)
	Ratio      float64      `json:"ratio"`         // observed / shifted
	Pairs      [][]*float64 `json:"pair_ratio"`    // per ordered pair (l, m): observed / shifted; null where undefined
}

// Synchronisation measures peak coincidence between layers: for every ordered pair of layers
// (l, m), the fraction of l's peaks that have a peak of m within ±SyncSlack iterations, against
// the mean of the same fraction when m's peaks are circularly shifted by a uniform random offset
// in [T/10, 9T/10] (shifts drawn with a fixed seed).
func Synchronisation(peaks [][]int, T, shifts int, seed uint64) SyncResult {
	res := SyncResult{Definition: fmt.Sprintf("a peak is an iteration whose per-layer LCA is the minimum of a ±%d window and lies more than %.0f robust standard deviations (1.4826·MAD) below the layer's median; peaks of two layers coincide within ±%d iterations; the baseline shifts the second layer's peaks circularly by random offsets in [T/10, 9T/10], %d shifts", PeakWindow, PeakMADs, SyncSlack, shifts)}
	L := len(peaks)
	res.Pairs = make([][]*float64, L)
	rng := rand.New(rand.NewPCG(seed, 7))
	var obsHits, shHits, total float64
	for l := 0; l < L; l++ {
		res.Pairs[l] = make([]*float64, L)
		for m := 0; m < L; m++ {
			if l == m || len(peaks[l]) == 0 || len(peaks[m]) == 0 || T < 10 {
				continue
			}
			set := make([]bool, T)
			for _, p := range peaks[m] {
				set[p] = true
			}
			hit := func(shift int) float64 {
				n := 0
				for _, p := range peaks[l] {
					for d := -SyncSlack; d <= SyncSlack; d++ {
						if q := ((p+d-shift)%T + T) % T; set[q] {
							n++
							break
						}
					}
				}
				return float64(n)
			}
			o := hit(0)
			var sh float64
			for range shifts {
				sh += hit(T/10 + rng.IntN(T*8/10+1))
			}
			sh /= float64(shifts)
			obsHits += o
			shHits += sh
			total += float64(len(peaks[l]))
			ratio := o / math.Max(sh, 1e-9)
			res.Pairs[l][m] = &ratio
		}
	}
	if total > 0 {
		res.Observed, res.Shuffled = obsHits/total, shHits/total
		res.Ratio = res.Observed / math.Max(res.Shuffled, 1e-9)
	}
	return res
}
