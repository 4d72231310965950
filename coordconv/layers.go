// Package coordconv is CoordConv (Liu et al., "An intriguing failing of convolutional neural
// networks and the CoordConv solution", NeurIPS 2018) on gaze's engine: the AddCoords, tiling,
// CoordConv, global max pooling and spatial softmax layers, the Not-so-Clevr data set, the
// models of the paper's three supervised toy tasks (coordinate classification, regression and
// rendering) and their conv baselines, and the runner that trains them and reports a table and
// plots.
//
// Conventions. A centre (x, y) is column x and row y of a 64×64 canvas; tensors are NCHW, so the
// one-hot pixel of (x, y) is at flat index y·64 + x. AddCoords appends the column channel before
// the row channel, each scaled by its own side (the original TensorFlow code scales both by the
// same side, which is wrong for non-square maps).
package coordconv

import (
	"fmt"
	"math"
	"slices"

	"github.com/gazeml/gaze/engine"
)

// AddCoords appends coordinate channels to a [C, H, W] map: the column index scaled to [−1, 1],
// the row index scaled to [−1, 1] and, with WithR, the distance r = √(xx² + yy²) from the centre.
// The coordinate channels are constants: only the C input channels receive gradient.
type AddCoords struct {
	name    string
	WithR   bool
	in, out []int
	y, dx   engine.BatchBuffer
}

// NewAddCoords returns an AddCoords layer.
func NewAddCoords(name string, withR bool) *AddCoords { return &AddCoords{name: name, WithR: withR} }

// Extra is the number of channels the layer appends (2, or 3 with the radius).
func (l *AddCoords) Extra() int {
	if l.WithR {
		return 3
	}
	return 2
}

func (l *AddCoords) Name() string { return l.name }

func (l *AddCoords) Build(b *engine.Builder, in []int) ([]int, error) {
	if len(in) != 3 || in[0] < 0 || in[1] < 1 || in[2] < 1 {
		return nil, fmt.Errorf("layer %s: input shape %v, want [C, H, W]", l.name, in)
	}
	l.in = append([]int(nil), in...)
	l.out = []int{in[0] + l.Extra(), in[1], in[2]}
	return l.out, nil
}

func (l *AddCoords) Setup(ctx *engine.Context, maxN int) error {
	if err := l.y.Alloc(ctx, maxN, prod(l.out)); err != nil {
		return err
	}
	// A map of coordinates alone (C = 0) has no input gradient; keep a token buffer.
	return l.dx.Alloc(ctx, maxN, max(prod(l.in), 1))
}

func (l *AddCoords) Forward(ctx *engine.Context, x engine.Tensor) engine.Tensor {
	y := l.y.First(x.N)
	ctx.Dev.AddCoords(x.Buf, y, x.N, l.in[0], l.in[1], l.in[2], l.WithR)
	return engine.Tensor{Buf: y, N: x.N, Shape: l.out}
}

func (l *AddCoords) Backward(ctx *engine.Context, dy engine.Tensor, needDx bool) engine.Tensor {
	dx := l.dx.First(dy.N)
	if needDx && l.in[0] > 0 {
		ctx.Dev.AddCoordsBackward(dy.Buf, dx, dy.N, l.in[0], l.in[1], l.in[2], l.WithR)
	}
	return engine.Tensor{Buf: dx, N: dy.N, Shape: l.in}
}

// Tile broadcasts a per-example vector of C values ([C] or [C, 1, 1]) over an H×W map, giving
// [C, H, W]: the first step of the CoordConv painter, which reads the coordinates it must paint
// from every pixel. Its backward pass sums the map's gradient.
type Tile struct {
	name    string
	H, W    int
	in, out []int
	y, dx   engine.BatchBuffer
}

// NewTile returns a tiling layer onto an h×w map.
func NewTile(name string, h, w int) *Tile { return &Tile{name: name, H: h, W: w} }

func (l *Tile) Name() string { return l.name }

func (l *Tile) Build(b *engine.Builder, in []int) ([]int, error) {
	ok := len(in) == 1 || (len(in) == 3 && in[1] == 1 && in[2] == 1)
	if !ok || in[0] < 1 {
		return nil, fmt.Errorf("layer %s: input shape %v, want [C] or [C, 1, 1]", l.name, in)
	}
	if l.H < 1 || l.W < 1 {
		return nil, fmt.Errorf("layer %s: impossible map %dx%d", l.name, l.H, l.W)
	}
	l.in = append([]int(nil), in...)
	l.out = []int{in[0], l.H, l.W}
	return l.out, nil
}

func (l *Tile) Setup(ctx *engine.Context, maxN int) error {
	if err := l.y.Alloc(ctx, maxN, prod(l.out)); err != nil {
		return err
	}
	return l.dx.Alloc(ctx, maxN, l.in[0])
}

