// Package lca computes Loss Change Allocation (Lan, Liu, Zhou, Yosinski, NeurIPS 2019): every
// iteration's change of the loss over a fixed data set, split among the parameters as
// LCA_{t,i} = ḡ_i·(θ_{t+1,i} − θ_{t,i}), where ḡ is the full-set gradient averaged along the
// straight path from θ_t to θ_{t+1}. Negative means parameter i helped on iteration t.
//
// The path integral uses Simpson's rule with n sub-intervals, ḡ = Σ_k w_k g(θ_t + k/n·Δ) with
// weights (1,4,2,4,…,2,4,1)/(3n). It starts at n = 2 (endpoints and midpoint; the endpoint
// gradient of iteration t is the start gradient of t+1, so two gradient evaluations an
// iteration) and doubles n while |L(θ_{t+1}) − L(θ_t) − Σ_i LCA_{t,i}| exceeds the threshold
// (on the LCA set or, with held-out LCA, on either split), keeping every computed point.
//
// The gradients are computed chunk by chunk on one or more devices (Pool) and everything after
// them is done on the host in float64: the chunks' float32 gradients are added in a fixed chunk
// order, and g(θ_t), g(θ_{t+1}), Simpson's odd and even sums, ḡ, Δ = θ_{t+1} − θ_t (exact in
// float64) and the products ḡ_i·Δ_i are float64. That makes every number independent of how
// many devices computed the chunks, and lets per-class allocations add up to the total one to
// float64 rounding.
package lca

import (
	"fmt"
	"math"
	"slices"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/data"
)

// Config is the integrator's configuration.
type Config struct {
	Chunk      int     `json:"lca_batch"`       // examples per gradient chunk
	Threshold  float64 `json:"error_threshold"` // refine while |ΔL − ΣLCA| exceeds this
	MaxN       int     `json:"max_n"`           // largest number of Simpson sub-intervals (32)
	FirstOrder bool    `json:"first_order"`     // ḡ = g(θ_t) instead of Simpson
	IncludeL2  bool    `json:"include_l2"`      // the loss includes the model's L2 term
	// BatchStats: batch norm normalises each chunk with its own statistics (the reference
	// implementation); false uses the running statistics.
	BatchStats bool `json:"bn_batch_stats"`
	// PerClass also allocates each class's loss L_c (L = Σ_c (n_c/n)·L_c): the chunk plan sorts
	// the set by class and never mixes classes in a chunk.
	PerClass bool `json:"per_class,omitempty"`
}

// DefaultConfig is the reference recipe.
func DefaultConfig() Config {
	return Config{Chunk: 1000, Threshold: 1e-3, MaxN: 32, BatchStats: true}
}

// Validate reports an impossible configuration.
func (c Config) Validate() error {
	if c.Chunk < 1 {
		return fmt.Errorf("LCA batch %d must be ≥ 1", c.Chunk)
	}
	if !(c.Threshold > 0) {
		return fmt.Errorf("error threshold %v must be > 0", c.Threshold)
	}
	if c.MaxN < 2 || c.MaxN&(c.MaxN-1) != 0 {
		return fmt.Errorf("largest Simpson n %d must be a power of two ≥ 2", c.MaxN)
	}
	return nil
}

// Set is one data set the integrator allocates the loss over.
type Set struct {
	Name string // "train" (the LCA set) or "held_out"
	Data engine.Examples
	// Labels are the examples' classes and Classes their number, for per-class LCA.
	Labels  []int32
	Classes int
}

// SetStep is one iteration's allocation over one set.
type SetStep struct {
	LossBefore, LossAfter float64   // loss over the set at θ_t and θ_{t+1}
	Sum                   float64   // Σ_i LCA_{t,i}
	Layers                []float64 // per-layer sums (one per Integrator.Layers entry)
	FirstOrderSum         float64   // Σ_i g_i(θ_t)·Δ_i, the first-order estimate, always computed
	// Out is LCA_{t,·} per parameter, valid until the next Step.
	Out []float64
	// Classes are the per-class allocations (per-class LCA), with the same points and n.
	Classes []ClassStep
}

// Error is |ΔL − ΣLCA|.
func (s SetStep) Error() float64 { return math.Abs(s.LossAfter - s.LossBefore - s.Sum) }

