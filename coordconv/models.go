package coordconv

import (
	"fmt"
	"math"

	"github.com/gazeml/gaze/engine"
)

// Batch-norm settings of the paper's code (TensorFlow momentum 0.9 is PyTorch's 0.1).
const (
	bnMomentum = 0.1
	bnEps      = 1e-5
)

// Models lists the model kinds: the CoordConv model of each task and its conv baseline.
var Models = []string{"coordconv", "conv"}

// ModelOptions are the baseline's width multiplier and filter size (the paper sweeps both for the
// deconv painter); zero values mean m = 1, fs = 3.
type ModelOptions struct {
	Mul int // width multiplier m
	FS  int // filter size fs of the transposed convolutions
	// Interm, for the CoordConv renderer, weighs an intermediate softmax loss of the painter's
	// logits against the centre (CentreLoss); 0, the model, leaves it out.
	Interm float64 `json:"interm,omitempty"`
	// Gain, for the CoordConv renderer, multiplies the painter's logits before the spatial
	// softmax (a softmax temperature of 1/Gain); 0 means 1, the paper's.
	Gain float64 `json:"gain,omitempty"`
	// RenderFS is the filter size of the CoordConv renderer's rendering convolutions; 0 means
	// 3, the paper's (the authors' logged runs used 1).
	RenderFS int `json:"render_fs,omitempty"`
	// NormCoords, for the CoordConv painters (classification and rendering), scales the input
	// coordinates to [−1, 1] as AddCoords scales its channels (NormCoords); the paper feeds them
	// in pixels.
	NormCoords bool `json:"norm_coords,omitempty"`
	// Detach, for the CoordConv renderer with Interm > 0, trains the painter by the centre
	// loss alone (CentreLoss.Detach).
	Detach bool `json:"detach,omitempty"`
	// BackgroundBias, for the CoordConv renderer, starts its output bias at the background's
	// log-odds (BackgroundBiasInit) instead of He-normal's zero.
	BackgroundBias bool `json:"background_bias,omitempty"`
}

func (o ModelOptions) withDefaults() ModelOptions {
	if o.Mul == 0 {
		o.Mul = 1
	}
	if o.FS == 0 {
		o.FS = 3
	}
	if o.Gain == 0 {
		o.Gain = 1
	}
	if o.RenderFS == 0 {
		o.RenderFS = 3
	}
	return o
}

// Describe lists the options that differ from the paper's model, as ", name value" pairs
// (empty for the paper's model).
func (o ModelOptions) Describe() string {
	d := o.withDefaults()
	var s string
	if d.NormCoords {
		s += ", input coordinates in [−1, 1]"
	}
	if d.Interm > 0 {
		s += fmt.Sprintf(", centre loss %g", d.Interm)
		if d.Detach {
			s += " (painter detached)"
		}
	}
	if d.Gain != 1 {
		s += fmt.Sprintf(", softmax gain %g", d.Gain)
	}
	if d.BackgroundBias {
		s += ", output bias at the background rate"
	}
	if d.RenderFS != 3 {
		s += fmt.Sprintf(", rendering filter %d×%d", d.RenderFS, d.RenderFS)
	}
	return s
}

// Spec is a network with its input shape and loss.
type Spec struct {
	Net  engine.Layer
	In   []int
	Loss engine.LossKind
}

