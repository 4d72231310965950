package engine

// Linear is y = x·Wᵀ + b with W of shape [out, in] (PyTorch's layout).
type Linear struct {
	name    string
	In, Out int
	HasBias bool
	w, b    int // arena indices
	y, dx   BatchBuffer
	x       Tensor
	shape   []int // [Out], kept so Forward does not allocate
}

// NewLinear returns a fully connected layer with out units.
func NewLinear(name string, out int, bias bool) *Linear {
	return &Linear{name: name, Out: out, HasBias: bias}
}

func (l *Linear) Name() string { return l.name }

func (l *Linear) Build(b *Builder, in []int) ([]int, error) {
	if len(in) != 1 || l.Out < 1 {
		return nil, shapeErr(l, in, "a flat vector (add a Flatten) and out ≥ 1")
	}
	l.In = in[0]
	var err error
	if l.w, err = b.Param(l.name, "weight", Weight, []int{l.Out, l.In}, l.In, 0); err != nil {
		return nil, err
	}
	if l.HasBias {
		if l.b, err = b.Param(l.name, "bias", Bias, []int{l.Out}, 0, 0); err != nil {
			return nil, err
		}
	}
	l.shape = []int{l.Out}
	return l.shape, nil
}

func (l *Linear) Setup(ctx *Context, maxN int) (err error) {
	if err = l.y.Alloc(ctx, maxN, l.Out); err != nil {
		return err
	}
	err = l.dx.Alloc(ctx, maxN, l.In)
	return err
}

func (l *Linear) Forward(ctx *Context, x Tensor) Tensor {
	l.x = x
	n := x.N
	y := l.y.First(n)
	ctx.Dev.Gemm(false, true, n, l.Out, l.In, 1, x.Buf, l.In, ctx.Arena.View(l.w), l.In, 0, y, l.Out)
	if l.HasBias {
		ctx.Dev.BiasAdd(y, ctx.Arena.View(l.b), n, l.Out, 1)
	}
	return Tensor{Buf: y, N: n, Shape: l.shape}
}

func (l *Linear) Backward(ctx *Context, dy Tensor, needDx bool) Tensor {
	n := dy.N
	d := ctx.Dev
	d.Gemm(true, false, l.Out, l.In, n, 1, dy.Buf, l.Out, l.x.Buf, l.In, 1, ctx.Arena.GradView(l.w), l.In)
	if l.HasBias {
		d.BiasGrad(dy.Buf, ctx.Arena.GradView(l.b), n, l.Out, 1)
	}
	dx := l.dx.First(n)
	if needDx {
		d.Gemm(false, false, n, l.In, l.Out, 1, dy.Buf, l.Out, ctx.Arena.View(l.w), l.In, 0, dx, l.In)
	}
	return Tensor{Buf: dx, N: n, Shape: l.x.Shape}
}