// FirstOrderError is |ΔL − Σ g(θ_t)·Δ|.
func (s SetStep) FirstOrderError() float64 {
	return math.Abs(s.LossAfter - s.LossBefore - s.FirstOrderSum)
}

// ClassStep is one class's allocation of its own loss L_c (the mean over its examples).
type ClassStep struct {
	Examples              int     // n_c
	LossBefore, LossAfter float64 // L_c(θ_t), L_c(θ_{t+1})
	Sum                   float64 // Σ_i LCA_{c,t,i}
	Layers                []float64
	Helped                []float32 // per layer: fraction of its parameters with LCA_{c,t,i} < 0
}

// Error is |ΔL_c − ΣLCA_c|.
func (c ClassStep) Error() float64 { return math.Abs(c.LossAfter - c.LossBefore - c.Sum) }

// Step is one iteration's allocation: over the LCA set, and over the held-out split when the
// integrator has one.
type Step struct {
	SetStep
	HeldOut     *SetStep
	N           int // Simpson sub-intervals used (1 for first order)
	Evaluations int // points at which the full-set gradients were evaluated this step
}

// group is the float64 state of one loss: a whole set's, or one class's within it.
type group struct {
	n                 int       // examples
	g0, g1, odd, even []float64 // gradients of the mean loss at θ_t, θ_{t+1}; Simpson's sums
	acc               []float64 // Σ of chunk gradients at the current point
	accLoss           float64
	loss0, loss1      float64
}

func newGroup(n, d int) *group {
	return &group{n: n, g0: make([]float64, d), g1: make([]float64, d), odd: make([]float64, d), even: make([]float64, d), acc: make([]float64, d)}
}

type setState struct {
	Set
	groups []*group // [0] the whole set, [1+c] class c (per-class LCA)
	out    []float64
}

// Integrator computes LCA of a model's θ over one or two sets.
type Integrator struct {
	Cfg    Config
	Layers []string // layer names, in arena order
	bounds []int    // layer segments of θ
	m      *engine.Model
	pool   *Pool
	sets   []*setState
	data   []engine.Examples
	names  []string
	chunks []chunk
	d      int
	l2w    [][2]int // the Weight parameters' segments, for the L2 term

	before, after []float32 // θ_t, θ_{t+1} on the host
	point         []float32 // θ at the current evaluation point
	stats         []float32 // batch norm's running statistics (running-statistics mode)
	delta         []float64 // Δ = θ_{t+1} − θ_t, exact in float64
	haveStart     bool
}

// NewIntegrator prepares LCA of m's θ over sets (the first is the LCA set, a second one the
// held-out split), with gradients computed by pool. m is the training model: Step reads θ_t and
// θ_{t+1} from its device (and its running statistics) and the L2 coefficient from it.
func NewIntegrator(m *engine.Model, sets []Set, cfg Config, pool *Pool) (*Integrator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(sets) == 0 || len(sets) > 2 {
		return nil, fmt.Errorf("LCA over %d sets: want the LCA set and at most a held-out split", len(sets))
	}
	if pool == nil || pool.D != m.Arena.D {
		return nil, fmt.Errorf("LCA needs a gradient pool for the model's %d parameters", m.Arena.D)
	}
	names, start, end := m.Arena.LayerSegments()
	d := m.Arena.D
	for i := range start {
		if i > 0 && start[i] != end[i-1] {
			return nil, fmt.Errorf("layer segments of θ are not contiguous at %s", names[i])
		}
	}
	if len(start) == 0 || start[0] != 0 || end[len(end)-1] != d {
		return nil, fmt.Errorf("the layers of θ do not cover its %d parameters", d)
	}
	it := &Integrator{Cfg: cfg, Layers: names, m: m, pool: pool, d: d,
		before: make([]float32, d), after: make([]float32, d), point: make([]float32, d), delta: make([]float64, d)}
	it.bounds = append(append([]int{}, start...), end[len(end)-1])
	for _, p := range m.Arena.Params {
		if p.Kind == engine.Weight {
			it.l2w = append(it.l2w, [2]int{p.Offset, p.Offset + p.Size})
		}
	}
	if !cfg.BatchStats && m.Arena.Stats != nil && m.Arena.Stats.Len() > 0 {
		it.stats = make([]float32, m.Arena.Stats.Len())
	}
	for k, s := range sets {
		n := s.Data.Len()
		if n == 0 {
			return nil, fmt.Errorf("LCA set %s: %w", s.Name, engine.ErrEmpty)
		}
		st := &setState{Set: s, groups: []*group{newGroup(n, d)}, out: make([]float64, d)}
		var labels []int32
		examples := s.Data
		if cfg.PerClass {
			if len(s.Labels) != n || s.Classes < 1 {
				return nil, fmt.Errorf("per-class LCA over %s needs every example's class (%d labels for %d examples)", s.Name, len(s.Labels), n)
			}
			counts := make([]int, s.Classes)
			for _, c := range s.Labels {
				if c < 0 || int(c) >= s.Classes {
					return nil, fmt.Errorf("LCA set %s: class %d outside 0..%d", s.Name, c, s.Classes-1)
				}
				counts[c]++
			}
			for _, nc := range counts {
				st.groups = append(st.groups, newGroup(nc, d))
			}
			var err error
			if examples, labels, err = sortByClass(s.Data, s.Labels); err != nil {
				return nil, fmt.Errorf("LCA set %s: %w", s.Name, err)
			}
		}
		it.sets = append(it.sets, st)
		it.data = append(it.data, examples)
		it.names = append(it.names, cmpOr(s.Name, fmt.Sprint(k)))
		it.chunks = append(it.chunks, planChunks(k, n, cfg.Chunk, labels, s.Classes)...)
	}
	return it, nil
}