// NewSpec returns the network of the given task and model kind.
func NewSpec(task Task, model string, o ModelOptions) (Spec, error) {
	o = o.withDefaults()
	if o.Mul < 1 || o.FS < 1 {
		return Spec{}, fmt.Errorf("width multiplier %d and filter size %d must be ≥ 1", o.Mul, o.FS)
	}
	if !(o.Interm >= 0) || (o.Interm > 0 && (task != Rendering || model != "coordconv")) {
		return Spec{}, fmt.Errorf("intermediate loss weight %v: must be ≥ 0, and only the rendering task's coordconv model has one", o.Interm)
	}
	if (o.Gain != 1 || o.RenderFS != 3) && (task != Rendering || model != "coordconv") {
		return Spec{}, fmt.Errorf("softmax gain %v and rendering filter size %d: only the rendering task's coordconv model has them", o.Gain, o.RenderFS)
	}
	if !(o.Gain > 0) || math.IsInf(o.Gain, 0) || o.RenderFS < 1 || o.RenderFS%2 == 0 {
		return Spec{}, fmt.Errorf("softmax gain %v must be a finite number > 0 and rendering filter size %d odd and ≥ 1", o.Gain, o.RenderFS)
	}
	if o.NormCoords && (task == Regression || model != "coordconv") {
		return Spec{}, fmt.Errorf("normalised input coordinates: only the CoordConv painters of classification and rendering take coordinates")
	}
	if o.BackgroundBias && (task != Rendering || model != "coordconv") {
		return Spec{}, fmt.Errorf("the background-rate output bias is the CoordConv renderer's")
	}
	if o.Detach && !(o.Interm > 0) {
		return Spec{}, fmt.Errorf("a detached painter needs the intermediate loss (interm > 0) to train it")
	}
	coords := []int{2, 1, 1}
	switch {
	case task == Classification && model == "coordconv":
		return Spec{painter("coordconv-painter", Canvas, Canvas, o.NormCoords), coords, engine.SoftmaxCrossEntropy}, nil
	case task == Classification && model == "conv":
		return Spec{DeconvPainter("deconv-painter", o.Mul, o.FS), coords, engine.SoftmaxCrossEntropy}, nil
	case task == Regression && model == "coordconv":
		return Spec{CoordConvRegressor(), []int{1, Canvas, Canvas}, engine.MeanSquaredError}, nil
	case task == Regression && model == "conv":
		return Spec{ConvRegressor(o.Mul), []int{1, Canvas, Canvas}, engine.MeanSquaredError}, nil
	case task == Rendering && model == "coordconv":
		return Spec{CoordConvRenderer(Canvas, Canvas, o), coords, engine.SigmoidBinaryCrossEntropy}, nil
	case task == Rendering && model == "conv":
		return Spec{DeconvPainter("deconv-painter", o.Mul, o.FS), coords, engine.SigmoidBinaryCrossEntropy}, nil
	}
	if _, err := ParseTask(string(task)); err != nil {
		return Spec{}, err
	}
	return Spec{}, fmt.Errorf("unknown model %q (want coordconv or conv)", model)
}

// CoordConvPainter paints an h×w map (Canvas×Canvas in the paper) from the coordinates [2, 1, 1]:
// tile them over the map, AddCoords, then 1×1 convolutions with 32, 32, 64, 64 channels (×mul) and ReLU, and a
// 1×1 convolution to one channel (the logits). 7,553 parameters at mul = 1.
func CoordConvPainter(name string, mul, h, w int) engine.Layer {
	return engine.NewSequential(name,
		NewTile("tile", h, w),
		NewAddCoords("addcoords", false),
		engine.NewConv2d("conv1", 32*mul, 1, 1, engine.Valid, true), engine.NewReLU("relu1"),
		engine.NewConv2d("conv2", 32*mul, 1, 1, engine.Valid, true), engine.NewReLU("relu2"),
		engine.NewConv2d("conv3", 64*mul, 1, 1, engine.Valid, true), engine.NewReLU("relu3"),
		engine.NewConv2d("conv4", 64*mul, 1, 1, engine.Valid, true), engine.NewReLU("relu4"),
		engine.NewConv2d("conv5", 1, 1, 1, engine.Valid, true),
	)
}

// painter is the h×w CoordConv painter, after NormCoords when norm is set.
func painter(name string, h, w int, norm bool) engine.Layer {
	p := CoordConvPainter(name, 1, h, w)
	if !norm {
		return p
	}
	return engine.NewSequential(name+"-normed", NewNormCoords("normcoords", h, w), p)
}

