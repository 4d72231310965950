package engine

import "fmt"

// Padding selects how a convolution pads its input.
type Padding struct {
	Same bool // TensorFlow's "same": output = ceil(in/stride), the odd pixel after
	Pad  int  // explicit symmetric padding when Same is false
}

// Valid is no padding; Same is TensorFlow's "same".
var (
	Valid = Padding{}
	Same  = Padding{Same: true}
)

// Pad returns explicit symmetric padding p.
func Pad(p int) Padding { return Padding{Pad: p} }

// Conv2d is a 2-D convolution (cross-correlation) with weight [K, C, R, S].
type Conv2d struct {
	name           string
	K, R, S        int
	Stride         int
	Padding        Padding
	HasBias        bool
	geom           ConvGeom // with N = 0; filled per batch
	w, b           int
	y, dx          BatchBuffer
	x              Tensor
	inShape, shape []int
}

// NewConv2d returns a k×k convolution with out channels.
func NewConv2d(name string, out, k, stride int, pad Padding, bias bool) *Conv2d {
	return &Conv2d{name: name, K: out, R: k, S: k, Stride: stride, Padding: pad, HasBias: bias}
}

func (l *Conv2d) Name() string { return l.name }

func (l *Conv2d) Build(b *Builder, in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, shapeErr(l, in, "[C, H, W]")
	}
	if l.K < 1 || l.R < 1 || l.S < 1 || l.Stride < 1 || l.Padding.Pad < 0 {
		return nil, fmt.Errorf("layer %s: impossible convolution (out %d, kernel %dx%d, stride %d, pad %d)", l.name, l.K, l.R, l.S, l.Stride, l.Padding.Pad)
	}
	g := ConvGeom{N: 1, C: in[0], H: in[1], W: in[2], K: l.K, R: l.R, S: l.S, StrideH: l.Stride, StrideW: l.Stride}
	if l.Padding.Same {
		var ah, aw int
		g.PadH, ah = SamePadding(g.H, g.R, l.Stride)
		g.PadW, aw = SamePadding(g.W, g.S, l.Stride)
		g.OutH = ConvOutSize(g.H, g.R, l.Stride, g.PadH, ah)
		g.OutW = ConvOutSize(g.W, g.S, l.Stride, g.PadW, aw)
	} else {
		g.PadH, g.PadW = l.Padding.Pad, l.Padding.Pad
		g.OutH = ConvOutSize(g.H, g.R, l.Stride, g.PadH, g.PadH)
		g.OutW = ConvOutSize(g.W, g.S, l.Stride, g.PadW, g.PadW)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("layer %s on input %v: %w", l.name, in, err)
	}
	l.geom = g
	var err error
	if l.w, err = b.Param(l.name, "weight", Weight, []int{l.K, g.C, l.R, l.S}, g.C*l.R*l.S, 0); err != nil {
		return nil, err
	}
	if l.HasBias {
		if l.b, err = b.Param(l.name, "bias", Bias, []int{l.K}, 0, 0); err != nil {
			return nil, err
		}
	}
	l.inShape = append([]int(nil), in...)
	l.shape = []int{l.K, g.OutH, g.OutW}
	return l.shape, nil
}

func (l *Conv2d) Setup(ctx *Context, maxN int) (err error) {
	if err = l.y.Alloc(ctx, maxN, prod(l.shape)); err != nil {
		return err
	}
	err = l.dx.Alloc(ctx, maxN, prod(l.inShape))
	return err
}

// Geom is the layer's geometry for a batch of n.
func (l *Conv2d) Geom(n int) ConvGeom { g := l.geom; g.N = n; return g }

func (l *Conv2d) Forward(ctx *Context, x Tensor) Tensor {
	l.x = x
	g := l.Geom(x.N)
	y := l.y.First(g.N)
	ctx.Dev.ConvForward(g, x.Buf, ctx.Arena.View(l.w), y)
	if l.HasBias {
		ctx.Dev.BiasAdd(y, ctx.Arena.View(l.b), g.N, g.K, g.OutH*g.OutW)
	}
	return Tensor{Buf: y, N: x.N, Shape: l.shape}
}

func (l *Conv2d) Backward(ctx *Context, dy Tensor, needDx bool) Tensor {
	dx := l.dx.First(dy.N)
	l.backward(ctx, dy, needDx, dx, 0)
	return Tensor{Buf: dx, N: dy.N, Shape: l.inShape}
}

