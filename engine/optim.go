package engine

import (
	"fmt"
	"math"
	"slices"
)

// OptConfig configures an optimizer. Fields that do not apply to the chosen kind are ignored.
type OptConfig struct {
	Kind        string  `json:"kind"` // "sgd" or "adam"
	LR          float64 `json:"lr"`
	Momentum    float64 `json:"momentum,omitempty"` // SGD
	Nesterov    bool    `json:"nesterov,omitempty"` // SGD
	WeightDecay float64 `json:"weight_decay,omitempty"`
	Beta1       float64 `json:"beta1,omitempty"` // Adam
	Beta2       float64 `json:"beta2,omitempty"` // Adam; the reference code uses 0.99
	Eps         float64 `json:"eps,omitempty"`   // Adam
	// Step schedule: the learning rate is multiplied by Gamma at each epoch in Milestones.
	Milestones []int           `json:"milestones,omitempty"`
	Gamma      float64         `json:"gamma,omitempty"`
	Groups     []GroupOverride `json:"groups,omitempty"`
}

// GroupOverride changes how the optimizer treats the parameters of chosen layers (see
// MatchLayer for the patterns), from iteration FromIter on. Later overrides win over earlier
// ones. LR and Momentum replace the base values (for Adam, Momentum replaces β1); LRScale
// multiplies the scheduled rate; Frozen leaves the parameters (and their optimizer state) alone.
type GroupOverride struct {
	Layers   []string `json:"layers"`
	LR       *float64 `json:"lr,omitempty"`
	LRScale  *float64 `json:"lr_scale,omitempty"`
	Momentum *float64 `json:"momentum,omitempty"`
	Frozen   bool     `json:"frozen,omitempty"`
	FromIter int      `json:"from_iter,omitempty"`
}

// DefaultAdam fills Adam's defaults into zero fields (β1 0.9, β2 0.999, eps 1e-8).
func (c *OptConfig) defaults() {
	if c.Kind == "adam" {
		if c.Beta1 == 0 {
			c.Beta1 = 0.9
		}
		if c.Beta2 == 0 {
			c.Beta2 = 0.999
		}
		if c.Eps == 0 {
			c.Eps = 1e-8
		}
	}
	if c.Gamma == 0 {
		c.Gamma = 0.1
	}
}

// Validate reports an impossible configuration, naming the command-line flag of the field: no
// value that is not a finite number passes (a NaN compares false with every bound, so every
// check is written to fail on it).
func (c OptConfig) Validate() error {
	switch c.Kind {
	case "sgd", "adam":
	default:
		return fmt.Errorf("unknown optimizer %q (want sgd or adam)", c.Kind)
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !(c.LR > 0) || !finite(c.LR):
		return fmt.Errorf("--lr %v: the learning rate must be a finite number > 0", c.LR)
	case !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("--momentum %v: must be a finite number in [0, 1)", c.Momentum)
	case !(c.WeightDecay >= 0) || !finite(c.WeightDecay):
		return fmt.Errorf("--weight-decay %v: must be a finite number ≥ 0", c.WeightDecay)
	case !(c.Gamma >= 0) || !finite(c.Gamma):
		return fmt.Errorf("--lr-gamma %v: must be a finite number > 0", c.Gamma)
	}
	if c.Kind == "adam" {
		switch {
		case !(c.Beta1 >= 0 && c.Beta1 < 1):
			return fmt.Errorf("--beta1 %v: must be a finite number in [0, 1)", c.Beta1)
		case !(c.Beta2 >= 0 && c.Beta2 < 1):
			return fmt.Errorf("--beta2 %v: must be a finite number in [0, 1)", c.Beta2)
		case !(c.Eps > 0) || !finite(c.Eps):
			return fmt.Errorf("--eps %v: must be a finite number > 0", c.Eps)
		}
	}
	if !slices.IsSorted(c.Milestones) {
		return fmt.Errorf("--lr-milestones %v: the milestones must be increasing", c.Milestones)
	}
	for _, g := range c.Groups {
		if len(g.Layers) == 0 {
			return fmt.Errorf("a parameter-group override names no layers")
		}
		if g.LR != nil && (!(*g.LR >= 0) || !finite(*g.LR)) {
			return fmt.Errorf("--layer-lr %s=%v: the learning rate must be a finite number ≥ 0", g.Layers[0], *g.LR)
		}
		if g.LRScale != nil && (!(*g.LRScale >= 0) || !finite(*g.LRScale)) {
			return fmt.Errorf("group %v: learning-rate scale %v must be a finite number ≥ 0", g.Layers, *g.LRScale)
		}
		if g.Momentum != nil && !(*g.Momentum >= 0 && *g.Momentum < 1) {
			return fmt.Errorf("--layer-momentum %s=%v: must be a finite number in [0, 1)", g.Layers[0], *g.Momentum)
		}
		if g.FromIter < 0 {
			return fmt.Errorf("group %v: iteration %d must be ≥ 0", g.Layers, g.FromIter)
		}
	}
	return nil
}