func (l *Tile) Forward(ctx *engine.Context, x engine.Tensor) engine.Tensor {
	y := l.y.First(x.N)
	ctx.Dev.Tile(x.Buf, y, x.N, l.in[0], l.H*l.W)
	return engine.Tensor{Buf: y, N: x.N, Shape: l.out}
}

func (l *Tile) Backward(ctx *engine.Context, dy engine.Tensor, needDx bool) engine.Tensor {
	dx := l.dx.First(dy.N)
	if needDx {
		ctx.Dev.TileBackward(dy.Buf, dx, dy.N, l.in[0], l.H*l.W)
	}
	return engine.Tensor{Buf: dx, N: dy.N, Shape: l.in}
}

// NewCoordConv is a CoordConv: AddCoords followed by a k×k convolution with out channels. The
// convolution keeps the given name, so its parameters are name.weight [out, C+2(+1), k, k] and
// name.bias, and a CoordConv can replace a Conv2d of the same name in any model.
func NewCoordConv(name string, out, k, stride int, pad engine.Padding, bias, withR bool) engine.Layer {
	return engine.NewSequential(name+".coordconv",
		NewAddCoords(name+".addcoords", withR),
		engine.NewConv2d(name, out, k, stride, pad, bias))
}

// GlobalMaxPool takes the maximum of each channel of [C, H, W], giving [C, 1, 1]. It is MaxPool
// with one window covering the whole map, so the gradient goes to the first maximum.
type GlobalMaxPool struct {
	name    string
	geom    engine.PoolGeom
	in, out []int
	y, dx   engine.BatchBuffer
	x       engine.Tensor
}

// NewGlobalMaxPool returns a global max-pooling layer.
func NewGlobalMaxPool(name string) *GlobalMaxPool { return &GlobalMaxPool{name: name} }

func (l *GlobalMaxPool) Name() string { return l.name }

func (l *GlobalMaxPool) Build(b *engine.Builder, in []int) ([]int, error) {
	if len(in) != 3 || in[0] < 1 || in[1] < 1 || in[2] < 1 {
		return nil, fmt.Errorf("layer %s: input shape %v, want [C, H, W]", l.name, in)
	}
	l.geom = engine.PoolGeom{N: 1, C: in[0], H: in[1], W: in[2], KH: in[1], KW: in[2], StrideH: in[1], StrideW: in[2], OutH: 1, OutW: 1}
	if err := l.geom.Validate(); err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.name, err)
	}
	l.in = append([]int(nil), in...)
	l.out = []int{in[0], 1, 1}
	return l.out, nil
}

func (l *GlobalMaxPool) Setup(ctx *engine.Context, maxN int) error {
	if err := l.y.Alloc(ctx, maxN, l.in[0]); err != nil {
		return err
	}
	return l.dx.Alloc(ctx, maxN, prod(l.in))
}

func (l *GlobalMaxPool) Forward(ctx *engine.Context, x engine.Tensor) engine.Tensor {
	l.x = x
	g := l.geom
	g.N = x.N
	y := l.y.First(x.N)
	ctx.Dev.MaxPool(g, x.Buf, y)
	return engine.Tensor{Buf: y, N: x.N, Shape: l.out}
}

func (l *GlobalMaxPool) Backward(ctx *engine.Context, dy engine.Tensor, needDx bool) engine.Tensor {
	g := l.geom
	g.N = dy.N
	dx := l.dx.First(dy.N)
	if needDx {
		ctx.Dev.MaxPoolBackward(g, l.x.Buf, dy.Buf, dx)
	}
	return engine.Tensor{Buf: dx, N: dy.N, Shape: l.in}
}

// SpatialSoftmax turns each channel of [C, H, W] into a probability map (a softmax over its H·W
// pixels): the "sharpen" step between the CoordConv painter and the rendering convolutions.
// With Gain ≠ 1 it is the softmax of Gain·x: a gain above 1 is a temperature below 1, and a
// large one turns the map into (nearly) the one-hot of its maximum.
type SpatialSoftmax struct {
	name  string
	Gain  float64
	shape []int
	y, dx engine.BatchBuffer
	gx    engine.BatchBuffer // Gain·x, when Gain ≠ 1
	out   engine.Tensor
}

// NewSpatialSoftmax returns a spatial softmax layer (gain 1).
func NewSpatialSoftmax(name string) *SpatialSoftmax { return &SpatialSoftmax{name: name, Gain: 1} }

func (l *SpatialSoftmax) Name() string { return l.name }

