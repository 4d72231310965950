package engine

import (
	"fmt"
	"slices"
)

// Sequential runs its layers in order.
type Sequential struct {
	name   string
	Layers []Layer
	// firstParam is the index of the first layer that registers parameters (len(Layers) when
	// none does): the layers up to it need no input gradient of their own, since nothing
	// before them learns (MLPs start with a Flatten, whose Linear would otherwise compute a
	// dx nobody reads, a third of mnist-fc's backward arithmetic).
	firstParam int
}

// NewSequential composes layers.
func NewSequential(name string, layers ...Layer) *Sequential {
	return &Sequential{name: name, Layers: layers}
}

func (s *Sequential) Name() string { return s.name }

func (s *Sequential) Build(b *Builder, in []int) ([]int, error) {
	if len(s.Layers) == 0 {
		return nil, fmt.Errorf("layer %s: empty Sequential", s.name)
	}
	cur := in
	s.firstParam = len(s.Layers)
	for i, l := range s.Layers {
		before := len(b.params)
		out, err := l.Build(b, cur)
		if err != nil {
			return nil, err
		}
		if len(b.params) > before && s.firstParam == len(s.Layers) {
			s.firstParam = i
		}
		cur = out
	}
	return cur, nil
}

func (s *Sequential) Setup(ctx *Context, maxN int) error {
	for _, l := range s.Layers {
		if err := l.Setup(ctx, maxN); err != nil {
			return fmt.Errorf("layer %s: %w", l.Name(), err)
		}
	}
	return nil
}

func (s *Sequential) Forward(ctx *Context, x Tensor) Tensor {
	for _, l := range s.Layers {
		x = l.Forward(ctx, x)
	}
	return x
}

func (s *Sequential) Backward(ctx *Context, dy Tensor, needDx bool) Tensor {
	for i := len(s.Layers) - 1; i >= 0; i-- {
		dy = s.Layers[i].Backward(ctx, dy, needDx || i > s.firstParam)
	}
	return dy
}

// Residual computes Main(x) + Shortcut(x); a nil Shortcut is the identity.
type Residual struct {
	name     string
	Main     Layer
	Shortcut Layer
	size     int
	in       []int
	y, dx    BatchBuffer
}

// NewResidual returns a residual connection around main.
func NewResidual(name string, main, shortcut Layer) *Residual {
	return &Residual{name: name, Main: main, Shortcut: shortcut}
}

func (r *Residual) Name() string { return r.name }

func (r *Residual) Build(b *Builder, in []int) ([]int, error) {
	out, err := r.Main.Build(b, in)
	if err != nil {
		return nil, err
	}
	sc := in
	if r.Shortcut != nil {
		if sc, err = r.Shortcut.Build(b, in); err != nil {
			return nil, err
		}
	}
	if !slices.Equal(out, sc) {
		return nil, fmt.Errorf("layer %s: main path gives %v but the shortcut gives %v; a projection shortcut is needed", r.name, out, sc)
	}
	r.in = append([]int(nil), in...)
	r.size = prod(out)
	return out, nil
}

func (r *Residual) Setup(ctx *Context, maxN int) (err error) {
	if err = r.Main.Setup(ctx, maxN); err != nil {
		return err
	}
	if r.Shortcut != nil {
		if err = r.Shortcut.Setup(ctx, maxN); err != nil {
			return err
		}
	}
	if err = r.y.Alloc(ctx, maxN, r.size); err != nil {
		return err
	}
	err = r.dx.Alloc(ctx, maxN, prod(r.in))
	return err
}

func (r *Residual) Forward(ctx *Context, x Tensor) Tensor {
	m := r.Main.Forward(ctx, x)
	s := x
	if r.Shortcut != nil {
		s = r.Shortcut.Forward(ctx, x)
	}
	y := r.y.First(x.N)
	ctx.Dev.Add(m.Buf, s.Buf, y)
	return Tensor{Buf: y, N: x.N, Shape: m.Shape}
}

func (r *Residual) Backward(ctx *Context, dy Tensor, needDx bool) Tensor {
	dm := r.Main.Backward(ctx, dy, needDx)
	ds := dy
	if r.Shortcut != nil {
		ds = r.Shortcut.Backward(ctx, dy, needDx)
	}
	dx := r.dx.First(dy.N)
	if needDx {
		ctx.Dev.Add(dm.Buf, ds.Buf, dx)
	}
	return Tensor{Buf: dx, N: dy.N, Shape: r.in}
}
