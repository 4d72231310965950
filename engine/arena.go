package engine

import (
	"fmt"
	"strings"
)

// ParamKind tells what a parameter is, so that initialisation, L2 and experiments can treat
// weights, biases and batch-norm affine parameters differently.
type ParamKind int

const (
	Weight ParamKind = iota // Linear/Conv weights: He-normal init, L2 applies
	Bias                    // zero init
	Gamma                   // batch-norm scale: init 1
	Beta                    // batch-norm shift: init 0
)

func (k ParamKind) String() string {
	switch k {
	case Weight:
		return "weight"
	case Bias:
		return "bias"
	case Gamma:
		return "gamma"
	case Beta:
		return "beta"
	}
	return fmt.Sprintf("ParamKind(%d)", int(k))
}

// Param describes one parameter tensor's place in the flat arena. Offsets follow the order in
// which layers were built, weights before biases; shapes use PyTorch's layout.
type Param struct {
	Name   string    `json:"name"`  // "layer.weight"
	Layer  string    `json:"layer"` // the owning layer's name
	Kind   ParamKind `json:"-"`
	Shape  []int     `json:"shape"`
	Offset int       `json:"offset"`
	Size   int       `json:"size"`
	FanIn  int       `json:"-"` // for He-normal initialisation
	Init   float32   `json:"-"` // constant init for non-weights
}

// Builder collects parameters and non-trainable state (batch-norm running statistics) while a
// network is built, then materialises them as one arena on a device.
type Builder struct {
	params []Param
	state  []Param
	d, s   int
	names  map[string]bool
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder { return &Builder{names: map[string]bool{}} }

// Param registers a trainable tensor and returns its index in the arena's Params.
func (b *Builder) Param(layer, name string, kind ParamKind, shape []int, fanIn int, init float32) (int, error) {
	full := layer + "." + name
	if b.names[full] {
		return 0, fmt.Errorf("duplicate parameter name %q (layer names must be unique)", full)
	}
	size := 1
	for _, s := range shape {
		if s < 1 {
			return 0, fmt.Errorf("parameter %s: impossible shape %v", full, shape)
		}
		size *= s
	}
	b.names[full] = true
	b.params = append(b.params, Param{Name: full, Layer: layer, Kind: kind, Shape: append([]int(nil), shape...), Offset: b.d, Size: size, FanIn: fanIn, Init: init})
	b.d += size
	return len(b.params) - 1, nil
}

// State registers a non-trainable tensor with a constant initial value and returns its index.
func (b *Builder) State(layer, name string, size int, init float32) (int, error) {
	full := layer + "." + name
	if b.names[full] {
		return 0, fmt.Errorf("duplicate state name %q", full)
	}
	b.names[full] = true
	b.state = append(b.state, Param{Name: full, Layer: layer, Shape: []int{size}, Offset: b.s, Size: size, Init: init})
	b.s += size
	return len(b.state) - 1, nil
}

// Arena is one model's parameters θ and gradients ∇θ, each one contiguous buffer of D floats,
// plus the non-trainable state (running statistics) in a third buffer.
type Arena struct {
	Params []Param
	State  []Param
	D      int // number of trainable parameters
	Theta  Buffer
	Grad   Buffer
	Stats  Buffer // non-trainable state; nil when the model has none

	// Views are made once: creating one allocates on the CPU device.
	views, gradViews, stateViews []Buffer
}

func (b *Builder) arena(dev Device) (*Arena, error) {
	a := &Arena{Params: b.params, State: b.state, D: b.d}
	var err error
	if a.Theta, err = dev.Alloc(b.d); err != nil {
		return nil, err
	}
	if a.Grad, err = dev.Alloc(b.d); err != nil {
		return nil, err
	}
	if b.s > 0 {
		if a.Stats, err = dev.Alloc(b.s); err != nil {
			return nil, err
		}
	}
	for _, p := range a.Params {
		a.views = append(a.views, a.Theta.Slice(p.Offset, p.Size))
		a.gradViews = append(a.gradViews, a.Grad.Slice(p.Offset, p.Size))
	}
	for _, s := range a.State {
		a.stateViews = append(a.stateViews, a.Stats.Slice(s.Offset, s.Size))
	}
	return a, nil
}

// View is the slice of θ holding parameter i.
func (a *Arena) View(i int) Buffer { return a.views[i] }

// GradView is the slice of ∇θ holding parameter i.
func (a *Arena) GradView(i int) Buffer { return a.gradViews[i] }

// StateView is the slice of the state buffer holding state tensor i.
func (a *Arena) StateView(i int) Buffer { return a.stateViews[i] }

// Find returns the index of the parameter with the given full name.
func (a *Arena) Find(name string) (int, bool) {
	for i, p := range a.Params {
		if p.Name == name {
			return i, true
		}
	}
	return 0, false
}

// Layers lists the distinct layer names owning parameters, in arena order.
func (a *Arena) Layers() []string {
	var out []string
	for _, p := range a.Params {
		if len(out) == 0 || out[len(out)-1] != p.Layer {
			out = append(out, p.Layer)
		}
	}
	return out
}

// LayerSegments returns, for each layer that owns parameters, the half-open range of θ it
// covers. Layers' parameters are contiguous because they are registered together.
func (a *Arena) LayerSegments() (names []string, start, end []int) {
	for _, p := range a.Params {
		if n := len(names); n > 0 && names[n-1] == p.Layer {
			end[n-1] = p.Offset + p.Size
			continue
		}
		names = append(names, p.Layer)
		start = append(start, p.Offset)
		end = append(end, p.Offset+p.Size)
	}
	return names, start, end
}

// MatchLayer reports whether a layer name is selected by a pattern: an exact name, or a prefix
// ending in "." or "*" ("stage1." or "stage1*" select every layer of stage 1).
func MatchLayer(pattern, layer string) bool {
	if strings.HasSuffix(pattern, "*") {
		return strings.HasPrefix(layer, strings.TrimSuffix(pattern, "*"))
	}
	if strings.HasSuffix(pattern, ".") {
		return strings.HasPrefix(layer, pattern)
	}
	return pattern == layer
}

// D is the number of trainable parameters registered so far.
func (b *Builder) D() int { return b.d }

// Params is the parameters registered so far.
func (b *Builder) Params() []Param { return b.params }

// NewVectorArena is an arena of one flat vector of d trainable variables (named layer.theta)
// that are not a network's parameters, such as intrinsic dimension's θ_d, so that an Optimizer
// can update them.
func NewVectorArena(dev Device, layer string, d int) (*Arena, error) {
	b := NewBuilder()
	if _, err := b.Param(layer, "theta", Weight, []int{d}, 1, 0); err != nil {
		return nil, err
	}
	return b.arena(dev)
}
