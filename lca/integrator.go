// Package lca computes Loss Change Allocation (Lan, Liu, Zhou, Yosinski, NeurIPS 2019): every
// iteration's change of the loss over a fixed data set, split among the parameters as
// LCA_{t,i} = ḡ_i·(θ_{t+1,i} − θ_{t,i}), where ḡ is the full-set gradient averaged along the
// straight path from θ_t to θ_{t+1}. Negative means parameter i helped on iteration t.
//
// The path integral uses Simpson's rule with n sub-intervals, ḡ = Σ_k w_k g(θ_t + k/n·Δ) with
// weights (1,4,2,4,…,2,4,1)/(3n). It starts at n = 2 (endpoints and midpoint; the endpoint
// gradient of iteration t is the start gradient of t+1, so two gradient evaluations an
// iteration) and doubles n while |L(θ_{t+1}) − L(θ_t) − Σ_i LCA_{t,i}| exceeds the threshold,
// keeping every computed point.
package lca

import (
	"fmt"
	"math"

	"github.com/gazeml/gaze/engine"
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

// Step is one iteration's allocation.
type Step struct {
	LossBefore, LossAfter float64   // loss over the LCA set at θ_t and θ_{t+1}
	Sum                   float64   // Σ_i LCA_{t,i}
	Layers                []float64 // per-layer sums (one per Integrator.Layers entry)
	N                     int       // Simpson sub-intervals used (1 for first order)
	FirstOrderSum         float64   // Σ_i g_i(θ_t)·Δ_i, the first-order estimate, always computed
	Evaluations           int       // full-set gradient evaluations this step
}

// Error is |ΔL − ΣLCA|.
func (s Step) Error() float64 { return math.Abs(s.LossAfter - s.LossBefore - s.Sum) }

// FirstOrderError is |ΔL − Σ g(θ_t)·Δ|.
func (s Step) FirstOrderError() float64 {
	return math.Abs(s.LossAfter - s.LossBefore - s.FirstOrderSum)
}

// Integrator computes LCA on a model's arena over one data set.
type Integrator struct {
	Cfg    Config
	Layers []string // layer names, in arena order
	bounds []int    // layer segments of θ
	m      *engine.Model
	ds     engine.Examples
	dev    engine.Device

	// Device vectors of D floats.
	theta1 engine.Buffer // θ_{t+1}
	delta  engine.Buffer // Δ = θ_{t+1} − θ_t
	g0, g1 engine.Buffer // gradients at the endpoints
	ev     engine.Buffer // sum of the even interior points of the current grid
	odd    engine.Buffer // sum of the odd points of the current grid
	gbar   engine.Buffer // the path-averaged gradient
	Out    engine.Buffer // LCA_{t,·} of the latest step (valid until the next)

	haveStart bool
	loss0     float64
	sums      []float64
}

// NewIntegrator prepares LCA of m over ds.
func NewIntegrator(m *engine.Model, ds engine.Examples, cfg Config) (*Integrator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if ds.Len() == 0 {
		return nil, fmt.Errorf("LCA set: %w", engine.ErrEmpty)
	}
	names, start, end := m.Arena.LayerSegments()
	it := &Integrator{Cfg: cfg, Layers: names, m: m, ds: ds, dev: m.Dev, sums: make([]float64, len(names))}
	it.bounds = append(append([]int{}, start...), end[len(end)-1])
	for i := range start {
		if i > 0 && start[i] != end[i-1] {
			return nil, fmt.Errorf("layer segments of θ are not contiguous at %s", names[i])
		}
	}
	for _, b := range []*engine.Buffer{&it.theta1, &it.delta, &it.g0, &it.g1, &it.ev, &it.odd, &it.gbar, &it.Out} {
		var err error
		if *b, err = m.Dev.Alloc(m.Arena.D); err != nil {
			it.Close()
			return nil, fmt.Errorf("LCA buffers (8 × %d floats): %w", m.Arena.D, err)
		}
	}
	return it, nil
}

// Close frees the integrator's device memory.
func (it *Integrator) Close() {
	for _, b := range []engine.Buffer{it.theta1, it.delta, it.g0, it.g1, it.ev, it.odd, it.gbar, it.Out} {
		if b != nil {
			it.dev.Free(b)
		}
	}
}

// Restart forgets the cached start gradient (after θ was changed other than by Step).
func (it *Integrator) Restart() { it.haveStart = false }

// Start returns the cached start of the next step (the loss and gradient at its θ_t), ok false
// when there is none: what a checkpoint keeps, so that a resumed run evaluates exactly the
// gradients an uninterrupted one does.
func (it *Integrator) Start() (loss float64, grad []float32, ok bool) {
	if !it.haveStart {
		return 0, nil, false
	}
	grad = make([]float32, it.m.Arena.D)
	it.dev.Download(grad, it.g0)
	return it.loss0, grad, true
}

// SetStart restores a start that Start returned.
func (it *Integrator) SetStart(loss float64, grad []float32) error {
	if len(grad) != it.m.Arena.D {
		return fmt.Errorf("start gradient of %d values, want %d", len(grad), it.m.Arena.D)
	}
	it.dev.Upload(it.g0, grad)
	it.loss0, it.haveStart = loss, true
	return nil
}

func (it *Integrator) mode() engine.Mode { return engine.Mode{BatchStats: it.Cfg.BatchStats} }

// gradient sets θ to before + f·Δ (or exactly θ_{t+1} when f = 1), evaluates the loss and
// its gradient over the LCA set, and leaves the gradient in the arena's ∇θ.
func (it *Integrator) gradient(before engine.Buffer, f float64) (float64, error) {
	a := it.m.Arena
	switch f {
	case 0:
		it.dev.Copy(a.Theta, before)
	case 1:
		it.dev.Copy(a.Theta, it.theta1)
	default:
		it.dev.Copy(a.Theta, before)
		it.dev.Axpy(float32(f), it.delta, a.Theta)
	}
	loss, err := it.m.Gradient(it.ds, it.Cfg.Chunk, it.mode())
	if err != nil {
		return 0, err
	}
	if it.Cfg.IncludeL2 {
		loss += it.m.L2Penalty()
		it.m.AddL2Grad()
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return 0, fmt.Errorf("the loss over the LCA set is %v", loss)
	}
	return loss, nil
}

// Step allocates the loss change from θ_t = before to θ_{t+1} = after (the model's θ, which
// it leaves as it found it). The per-parameter values are in Out afterwards.
func (it *Integrator) Step(before, after engine.Buffer) (Step, error) {
	d := it.dev
	a := it.m.Arena
	var st Step
	d.Copy(it.theta1, after)
	d.Copy(it.delta, after)
	d.Axpy(-1, before, it.delta)
	defer d.Copy(a.Theta, it.theta1)
	if !it.haveStart {
		l, err := it.gradient(before, 0)
		if err != nil {
			return st, fmt.Errorf("gradient at θ_t: %w", err)
		}
		d.Copy(it.g0, a.Grad)
		it.loss0 = l
		it.haveStart = true
		st.Evaluations++
	}
	st.LossBefore = it.loss0
	st.FirstOrderSum = d.Dot(it.g0, it.delta)
	l1, err := it.gradient(before, 1)
	if err != nil {
		return st, fmt.Errorf("gradient at θ_{t+1}: %w", err)
	}
	st.Evaluations++
	d.Copy(it.g1, a.Grad)
	st.LossAfter = l1

	if it.Cfg.FirstOrder {
		d.GradDelta(it.g0, it.delta, it.Out, it.bounds, it.sums)
		st.N = 1
	} else {
		d.Fill(it.ev, 0)
		d.Fill(it.odd, 0)
		for n := 2; ; n *= 2 {
			// The points of the new grid at odd k are the new ones; the old grid's interior
			// points become its even interior points.
			if n > 2 {
				d.Axpy(1, it.odd, it.ev)
				d.Fill(it.odd, 0)
			}
			for k := 1; k < n; k += 2 {
				if _, err := it.gradient(before, float64(k)/float64(n)); err != nil {
					return st, fmt.Errorf("gradient at %d/%d of the path: %w", k, n, err)
				}
				st.Evaluations++
				d.Axpy(1, a.Grad, it.odd)
			}
			// ḡ = (g0 + g1 + 4·odd + 2·even)/(3n)
			d.Copy(it.gbar, it.g0)
			d.Axpy(1, it.g1, it.gbar)
			d.Axpy(4, it.odd, it.gbar)
			d.Axpy(2, it.ev, it.gbar)
			d.Scale(it.gbar, float32(1/(3*float64(n))))
			d.GradDelta(it.gbar, it.delta, it.Out, it.bounds, it.sums)
			st.N = n
			st.Sum = sumOf(it.sums)
			if st.Error() <= it.Cfg.Threshold || n >= it.Cfg.MaxN {
				break
			}
		}
	}
	st.Sum = sumOf(it.sums)
	st.Layers = append([]float64(nil), it.sums...)
	// The end of this step is the start of the next.
	it.g0, it.g1 = it.g1, it.g0
	it.loss0 = l1
	return st, d.Sync()
}

func sumOf(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}
