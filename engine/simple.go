package engine

import "fmt"

// ReLU is max(x, 0).
type ReLU struct {
	name  string
	size  int
	y, dx BatchBuffer
	out   Tensor
	// fused: the layer before applies this ReLU and its gradient (Sequential.Build fused the
	// pair), so that this one passes its input and gradient through.
	fused bool
}

// NewReLU returns a ReLU layer.
func NewReLU(name string) *ReLU { return &ReLU{name: name} }

func (l *ReLU) Name() string { return l.name }
func (l *ReLU) Build(b *Builder, in []int) ([]int, error) {
	l.size = prod(in)
	return in, nil
}
func (l *ReLU) Setup(ctx *Context, maxN int) (err error) {
	if l.fused {
		return nil
	}
	if err = l.y.Alloc(ctx, maxN, l.size); err != nil {
		return err
	}
	err = l.dx.Alloc(ctx, maxN, l.size)
	return err
}
func (l *ReLU) Forward(ctx *Context, x Tensor) Tensor {
	if l.fused {
		return x
	}
	y := l.y.First(x.N)
	ctx.Dev.Relu(x.Buf, y)
	l.out = Tensor{Buf: y, N: x.N, Shape: x.Shape}
	return l.out
}
func (l *ReLU) Backward(ctx *Context, dy Tensor, needDx bool) Tensor {
	if l.fused {
		return dy
	}
	dx := l.dx.First(dy.N)
	if needDx {
		ctx.Dev.ReluBackward(l.out.Buf, dy.Buf, dx)
	}
	return Tensor{Buf: dx, N: dy.N, Shape: dy.Shape}
}

// Flatten reshapes [C, H, W] to [C·H·W] without copying.
type Flatten struct {
	name    string
	in, out []int
}

// NewFlatten returns a Flatten layer.
func NewFlatten(name string) *Flatten { return &Flatten{name: name} }

func (l *Flatten) Name() string { return l.name }
func (l *Flatten) Build(b *Builder, in []int) ([]int, error) {
	l.in = append([]int(nil), in...)
	l.out = []int{prod(in)}
	return l.out, nil
}
func (l *Flatten) Setup(ctx *Context, maxN int) error { return nil }
func (l *Flatten) Forward(ctx *Context, x Tensor) Tensor {
	return Tensor{Buf: x.Buf, N: x.N, Shape: l.out}
}
func (l *Flatten) Backward(ctx *Context, dy Tensor, needDx bool) Tensor {
	return Tensor{Buf: dy.Buf, N: dy.N, Shape: l.in}
}

// Dropout zeroes each element with probability P during training and scales the survivors by
// 1/(1-P) (inverted dropout); it is the identity otherwise. Masks come from the counter-based
// RNG keyed by (run seed, layer, step), so a resumed run draws the same masks.
type Dropout struct {
	name   string
	P      float32
	size   int
	id     uint64
	y, dx  BatchBuffer
	mask   BatchBuffer
	active bool
}

// NewDropout returns a dropout layer with drop probability p.
func NewDropout(name string, p float32) *Dropout { return &Dropout{name: name, P: p} }

func (l *Dropout) Name() string { return l.name }
func (l *Dropout) Build(b *Builder, in []int) ([]int, error) {
	if l.P < 0 || l.P >= 1 {
		return nil, fmt.Errorf("layer %s: dropout probability %v must be in [0, 1)", l.name, l.P)
	}
	l.size = prod(in)
	// Each dropout layer gets its own stream: hash its name.
	h := uint64(14695981039346656037)
	for _, c := range []byte(l.name) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	l.id = h
	return in, nil
}
func (l *Dropout) Setup(ctx *Context, maxN int) (err error) {
	if err = l.y.Alloc(ctx, maxN, l.size); err != nil {
		return err
	}
	if err = l.dx.Alloc(ctx, maxN, l.size); err != nil {
		return err
	}
	err = l.mask.Alloc(ctx, maxN, l.size)
	return err
}
func (l *Dropout) Forward(ctx *Context, x Tensor) Tensor {
	l.active = ctx.Mode.Dropout && l.P > 0
	if !l.active {
		return x
	}
	y := l.y.First(x.N)
	// Offsets step by 2^32 per iteration: no batch of a layer has 4G elements. In a captured
	// graph the offset is read from the graph's per-step slot (the same value, written before
	// each launch).
	if ctx.graph != nil {
		ctx.graph.cap.DropoutVar(x.Buf, l.mask.First(x.N), y, l.P, ctx.Seed^l.id, ctx.graph.dropoutVars())
	} else {
		ctx.Dev.Dropout(x.Buf, l.mask.First(x.N), y, l.P, ctx.Seed^l.id, ctx.Step<<32)
	}
	return Tensor{Buf: y, N: x.N, Shape: x.Shape}
}
func (l *Dropout) Backward(ctx *Context, dy Tensor, needDx bool) Tensor {
	if !l.active {
		return dy
	}
	dx := l.dx.First(dy.N)
	if needDx {
		ctx.Dev.Mul(dy.Buf, l.mask.First(dy.N), dx)
	}
	return Tensor{Buf: dx, N: dy.N, Shape: dy.Shape}
}