// PerClassBytes is the host memory per-class LCA needs for a model of d parameters over sets:
// five float64 vectors (g(θ_t), g(θ_{t+1}), Simpson's odd and even sums, the chunk accumulator)
// per class and set, and each set's examples copied once in class order (see sortByClass; an
// upper bound for example sets that are not a *data.Dataset, which are not copied).
func PerClassBytes(d int, sets []Set) int64 {
	b := 5 * 8 * int64(d) * int64(sets[0].Classes) * int64(len(sets))
	for _, s := range sets {
		b += 4 * int64(s.Data.Len()) * int64(s.Data.ExampleSize()+s.Data.TargetSize())
	}
	return b
}

// sortByClass copies a data set's examples once, sorted by class (stably, so each class keeps
// its examples' order), and returns the copy with its labels. A per-class chunk plan over the
// copy (planChunks) has the same chunks, example for example, as over ex, so the gradients have
// the same bits; but each chunk is one contiguous range, which the models' per-chunk Gather
// copies several times faster than examples scattered over the set (measured: 1.3 s of one epoch
// of make run's recipe). Example sets other than a *data.Dataset are returned as they are, and
// their per-class chunks gather scattered examples.
func sortByClass(ex engine.Examples, labels []int32) (engine.Examples, []int32, error) {
	d, ok := ex.(*data.Dataset)
	if !ok {
		return ex, labels, nil
	}
	order := make([]int, len(labels))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(labels[a]) - int(labels[b]) })
	sorted, err := data.Subset(d, order)
	if err != nil {
		return nil, nil, err
	}
	sortedLabels := make([]int32, len(order))
	for k, i := range order {
		sortedLabels[k] = labels[i]
	}
	return sorted, sortedLabels, nil
}

// Restart forgets the cached start gradient (after θ was changed other than by Step).
func (it *Integrator) Restart() { it.haveStart = false }

// Start returns the cached start of the next step — every group's loss and gradient at its
// θ_t, whole sets and classes in a fixed order — ok false when there is none: what a checkpoint
// keeps, so that a resumed run evaluates exactly the gradients an uninterrupted one does.
func (it *Integrator) Start() (losses []float64, grads [][]float64, ok bool) {
	if !it.haveStart {
		return nil, nil, false
	}
	it.each(func(g *group) {
		losses = append(losses, g.loss0)
		grads = append(grads, slices.Clone(g.g0))
	})
	return losses, grads, true
}

// StartGroups is the number of groups Start returns (for the size of a checkpoint).
func (it *Integrator) StartGroups() int {
	n := 0
	it.each(func(*group) { n++ })
	return n
}

