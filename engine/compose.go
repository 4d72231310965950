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
	if fusion {
		s.fuse()
	}
	return cur, nil
}

// fusion lets Sequential.Build fuse layers (tests turn it off to compare with the separate ops).
var fusion = true

// fuse hands each ReLU that follows a BatchNorm2d, or a Residual whose main path ends in one, to
// that batch norm, and each other ReLU that a max pool follows to the pool. The batch norm:
// BatchNormTrainReLU normalises, adds the shortcut and takes the ReLU in one pass over the
// activations, and BatchNormBackwardReLU masks the gradient in its sums pass, with the bits of
// the separate ops. The ReLU layer stays (names and shapes are unchanged) and passes its input
// and gradient through.
func (s *Sequential) fuse() {
	for i := 0; i+1 < len(s.Layers); i++ {
		relu, ok := s.Layers[i+1].(*ReLU)
		if !ok || relu.fused {
			continue
		}
		var bn *BatchNorm2d
		switch l := s.Layers[i].(type) {
		case *BatchNorm2d:
			bn = l
		case *Residual:
			bn = l.fuseReLU()
		}
		if bn != nil && !bn.relu {
			bn.relu, relu.fused = true, true
		}
	}
	// A ReLU before a max pool (the LeNets' conv, ReLU, pool) moves past it: max commutes with
	// the ReLU, so the pool takes the pre-activations and applies the ReLU to its output, a
	// quarter of the elements with 2×2 windows; see Pool2d.relu for the gradient.
	for i := 0; i+1 < len(s.Layers); i++ {
		relu, ok := s.Layers[i].(*ReLU)
		if !ok || relu.fused {
			continue
		}
		if pool, ok := s.Layers[i+1].(*Pool2d); ok && pool.Kind == MaxPooling && !pool.relu {
			pool.relu, relu.fused = true, true
		}
	}
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
	return s.backwardTo(ctx, dy, needDx, 0)
}

// backwardTo runs the backward passes of the layers from the last down to layer stop and
// returns stop's input gradient (stop 1: the gradient Layers[0] takes).
func (s *Sequential) backwardTo(ctx *Context, dy Tensor, needDx bool, stop int) Tensor {
	for i := len(s.Layers) - 1; i >= stop; i-- {
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
	// bn, when the ReLU after this layer is fused (Sequential.fuse): the batch norm that ends
	// Main, which adds the shortcut and applies the ReLU; the sum is then its output.
	bn *BatchNorm2d
	// acc (see addTarget): Main's first layer, a convolution whose backward data pass adds its
	// input gradient onto the shortcut's (beta 1), which is then this layer's input gradient.
	// It saves the pass that adds the two (three tensors of memory traffic, 2.5 % of resnet20's
	// CPU step), with the same bits where the convolution's output store adds (dm + ds).
	acc *Conv2d
}

// fuseReLU returns the batch norm that ends Main, which can take the shortcut's add and the ReLU
// after this layer, or nil when Main ends otherwise.
func (r *Residual) fuseReLU() *BatchNorm2d {
	main, ok := r.Main.(*Sequential)
	if !ok || len(main.Layers) == 0 {
		return nil
	}
	bn, ok := main.Layers[len(main.Layers)-1].(*BatchNorm2d)
	if !ok || bn.relu {
		return nil
	}
	r.bn = bn
	return bn
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

// addTarget returns Main's first layer when it is a convolution that can add its input gradient
// onto the shortcut's, and the shortcut's gradient is a buffer nothing else reads afterwards:
// the fused batch norm's dz (an identity shortcut), or the input gradient of a convolution that
// starts the shortcut (a projection). Otherwise (or with fusion off) nil: Backward adds.
func (r *Residual) addTarget() *Conv2d {
	main, ok := r.Main.(*Sequential)
	if !fusion || !ok || len(main.Layers) < 2 {
		return nil
	}
	conv, ok := main.Layers[0].(*Conv2d)
	if !ok {
		return nil
	}
	sc := r.Shortcut
	if s, ok := sc.(*Sequential); ok && len(s.Layers) > 0 {
		sc = s.Layers[0]
	}
	if _, ok := sc.(*Conv2d); ok || (r.Shortcut == nil && r.bn != nil) {
		return conv
	}
	return nil
}

func (r *Residual) Setup(ctx *Context, maxN int) (err error) {
	r.acc = r.addTarget() // after Build and the enclosing Sequential's fusion
	if err = r.Main.Setup(ctx, maxN); err != nil {
		return err
	}
	if r.Shortcut != nil {
		if err = r.Shortcut.Setup(ctx, maxN); err != nil {
			return err
		}
	}
	if r.bn == nil { // (fused, the sum is the batch norm's output)
		if err = r.y.Alloc(ctx, maxN, r.size); err != nil {
			return err
		}
	}
	if r.acc == nil { // (with acc the input gradient is the shortcut's buffer)
		err = r.dx.Alloc(ctx, maxN, prod(r.in))
	}
	return err
}

func (r *Residual) Forward(ctx *Context, x Tensor) Tensor {
	if r.bn != nil {
		// The shortcut first: Main's last batch norm adds it (and takes the ReLU).
		s := x
		if r.Shortcut != nil {
			s = r.Shortcut.Forward(ctx, x)
		}
		r.bn.res = s.Buf
		return r.Main.Forward(ctx, x)
	}
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
	if r.acc != nil && needDx {
		// Main but its first convolution, the shortcut, then the convolution's input gradient
		// added onto the shortcut's.
		dm := r.Main.(*Sequential).backwardTo(ctx, dy, true, 1)
		ds := r.shortcutBackward(ctx, dy, true)
		r.acc.backward(ctx, dm, true, ds.Buf, 1)
		return Tensor{Buf: ds.Buf, N: dy.N, Shape: r.in}
	}
	dm := r.Main.Backward(ctx, dy, needDx)
	ds := r.shortcutBackward(ctx, dy, needDx)
	if r.acc != nil {
		// Without needDx nothing reads the input gradient; the shortcut's buffer stands in.
		return Tensor{Buf: ds.Buf, N: dy.N, Shape: r.in}
	}
	dx := r.dx.First(dy.N)
	if needDx {
		ctx.Dev.Add(dm.Buf, ds.Buf, dx)
	}
	return Tensor{Buf: dx, N: dy.N, Shape: r.in}
}

// shortcutBackward returns the gradient of the shortcut's input (after Main's backward pass,
// which with a fused batch norm leaves the sum's gradient in its dz).
func (r *Residual) shortcutBackward(ctx *Context, dy Tensor, needDx bool) Tensor {
	ds := dy
	if r.bn != nil {
		// dy is the gradient of the ReLU's output; the sum's is the batch norm's dz.
		ds = Tensor{Buf: r.bn.dz.First(dy.N), N: dy.N, Shape: dy.Shape}
	}
	if r.Shortcut != nil {
		ds = r.Shortcut.Backward(ctx, ds, needDx)
	}
	return ds
}