// backward accumulates the parameter gradients and, with needDx, sets dx = beta·dx + the input
// gradient (beta 1: a Residual's sum of its two paths' gradients, see Residual.acc).
func (l *Conv2d) backward(ctx *Context, dy Tensor, needDx bool, dx Buffer, beta float32) {
	g := l.Geom(dy.N)
	d := ctx.Dev
	d.ConvBackwardFilter(g, l.x.Buf, dy.Buf, ctx.Arena.GradView(l.w))
	if l.HasBias {
		d.BiasGrad(dy.Buf, ctx.Arena.GradView(l.b), g.N, g.K, g.OutH*g.OutW)
	}
	if needDx {
		d.ConvBackwardData(g, dy.Buf, ctx.Arena.View(l.w), dx, beta)
	}
}

// ConvTranspose2d is a transposed convolution (the gradient of a convolution with respect to
// its input), with weight [Cin, Cout, k, k] as in PyTorch. With Same padding and stride s the
// output is s times the input, padded as TensorFlow's conv2d_transpose(padding="SAME") does.
type ConvTranspose2d struct {
	name           string
	Out, Kern      int
	Stride         int
	HasBias        bool
	geom           ConvGeom // the forward convolution from output space to input space
	w, b           int
	y, dx          BatchBuffer
	x              Tensor
	inShape, shape []int
}

// NewConvTranspose2d returns a k×k transposed convolution with "same" padding.
func NewConvTranspose2d(name string, out, k, stride int, bias bool) *ConvTranspose2d {
	return &ConvTranspose2d{name: name, Out: out, Kern: k, Stride: stride, HasBias: bias}
}

func (l *ConvTranspose2d) Name() string { return l.name }

func (l *ConvTranspose2d) Build(b *Builder, in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, shapeErr(l, in, "[C, H, W]")
	}
	if l.Out < 1 || l.Kern < 1 || l.Stride < 1 {
		return nil, fmt.Errorf("layer %s: impossible transposed convolution (out %d, kernel %d, stride %d)", l.name, l.Out, l.Kern, l.Stride)
	}
	oh, ow := in[1]*l.Stride, in[2]*l.Stride
	ph, _ := SamePadding(oh, l.Kern, l.Stride)
	pw, _ := SamePadding(ow, l.Kern, l.Stride)
	g := ConvGeom{N: 1, C: l.Out, H: oh, W: ow, K: in[0], R: l.Kern, S: l.Kern, StrideH: l.Stride, StrideW: l.Stride, PadH: ph, PadW: pw, OutH: in[1], OutW: in[2]}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("layer %s on input %v: %w", l.name, in, err)
	}
	l.geom = g
	var err error
	// PyTorch and TensorFlow both take the fan-in of a transposed convolution as Cout·k·k.
	if l.w, err = b.Param(l.name, "weight", Weight, []int{in[0], l.Out, l.Kern, l.Kern}, l.Out*l.Kern*l.Kern, 0); err != nil {
		return nil, err
	}
	if l.HasBias {
		if l.b, err = b.Param(l.name, "bias", Bias, []int{l.Out}, 0, 0); err != nil {
			return nil, err
		}
	}
	l.inShape = append([]int(nil), in...)
	l.shape = []int{l.Out, oh, ow}
	return l.shape, nil
}

func (l *ConvTranspose2d) Setup(ctx *Context, maxN int) (err error) {
	if err = l.y.Alloc(ctx, maxN, prod(l.shape)); err != nil {
		return err
	}
	err = l.dx.Alloc(ctx, maxN, prod(l.inShape))
	return err
}

func (l *ConvTranspose2d) Forward(ctx *Context, x Tensor) Tensor {
	l.x = x
	g := l.geom
	g.N = x.N
	y := l.y.First(g.N)
	ctx.Dev.ConvBackwardData(g, x.Buf, ctx.Arena.View(l.w), y, 0)
	if l.HasBias {
		ctx.Dev.BiasAdd(y, ctx.Arena.View(l.b), g.N, l.Out, g.H*g.W)
	}
	return Tensor{Buf: y, N: x.N, Shape: l.shape}
}

func (l *ConvTranspose2d) Backward(ctx *Context, dy Tensor, needDx bool) Tensor {
	g := l.geom
	g.N = dy.N
	d := ctx.Dev
	// Roles swap: the output gradient lives in the convolution's input space.
	d.ConvBackwardFilter(g, dy.Buf, l.x.Buf, ctx.Arena.GradView(l.w))
	if l.HasBias {
		d.BiasGrad(dy.Buf, ctx.Arena.GradView(l.b), g.N, l.Out, g.H*g.W)
	}
	dx := l.dx.First(g.N)
	if needDx {
		d.ConvForward(g, dy.Buf, ctx.Arena.View(l.w), dx)
	}
	return Tensor{Buf: dx, N: dy.N, Shape: l.inShape}
}