func (l *SpatialSoftmax) Build(b *engine.Builder, in []int) ([]int, error) {
	if len(in) != 3 || in[0] < 1 || in[1] < 1 || in[2] < 1 {
		return nil, fmt.Errorf("layer %s: input shape %v, want [C, H, W]", l.name, in)
	}
	if !(l.Gain > 0) || math.IsInf(l.Gain, 0) {
		return nil, fmt.Errorf("layer %s: gain %v must be a finite number > 0", l.name, l.Gain)
	}
	l.shape = append([]int(nil), in...)
	return l.shape, nil
}

func (l *SpatialSoftmax) Setup(ctx *engine.Context, maxN int) error {
	if err := l.y.Alloc(ctx, maxN, prod(l.shape)); err != nil {
		return err
	}
	if l.Gain != 1 {
		if err := l.gx.Alloc(ctx, maxN, prod(l.shape)); err != nil {
			return err
		}
	}
	return l.dx.Alloc(ctx, maxN, prod(l.shape))
}

func (l *SpatialSoftmax) Forward(ctx *engine.Context, x engine.Tensor) engine.Tensor {
	y, in := l.y.First(x.N), x.Buf
	if l.Gain != 1 {
		in = l.gx.First(x.N)
		ctx.Dev.Copy(in, x.Buf)
		ctx.Dev.Scale(in, float32(l.Gain))
	}
	ctx.Dev.Softmax(in, y, x.N*l.shape[0], l.shape[1]*l.shape[2])
	l.out = engine.Tensor{Buf: y, N: x.N, Shape: l.shape}
	return l.out
}

func (l *SpatialSoftmax) Backward(ctx *engine.Context, dy engine.Tensor, needDx bool) engine.Tensor {
	dx := l.dx.First(dy.N)
	if needDx {
		ctx.Dev.SoftmaxBackward(l.out.Buf, dy.Buf, dx, dy.N*l.shape[0], l.shape[1]*l.shape[2])
		if l.Gain != 1 {
			ctx.Dev.Scale(dx, float32(l.Gain))
		}
	}
	return engine.Tensor{Buf: dx, N: dy.N, Shape: l.shape}
}

func prod(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}

// CentreLoss wraps the painter of the CoordConv renderer and adds Weight × the softmax
// cross-entropy between the painter's logits and the one-hot centre of the input coordinates:
// the intermediate loss of the authors' code (their -interm softmax). Without it, behind the
// spatial softmax the rendering convolutions pass almost no gradient to the painter, and both
// gaze and an independent PyTorch model (bench/torch/coordconv_renderer.py) stay at the
// all-background solution. The forward output is the painter's, unchanged; the term's gradient
// is scaled like the data loss's (Context.LossScale) and joins the gradient coming back from the
// rendering layers. It is not part of the loss Model.Batch returns: LastLoss reports it.
type CentreLoss struct {
	name   string
	Inner  engine.Layer
	Weight float64
	// Detach keeps the rendering layers' gradient out of the painter: only the centre loss
	// trains it.
	Detach bool
	w, hw  int
	labels engine.BatchBuffer
	losses engine.BatchBuffer
	dz     engine.BatchBuffer
	coef   engine.BatchBuffer // (1, W): label = x + W·y, one 2×1 GEMM for the batch
	n      int
}

// NewCentreLoss returns the painter wrapped with an intermediate loss of the given weight.
func NewCentreLoss(name string, painter engine.Layer, weight float64) *CentreLoss {
	return &CentreLoss{name: name, Inner: painter, Weight: weight}
}

func (l *CentreLoss) Name() string { return l.name }

func (l *CentreLoss) Build(b *engine.Builder, in []int) ([]int, error) {
	if len(in) != 3 || in[0] != 2 || in[1] != 1 || in[2] != 1 {
		return nil, fmt.Errorf("layer %s: input shape %v, want the coordinates [2, 1, 1]", l.name, in)
	}
	out, err := l.Inner.Build(b, in)
	if err != nil {
		return nil, err
	}
	if len(out) != 3 || out[0] != 1 {
		return nil, fmt.Errorf("layer %s: painter output %v, want one map [1, H, W]", l.name, out)
	}
	l.w, l.hw = out[2], out[1]*out[2]
	return out, nil
}

func (l *CentreLoss) Setup(ctx *engine.Context, maxN int) error {
	if err := l.Inner.Setup(ctx, maxN); err != nil {
		return err
	}
	for _, bb := range []struct {
		b   *engine.BatchBuffer
		per int
	}{{&l.labels, 1}, {&l.losses, 1}, {&l.dz, l.hw}} {
		if err := bb.b.Alloc(ctx, maxN, bb.per); err != nil {
			return err
		}
	}
	if err := l.coef.Alloc(ctx, 1, 2); err != nil {
		return err
	}
	ctx.Dev.Upload(l.coef.First(1), []float32{1, float32(l.w)})
	return nil
}