// SetStart restores a start that Start returned.
func (it *Integrator) SetStart(losses []float64, grads [][]float64) error {
	if n := it.StartGroups(); len(losses) != n || len(grads) != n {
		return fmt.Errorf("start of %d losses and %d gradients, want %d", len(losses), len(grads), n)
	}
	for _, g := range grads {
		if len(g) != it.d {
			return fmt.Errorf("start gradient of %d values, want %d", len(g), it.d)
		}
	}
	k := 0
	it.each(func(g *group) {
		g.loss0 = losses[k]
		copy(g.g0, grads[k])
		k++
	})
	it.haveStart = true
	return nil
}

// ClassCounts are the examples of each class in set k (nil without per-class LCA).
func (it *Integrator) ClassCounts(k int) []int {
	var out []int
	for _, g := range it.sets[k].groups[1:] {
		out = append(out, g.n)
	}
	return out
}

// evaluate computes the losses and gradients of every set and group at θ = point, leaving
// the mean loss in accLoss and the gradient of the mean loss in acc (L2 term included when
// configured).
func (it *Integrator) evaluate() error {
	for _, s := range it.sets {
		for _, g := range s.groups {
			clear(g.acc)
			g.accLoss = 0
		}
	}
	err := it.pool.eval(it.point, it.stats, engine.Mode{BatchStats: it.Cfg.BatchStats}, it.chunks, it.data, it.names,
		func(c chunk, loss float64, grad []float32) {
			s := it.sets[c.set]
			addTo(s.groups[0], loss, grad)
			if c.class >= 0 {
				addTo(s.groups[1+c.class], loss, grad)
			}
		})
	if err != nil {
		return err
	}
	var pen float64
	if it.Cfg.IncludeL2 && it.m.L2 != 0 {
		for _, seg := range it.l2w {
			for _, w := range it.point[seg[0]:seg[1]] {
				pen += float64(w) * float64(w)
			}
		}
		pen *= it.m.L2 / 2
	}
	for _, s := range it.sets {
		for _, g := range s.groups {
			if g.n == 0 {
				continue
			}
			n := float64(g.n)
			g.accLoss = g.accLoss/n + pen
			for i := range g.acc {
				g.acc[i] /= n
			}
			if pen != 0 {
				lam := it.m.L2
				for _, seg := range it.l2w {
					for i := seg[0]; i < seg[1]; i++ {
						g.acc[i] += lam * float64(it.point[i])
					}
				}
			}
		}
		if l := s.groups[0].accLoss; math.IsNaN(l) || math.IsInf(l, 0) {
			return fmt.Errorf("the loss over the %s set is %v", s.Name, l)
		}
	}
	return nil
}

func addTo(g *group, loss float64, grad []float32) {
	g.accLoss += loss
	acc := g.acc[:len(grad)]
	for i, v := range grad {
		acc[i] += float64(v)
	}
}

// at sets the evaluation point to θ_t + f·Δ, rounded once to float32 (exactly θ_t and θ_{t+1}
// at f = 0 and 1), and evaluates there.
func (it *Integrator) at(f float64) error {
	switch f {
	case 0:
		copy(it.point, it.before)
	case 1:
		copy(it.point, it.after)
	default:
		for i, b := range it.before {
			it.point[i] = float32(float64(b) + f*it.delta[i])
		}
	}
	return it.evaluate()
}