// Optimizer updates the whole parameter arena. Without group overrides each step is one kernel
// launch over all D parameters; overrides split θ into contiguous segments of equal settings.
type Optimizer struct {
	Cfg   OptConfig
	T     int    // steps taken (Adam's bias correction)
	S1    Buffer // SGD velocity or Adam's first moment; nil for plain SGD
	S2    Buffer // Adam's second moment
	dev   Device
	arena *Arena

	segs    []segment
	segIter int // iteration segs were computed for, -1 when stale
	segGen  int // incremented whenever segs is recomputed (a recorded step depends on it)
}

type segment struct {
	start, end int
	lr         float64 // multiplier of the scheduled rate, or absolute when abs
	abs        bool
	momentum   float64
	frozen     bool
	// Views of θ, ∇θ and the state over the segment, made once per recomputation.
	th, g, s1, s2 Buffer
	slot          int // its per-step scalars' slot in a recorded step (captureStep), or -1
}

// NewOptimizer allocates the optimizer state for arena on dev.
func NewOptimizer(dev Device, arena *Arena, cfg OptConfig) (*Optimizer, error) {
	cfg.defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for _, g := range cfg.Groups {
		for _, pat := range g.Layers {
			found := false
			for _, l := range arena.Layers() {
				found = found || MatchLayer(pat, l)
			}
			if !found {
				return nil, fmt.Errorf("parameter group: no layer matches %q (layers: %v)", pat, arena.Layers())
			}
		}
	}
	o := &Optimizer{Cfg: cfg, dev: dev, arena: arena, segIter: -1}
	var err error
	if cfg.Kind == "adam" || cfg.Momentum > 0 || o.hasMomentumOverride() {
		if o.S1, err = dev.Alloc(arena.D); err != nil {
			return nil, fmt.Errorf("optimizer state: %w", err)
		}
	}
	if cfg.Kind == "adam" {
		if o.S2, err = dev.Alloc(arena.D); err != nil {
			return nil, fmt.Errorf("optimizer state: %w", err)
		}
	}
	return o, nil
}

func (o *Optimizer) hasMomentumOverride() bool {
	for _, g := range o.Cfg.Groups {
		if g.Momentum != nil && *g.Momentum > 0 {
			return true
		}
	}
	return false
}

// Close frees the optimizer state.
func (o *Optimizer) Close() {
	o.dev.Free(o.S1)
	o.dev.Free(o.S2)
}

// LR is the scheduled base learning rate during epoch (0-based).
func (o *Optimizer) LR(epoch int) float64 {
	lr := o.Cfg.LR
	for _, m := range o.Cfg.Milestones {
		if epoch >= m {
			lr *= o.Cfg.Gamma
		}
	}
	return lr
}