func (l *CentreLoss) Forward(ctx *engine.Context, x engine.Tensor) engine.Tensor {
	z := l.Inner.Forward(ctx, x)
	n := x.N
	labels := l.labels.First(n)
	ctx.Dev.Gemm(false, false, n, 1, 2, 1, x.Buf, 2, l.coef.First(1), 1, 0, labels, 1)
	ctx.Dev.SoftmaxXent(z.Buf, labels, l.losses.First(n), l.dz.First(n), n, l.hw, float32(l.Weight*ctx.LossScale))
	l.n = n
	return z
}

func (l *CentreLoss) Backward(ctx *engine.Context, dy engine.Tensor, needDx bool) engine.Tensor {
	dz := l.dz.First(dy.N)
	if !l.Detach {
		ctx.Dev.Axpy(1, dy.Buf, dz)
	}
	return l.Inner.Backward(ctx, engine.Tensor{Buf: dz, N: dy.N, Shape: dy.Shape}, needDx)
}

// LastLoss is the mean cross-entropy of the latest forward pass (without the weight).
func (l *CentreLoss) LastLoss(dev engine.Device) float64 {
	if l.n == 0 {
		return 0
	}
	v := make([]float32, l.n)
	dev.Download(v, l.losses.First(l.n))
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(l.n)
}

// NormCoords scales the painters' integer input coordinates (x, y) the way AddCoords scales its
// channels, to 2x/(W−1) − 1 and 2y/(H−1) − 1 in [−1, 1]. Without it the first 1×1 convolution
// sees the centre in pixels (4…59) beside coordinate channels in [−1, 1]: Adam moves every
// weight by about lr a step, so a step on a centre weight moves the painted peak some 30 times
// further than one on a channel weight (a pixel is 2/63 of a channel's range) and the peak jumps
// by pixels at the paper's learning rates. Parameter-free: the model keeps its parameters.
type NormCoords struct {
	name  string
	H, W  int
	shape []int
	y, dx engine.BatchBuffer
	diag  engine.BatchBuffer // the 2×2 diagonal of the scales
	shift engine.BatchBuffer // (−1, −1)
}

// NewNormCoords returns the coordinate scaling for an h×w map.
func NewNormCoords(name string, h, w int) *NormCoords { return &NormCoords{name: name, H: h, W: w} }

func (l *NormCoords) Name() string { return l.name }

func (l *NormCoords) Build(b *engine.Builder, in []int) ([]int, error) {
	if !slices.Equal(in, []int{2}) && !slices.Equal(in, []int{2, 1, 1}) {
		return nil, fmt.Errorf("layer %s: input shape %v, want the coordinates [2] or [2, 1, 1]", l.name, in)
	}
	if l.H < 2 || l.W < 2 {
		return nil, fmt.Errorf("layer %s: impossible map %dx%d (each side needs 2 pixels to span [−1, 1])", l.name, l.H, l.W)
	}
	l.shape = append([]int(nil), in...)
	return l.shape, nil
}

func (l *NormCoords) Setup(ctx *engine.Context, maxN int) error {
	for _, bb := range []struct {
		b      *engine.BatchBuffer
		n, per int
	}{{&l.y, maxN, 2}, {&l.dx, maxN, 2}, {&l.diag, 1, 4}, {&l.shift, 1, 2}} {
		if err := bb.b.Alloc(ctx, bb.n, bb.per); err != nil {
			return err
		}
	}
	ctx.Dev.Upload(l.diag.First(1), []float32{2 / float32(l.W-1), 0, 0, 2 / float32(l.H-1)})
	ctx.Dev.Upload(l.shift.First(1), []float32{-1, -1})
	return nil
}

func (l *NormCoords) Forward(ctx *engine.Context, x engine.Tensor) engine.Tensor {
	y := l.y.First(x.N)
	ctx.Dev.Gemm(false, false, x.N, 2, 2, 1, x.Buf, 2, l.diag.First(1), 2, 0, y, 2)
	ctx.Dev.BiasAdd(y, l.shift.First(1), x.N, 2, 1)
	return engine.Tensor{Buf: y, N: x.N, Shape: l.shape}
}

func (l *NormCoords) Backward(ctx *engine.Context, dy engine.Tensor, needDx bool) engine.Tensor {
	dx := l.dx.First(dy.N)
	if needDx {
		ctx.Dev.Gemm(false, false, dy.N, 2, 2, 1, dy.Buf, 2, l.diag.First(1), 2, 0, dx, 2)
	}
	return engine.Tensor{Buf: dx, N: dy.N, Shape: l.shape}
}