// Step allocates the loss change from θ_t = before to θ_{t+1} = after (buffers of the model's
// device). Out and the per-layer sums are in the returned steps.
func (it *Integrator) Step(before, after engine.Buffer) (Step, error) {
	dev := it.m.Dev
	dev.Download(it.before, before)
	dev.Download(it.after, after)
	if it.stats != nil {
		dev.Download(it.stats, it.m.Arena.Stats)
	}
	if err := dev.Sync(); err != nil {
		return Step{}, err
	}
	for i, a := range it.after {
		it.delta[i] = float64(a) - float64(it.before[i])
	}
	var st Step
	if !it.haveStart {
		if err := it.at(0); err != nil {
			return st, fmt.Errorf("gradient at θ_t: %w", err)
		}
		it.each(func(g *group) { g.loss0 = g.accLoss; copy(g.g0, g.acc) })
		it.haveStart = true
		st.Evaluations++
	}
	if err := it.at(1); err != nil {
		return st, fmt.Errorf("gradient at θ_{t+1}: %w", err)
	}
	st.Evaluations++
	it.each(func(g *group) { g.loss1 = g.accLoss; copy(g.g1, g.acc) })

	if it.Cfg.FirstOrder {
		st.N = 1
	} else {
		it.each(func(g *group) { clear(g.odd); clear(g.even) })
		for n := 2; ; n *= 2 {
			// The points of the new grid at odd k are the new ones; the old grid's interior
			// points become its even interior points.
			if n > 2 {
				it.each(func(g *group) {
					for i, v := range g.odd {
						g.even[i] += v
					}
					clear(g.odd)
				})
			}
			for k := 1; k < n; k += 2 {
				if err := it.at(float64(k) / float64(n)); err != nil {
					return st, fmt.Errorf("gradient at %d/%d of the path: %w", k, n, err)
				}
				st.Evaluations++
				it.each(func(g *group) {
					for i, v := range g.acc {
						g.odd[i] += v
					}
				})
			}
			st.N = n
			worst := 0.0
			for _, s := range it.sets {
				g := s.groups[0]
				sum := it.allocate(g, n, nil, nil, nil)
				worst = math.Max(worst, math.Abs(g.loss1-g.loss0-sum))
			}
			if worst <= it.Cfg.Threshold || n >= it.Cfg.MaxN {
				break
			}
		}
	}
	for k, s := range it.sets {
		ss := it.setStep(s, st.N)
		if k == 0 {
			st.SetStep = ss
		} else {
			st.HeldOut = &ss
		}
	}
	// The end of this step is the start of the next.
	it.each(func(g *group) { g.g0, g.g1 = g.g1, g.g0; g.loss0 = g.loss1 })
	return st, nil
}

// each calls f on every group of every set.
func (it *Integrator) each(f func(*group)) {
	for _, s := range it.sets {
		for _, g := range s.groups {
			f(g)
		}
	}
}

// setStep is set s's allocation with n sub-intervals (1: first order).
func (it *Integrator) setStep(s *setState, n int) SetStep {
	g := s.groups[0]
	ss := SetStep{LossBefore: g.loss0, LossAfter: g.loss1, Layers: make([]float64, len(it.Layers)), Out: s.out}
	ss.Sum = it.allocate(g, n, s.out, ss.Layers, nil)
	for i, v := range g.g0 {
		ss.FirstOrderSum += v * it.delta[i]
	}
	for _, cg := range s.groups[1:] {
		cs := ClassStep{Examples: cg.n, LossBefore: cg.loss0, LossAfter: cg.loss1, Layers: make([]float64, len(it.Layers)), Helped: make([]float32, len(it.Layers))}
		if cg.n > 0 {
			cs.Sum = it.allocate(cg, n, nil, cs.Layers, cs.Helped)
		}
		ss.Classes = append(ss.Classes, cs)
	}
	return ss
}

// allocate computes LCA_i = ḡ_i·Δ_i of group g with n sub-intervals (n = 1: ḡ = g(θ_t)),
// ḡ = (g0 + g1 + 4·odd + 2·even)/(3n), and returns Σ_i LCA_i, the sum of the per-layer sums.
// Optionally it stores the values (out), the per-layer sums (layers) and the per-layer fractions
// of negative values (helped). The loops are branch-free: they run once per refinement level,
// and once per class, on every iteration.
func (it *Integrator) allocate(g *group, n int, out, layers []float64, helped []float32) float64 {
	var total float64
	w := 1 / (3 * float64(n))
	for l := range len(it.bounds) - 1 {
		lo, hi := it.bounds[l], it.bounds[l+1]
		var sum float64
		neg := 0
		g0, g1, odd, even, delta := g.g0[lo:hi], g.g1[lo:hi], g.odd[lo:hi], g.even[lo:hi], it.delta[lo:hi]
		var o []float64
		if out != nil {
			o = out[lo:hi]
		}
		for i, d := range delta {
			gb := g0[i]
			if n > 1 {
				gb = (g0[i] + g1[i] + 4*odd[i] + 2*even[i]) * w
			}
			v := gb * d
			sum += v
			neg += negative(v)
			if o != nil {
				o[i] = v
			}
		}
		if layers != nil {
			layers[l] = sum
		}
		if helped != nil {
			helped[l] = float32(float64(neg) / float64(hi-lo))
		}
		total += sum
	}
	return total
}

// negative is 1 for v < 0 (not for −0 or NaN), else 0, without a branch.
func negative(v float64) int {
	b := 0
	if v < 0 {
		b = 1
	}
	return b
}