// segments returns θ's segments for iteration iter, recomputed only when an override starts.
func (o *Optimizer) segments(iter int) []segment {
	stale := o.segIter < 0
	for _, g := range o.Cfg.Groups {
		if g.FromIter > 0 && (o.segIter < g.FromIter) != (iter < g.FromIter) {
			stale = true
		}
	}
	if !stale {
		return o.segs
	}
	base := o.Cfg.Momentum
	if o.Cfg.Kind == "adam" {
		base = o.Cfg.Beta1
	}
	o.segs = o.segs[:0]
	for _, p := range o.arena.Params {
		s := segment{start: p.Offset, end: p.Offset + p.Size, lr: 1, momentum: base}
		for _, g := range o.Cfg.Groups {
			if iter < g.FromIter || !matchAny(g.Layers, p.Layer) {
				continue
			}
			if g.LR != nil {
				s.lr, s.abs = *g.LR, true
			}
			if g.LRScale != nil {
				s.lr *= *g.LRScale
			}
			if g.Momentum != nil {
				s.momentum = *g.Momentum
			}
			s.frozen = s.frozen || g.Frozen
		}
		if n := len(o.segs); n > 0 {
			last := &o.segs[n-1]
			if last.end == s.start && last.lr == s.lr && last.abs == s.abs && last.momentum == s.momentum && last.frozen == s.frozen {
				last.end = s.end
				continue
			}
		}
		o.segs = append(o.segs, s)
	}
	a := o.arena
	for i := range o.segs {
		s := &o.segs[i]
		n := s.end - s.start
		s.th, s.g = a.Theta.Slice(s.start, n), a.Grad.Slice(s.start, n)
		if o.S1 != nil {
			s.s1 = o.S1.Slice(s.start, n)
		}
		if o.S2 != nil {
			s.s2 = o.S2.Slice(s.start, n)
		}
	}
	o.segIter = iter
	o.segGen++
	return o.segs
}

func matchAny(patterns []string, layer string) bool {
	for _, p := range patterns {
		if MatchLayer(p, layer) {
			return true
		}
	}
	return false
}

// Step applies one update with the gradient in the arena, at training iteration iter of epoch.
func (o *Optimizer) Step(iter, epoch int) {
	o.T++
	lr := o.LR(epoch)
	for _, s := range o.segments(iter) {
		if s.frozen {
			continue
		}
		rate := s.rate(lr)
		switch o.Cfg.Kind {
		case "sgd":
			var v Buffer
			if s.momentum > 0 {
				v = s.s1
			}
			o.dev.SGDStep(s.th, s.g, v, float32(rate), float32(s.momentum), float32(o.Cfg.WeightDecay), o.Cfg.Nesterov)
		case "adam":
			o.dev.AdamStep(s.th, s.g, s.s1, s.s2, float32(rate), float32(s.momentum),
				float32(o.Cfg.Beta2), float32(o.Cfg.Eps), float32(o.Cfg.WeightDecay), o.T)
		}
	}
}

// rate is the segment's learning rate when the schedule's base rate is lr.
func (s *segment) rate(lr float64) float64 {
	if s.abs {
		return s.lr
	}
	return lr * s.lr
}

// captureStep records Step's kernels for the segments of iteration iter into a CUDA graph
// (trainer_graph.go): the same kernels, with their per-step scalars in vars slots that
// stepVars fills before each launch. It returns the segmentation's generation, which a later
// iteration must still have for the recording to apply.
func (o *Optimizer) captureStep(g *graphState, iter int) int {
	segs := o.segments(iter)
	for i := range segs {
		s := &segs[i]
		s.slot = -1
		if s.frozen {
			continue
		}
		switch o.Cfg.Kind {
		case "sgd":
			var v Buffer
			if s.momentum > 0 {
				v = s.s1
			}
			vars, slot := g.varSlot(1)
			s.slot = slot
			g.cap.SGDStepVar(s.th, s.g, v, float32(s.momentum), float32(o.Cfg.WeightDecay), o.Cfg.Nesterov, vars)
		case "adam":
			vars, slot := g.varSlot(2)
			s.slot = slot
			g.cap.AdamStepVar(s.th, s.g, s.s1, s.s2, float32(s.momentum), float32(o.Cfg.Beta2), float32(o.Cfg.Eps), float32(o.Cfg.WeightDecay), vars)
		}
	}
	return o.segGen
}

// stepVars advances the step count as Step does and writes the per-step scalars of Step(iter,
// epoch) into the slots captureStep handed out: the values Step would pass to its kernels.
func (o *Optimizer) stepVars(g *graphState, epoch int) {
	o.T++
	lr := o.LR(epoch)
	for i := range o.segs {
		s := &o.segs[i]
		if s.slot < 0 {
			continue
		}
		rate := s.rate(lr)
		switch o.Cfg.Kind {
		case "sgd":
			g.varsH[s.slot] = float32(rate)
		case "adam":
			g.varsH[s.slot], g.varsH[s.slot+1] = AdamScalars(float32(rate), float32(s.momentum), float32(o.Cfg.Beta2), o.T)
		}
	}
}