// DeconvPainter is the paper's deconvolutional baseline: six stride-2 transposed convolutions
// with TensorFlow "same" padding from 1×1 to 64×64, with 64, 64, 64, 32, 32 (×mul) and 1
// channels and fs×fs kernels, batch norm and ReLU after the first five. 103,585 parameters at
// mul = 1, fs = 3.
func DeconvPainter(name string, mul, fs int) engine.Layer {
	var layers []engine.Layer
	for i, c := range []int{64, 64, 64, 32, 32} {
		n := fmt.Sprintf("%d", i+1)
		layers = append(layers,
			engine.NewConvTranspose2d("deconv"+n, c*mul, fs, 2, true),
			engine.NewBatchNorm2d("bn"+n, bnMomentum, bnEps),
			engine.NewReLU("relu"+n))
	}
	layers = append(layers, engine.NewConvTranspose2d("deconv6", 1, fs, 2, true))
	return engine.NewSequential(name, layers...)
}

// CoordConvRegressor reads the coordinates off a one-hot map: AddCoords, 1×1 convolutions with 8,
// 8 and 8 channels, 3×3 convolutions with 8 and 2 channels (all "same", no nonlinearity) and a
// global max pool, giving [2, 1, 1]. 906 parameters.
func CoordConvRegressor() engine.Layer {
	return engine.NewSequential("coordconv-regressor",
		NewAddCoords("addcoords", false),
		engine.NewConv2d("conv1", 8, 1, 1, engine.Same, true),
		engine.NewConv2d("conv2", 8, 1, 1, engine.Same, true),
		engine.NewConv2d("conv3", 8, 1, 1, engine.Same, true),
		engine.NewConv2d("conv4", 8, 3, 1, engine.Same, true),
		engine.NewConv2d("conv5", 2, 3, 1, engine.Same, true),
		NewGlobalMaxPool("maxpool"),
	)
}

// ConvRegressor is the paper's conv baseline for regression: three times a 3×3 convolution with
// 16 channels (×mul), ReLU and 2×2 max pooling, a fourth 3×3 convolution with ReLU, then a fully
// connected layer of 64 with ReLU and one of 2. 72,850 parameters at mul = 1.
func ConvRegressor(mul int) engine.Layer {
	var layers []engine.Layer
	for i := 1; i <= 4; i++ {
		n := fmt.Sprintf("%d", i)
		layers = append(layers, engine.NewConv2d("conv"+n, 16*mul, 3, 1, engine.Same, true), engine.NewReLU("relu"+n))
		if i < 4 {
			layers = append(layers, engine.NewMaxPool2d("pool"+n, 2, 2, 0))
		}
	}
	layers = append(layers,
		engine.NewFlatten("flatten"),
		engine.NewLinear("fc1", 64, true), engine.NewReLU("relu5"),
		engine.NewLinear("fc2", 2, true))
	return engine.NewSequential("conv-regressor", layers...)
}

// CoordConvRenderer paints the square on an h×w canvas: the CoordConv painter, a spatial softmax
// (of gain × its logits) that sharpens its map into a distribution over the pixels, then fs×fs
// convolutions ("same") with 8, 8, 16, 16 channels and ReLU and one to one channel (the per-pixel
// logits); the paper's model has gain 1 and fs 3 (o.Gain, o.RenderFS; zero values mean these).
// With o.Interm > 0 the painter is wrapped in a CentreLoss of that weight, detached with
// o.Detach; with o.NormCoords it takes its coordinates through NormCoords. The parameters are the
// same in every case.
func CoordConvRenderer(h, w int, o ModelOptions) engine.Layer {
	o = o.withDefaults()
	p := painter("coords2center", h, w, o.NormCoords)
	if o.Interm > 0 {
		cl := NewCentreLoss("centre-loss", p, o.Interm)
		cl.Detach = o.Detach
		p = cl
	}
	sharpen := NewSpatialSoftmax("sharpen")
	sharpen.Gain = o.Gain
	fs := o.RenderFS
	return engine.NewSequential("coordconv-renderer",
		p,
		sharpen,
		engine.NewConv2d("render1", 8, fs, 1, engine.Same, true), engine.NewReLU("render-relu1"),
		engine.NewConv2d("render2", 8, fs, 1, engine.Same, true), engine.NewReLU("render-relu2"),
		engine.NewConv2d("render3", 16, fs, 1, engine.Same, true), engine.NewReLU("render-relu3"),
		engine.NewConv2d("render4", 16, fs, 1, engine.Same, true), engine.NewReLU("render-relu4"),
		engine.NewConv2d("render5", 1, fs, 1, engine.Same, true),
	)
}
