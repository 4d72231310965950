package engine

import "fmt"

// PoolKind selects max or average pooling.
type PoolKind int

const (
	MaxPooling PoolKind = iota
	AvgPooling
)

// Pool2d is max or average pooling with a k×k window.
type Pool2d struct {
	name           string
	Kind           PoolKind
	K, Stride, Pad int
	geom           PoolGeom
	y, dx          BatchBuffer
	x              Tensor
	inShape, shape []int
	// relu: the ReLU before this max pool is applied here (Sequential.Build fused the pair):
	// y = ReLU(maxpool(x)), which is maxpool(ReLU(x)) exactly. The gradient is masked where
	// y ≤ 0 (into dyr) and routed to the window's maximum of x: where that maximum is
	// positive it is also ReLU(x)'s (same values, same ties), and elsewhere the separate ops'
	// ReLU backward zeroes whatever the pool routed. So the bits are those of the separate
	// layers, for two passes over a quarter of the elements instead of the whole input.
	relu bool
	dyr  BatchBuffer
}

// NewMaxPool2d returns a max-pooling layer (stride defaults to k when 0).
func NewMaxPool2d(name string, k, stride, pad int) *Pool2d {
	return &Pool2d{name: name, Kind: MaxPooling, K: k, Stride: stride, Pad: pad}
}

// NewAvgPool2d returns an average-pooling layer (stride defaults to k when 0).
func NewAvgPool2d(name string, k, stride, pad int) *Pool2d {
	return &Pool2d{name: name, Kind: AvgPooling, K: k, Stride: stride, Pad: pad}
}

func (l *Pool2d) Name() string { return l.name }

func (l *Pool2d) Build(b *Builder, in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, shapeErr(l, in, "[C, H, W]")
	}
	if l.Stride == 0 {
		l.Stride = l.K
	}
	if l.K < 1 || l.Stride < 1 || l.Pad < 0 {
		return nil, fmt.Errorf("layer %s: impossible pooling (window %d, stride %d, pad %d)", l.name, l.K, l.Stride, l.Pad)
	}
	g := PoolGeom{N: 1, C: in[0], H: in[1], W: in[2], KH: l.K, KW: l.K, StrideH: l.Stride, StrideW: l.Stride, PadH: l.Pad, PadW: l.Pad}
	g.OutH = ConvOutSize(g.H, l.K, l.Stride, l.Pad, l.Pad)
	g.OutW = ConvOutSize(g.W, l.K, l.Stride, l.Pad, l.Pad)
	if g.H+2*l.Pad < l.K || g.W+2*l.Pad < l.K {
		g.OutH, g.OutW = 0, 0
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("layer %s on input %v: %w", l.name, in, err)
	}
	l.geom = g
	l.inShape = append([]int(nil), in...)
	l.shape = []int{g.C, g.OutH, g.OutW}
	return l.shape, nil
}

func (l *Pool2d) Setup(ctx *Context, maxN int) (err error) {
	if err = l.y.Alloc(ctx, maxN, prod(l.shape)); err != nil {
		return err
	}
	if err = l.dx.Alloc(ctx, maxN, prod(l.inShape)); err != nil {
		return err
	}
	if l.relu {
		err = l.dyr.Alloc(ctx, maxN, prod(l.shape))
	}
	return err
}

func (l *Pool2d) Forward(ctx *Context, x Tensor) Tensor {
	l.x = x
	g := l.geom
	g.N = x.N
	y := l.y.First(g.N)
	if l.Kind == MaxPooling {
		ctx.Dev.MaxPool(g, x.Buf, y)
		if l.relu {
			ctx.Dev.Relu(y, y)
		}
	} else {
		ctx.Dev.AvgPool(g, x.Buf, y)
	}
	return Tensor{Buf: y, N: x.N, Shape: l.shape}
}

func (l *Pool2d) Backward(ctx *Context, dy Tensor, needDx bool) Tensor {
	g := l.geom
	g.N = dy.N
	dx := l.dx.First(g.N)
	if needDx {
		if l.Kind == MaxPooling {
			if l.relu {
				dyr := l.dyr.First(g.N)
				ctx.Dev.ReluBackward(l.y.First(g.N), dy.Buf, dyr)
				dy.Buf = dyr
			}
			ctx.Dev.MaxPoolBackward(g, l.x.Buf, dy.Buf, dx)
		} else {
			ctx.Dev.AvgPoolBackward(g, dy.Buf, dx)
		}
	}
	return Tensor{Buf: dx, N: dy.N, Shape: l.inShape}
}

// GlobalAvgPool averages each channel of [C, H, W] to [C].
type GlobalAvgPool struct {
	name  string
	in    []int
	out   []int
	y, dx BatchBuffer
}

// NewGlobalAvgPool returns a global average-pooling layer.
func NewGlobalAvgPool(name string) *GlobalAvgPool { return &GlobalAvgPool{name: name} }

func (l *GlobalAvgPool) Name() string { return l.name }
func (l *GlobalAvgPool) Build(b *Builder, in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, shapeErr(l, in, "[C, H, W]")
	}
	l.in = append([]int(nil), in...)
	l.out = []int{in[0]}
	return l.out, nil
}
func (l *GlobalAvgPool) Setup(ctx *Context, maxN int) (err error) {
	if err = l.y.Alloc(ctx, maxN, l.in[0]); err != nil {
		return err
	}
	err = l.dx.Alloc(ctx, maxN, prod(l.in))
	return err
}
func (l *GlobalAvgPool) Forward(ctx *Context, x Tensor) Tensor {
	c, hw := l.in[0], l.in[1]*l.in[2]
	y := l.y.First(x.N)
	ctx.Dev.GlobalAvgPool(x.Buf, y, x.N, c, hw)
	return Tensor{Buf: y, N: x.N, Shape: l.out}
}
func (l *GlobalAvgPool) Backward(ctx *Context, dy Tensor, needDx bool) Tensor {
	c, hw := l.in[0], l.in[1]*l.in[2]
	dx := l.dx.First(dy.N)
	if needDx {
		ctx.Dev.GlobalAvgPoolBackward(dy.Buf, dx, dy.N, c, hw)
	}
	return Tensor{Buf: dx, N: dy.N, Shape: l.in}
}
