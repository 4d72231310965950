// Package models is gaze's model zoo: the networks of the LCA and intrinsic-dimension papers
// and CIFAR ResNets, built from engine layers by name.
package models

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gazeml/gaze/engine"
)

// BatchNorm defaults (PyTorch's).
const (
	bnMomentum = 0.1
	bnEps      = 1e-5
)

// Help describes the accepted names for command-line help.
const Help = "mnist-fc (784-100-50-10), mnist-fc-200 (784-200-200-10), mlp:784-W-...-10, lenet5, lenet-lca, resnet20|32|44|56|110 or resnet-N (N = 6n+2)"

// Net builds the named network for inputs of shape in ([C, H, W]) and the given number of
// classes. The loss is softmax cross-entropy for every zoo model.
func Net(name string, in []int, classes int) (engine.Layer, error) {
	if len(in) != 3 || in[0] < 1 || in[1] < 1 || in[2] < 1 {
		return nil, fmt.Errorf("model %s: input shape %v, want [C, H, W]", name, in)
	}
	if classes < 2 {
		return nil, fmt.Errorf("model %s: %d classes, want ≥ 2", name, classes)
	}
	flat := in[0] * in[1] * in[2]
	switch {
	case name == "mnist-fc":
		return MLP(name, []int{flat, 100, 50, classes})
	case name == "mnist-fc-200":
		return MLP(name, []int{flat, 200, 200, classes})
	case strings.HasPrefix(name, "mlp:"):
		widths, err := parseWidths(strings.TrimPrefix(name, "mlp:"))
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", name, err)
		}
		if widths[0] != flat || widths[len(widths)-1] != classes {
			return nil, fmt.Errorf("model %s: the first width must be the input size %d and the last the number of classes %d", name, flat, classes)
		}
		return MLP(name, widths)
	case name == "lenet5":
		return LeNet5(classes), nil
	case name == "lenet-lca":
		return LeNetLCA(classes), nil
	case strings.HasPrefix(name, "resnet"):
		n, err := ResNetBlocks(name)
		if err != nil {
			return nil, err
		}
		return ResNet(n, classes), nil
	}
	return nil, fmt.Errorf("unknown model %q (known: %s)", name, Help)
}

// New builds the named model on dev with storage for batches of maxBatch.
func New(dev engine.Device, name string, in []int, classes, maxBatch int) (*engine.Model, error) {
	net, err := Net(name, in, classes)
	if err != nil {
		return nil, err
	}
	return engine.NewModel(dev, name, net, in, engine.SoftmaxCrossEntropy, maxBatch)
}

func parseWidths(s string) ([]int, error) {
	parts := strings.Split(s, "-")
	if len(parts) < 2 {
		return nil, fmt.Errorf("want widths like 784-200-10, got %q", s)
	}
	out := make([]int, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("width %q is not a positive integer", p)
		}
		out[i] = v
	}
	return out, nil
}

// MLP is Flatten, then Linear+ReLU layers of the given widths (widths[0] is the input size),
// without a ReLU after the last. Layers are fc1, fc2, ...
func MLP(name string, widths []int) (engine.Layer, error) {
	if len(widths) < 2 || slices.Min(widths) < 1 {
		return nil, fmt.Errorf("model %s: widths %v must be ≥ 2 positive numbers", name, widths)
	}
	layers := []engine.Layer{engine.NewFlatten("flatten")}
	for i, w := range widths[1:] {
		layers = append(layers, engine.NewLinear(fmt.Sprintf("fc%d", i+1), w, true))
		if i < len(widths)-2 {
			layers = append(layers, engine.NewReLU(fmt.Sprintf("relu%d", i+1)))
		}
	}
	return engine.NewSequential(name, layers...), nil
}

// LeNet5 is 6c5-pool-16c5-pool-120-84-classes with valid padding and ReLU.
func LeNet5(classes int) engine.Layer {
	return engine.NewSequential("lenet5",
		engine.NewConv2d("conv1", 6, 5, 1, engine.Valid, true),
		engine.NewReLU("relu1"),
		engine.NewMaxPool2d("pool1", 2, 2, 0),
		engine.NewConv2d("conv2", 16, 5, 1, engine.Valid, true),
		engine.NewReLU("relu2"),
		engine.NewMaxPool2d("pool2", 2, 2, 0),
		engine.NewFlatten("flatten"),
		engine.NewLinear("fc1", 120, true),
		engine.NewReLU("relu3"),
		engine.NewLinear("fc2", 84, true),
		engine.NewReLU("relu4"),
		engine.NewLinear("fc3", classes, true),
	)
}

// LeNetLCA is the LCA paper's LeNet: conv 20@5×5 same, ReLU, maxpool 2, conv 40@5×5 same,
// ReLU, maxpool 2, dropout 0.25, FC 400, ReLU, dropout 0.5, FC classes.
func LeNetLCA(classes int) engine.Layer {
	return engine.NewSequential("lenet-lca",
		engine.NewConv2d("conv1", 20, 5, 1, engine.Same, true),
		engine.NewReLU("relu1"),
		engine.NewMaxPool2d("pool1", 2, 2, 0),
		engine.NewConv2d("conv2", 40, 5, 1, engine.Same, true),
		engine.NewReLU("relu2"),
		engine.NewMaxPool2d("pool2", 2, 2, 0),
		engine.NewDropout("drop1", 0.25),
		engine.NewFlatten("flatten"),
		engine.NewLinear("fc1", 400, true),
		engine.NewReLU("relu3"),
		engine.NewDropout("drop2", 0.5),
		engine.NewLinear("fc2", classes, true),
	)
}

// ResNet is the CIFAR ResNet-(6n+2) of He et al.: a 3×3 conv with 16 channels, BN and ReLU,
// three stages of n basic blocks with 16, 32 and 64 channels (stride 2 at the start of stages 2
// and 3, where a 1×1 convolution with BN projects the shortcut), global average pooling and a
// fully connected layer. Convolutions have no bias.
func ResNet(n, classes int) engine.Layer { return ResNetWith(n, classes, nil) }

// ConvFactory builds a convolution layer of a zoo model. Experiments pass their own to swap
// convolutions for another kind (coordconv.NewCoordConv) without the zoo knowing about it.
type ConvFactory func(name string, out, k, stride int, pad engine.Padding, bias bool) engine.Layer

// ResNetWith is ResNet with every convolution (the stem, the blocks' and the shortcut
// projections) built by conv; nil means engine.NewConv2d.
func ResNetWith(n, classes int, conv ConvFactory) engine.Layer {
	if conv == nil {
		conv = func(name string, out, k, stride int, pad engine.Padding, bias bool) engine.Layer {
			return engine.NewConv2d(name, out, k, stride, pad, bias)
		}
	}
	layers := []engine.Layer{
		conv("conv1", 16, 3, 1, engine.Pad(1), false),
		engine.NewBatchNorm2d("bn1", bnMomentum, bnEps),
		engine.NewReLU("relu1"),
	}
	in := 16
	for s, width := range []int{16, 32, 64} {
		for b := 0; b < n; b++ {
			stride := 1
			if b == 0 && s > 0 {
				stride = 2
			}
			p := fmt.Sprintf("stage%d.block%d.", s+1, b+1)
			main := engine.NewSequential(p+"main",
				conv(p+"conv1", width, 3, stride, engine.Pad(1), false),
				engine.NewBatchNorm2d(p+"bn1", bnMomentum, bnEps),
				engine.NewReLU(p+"relu1"),
				conv(p+"conv2", width, 3, 1, engine.Pad(1), false),
				engine.NewBatchNorm2d(p+"bn2", bnMomentum, bnEps),
			)
			var shortcut engine.Layer
			if stride != 1 || in != width {
				shortcut = engine.NewSequential(p+"shortcut",
					conv(p+"shortcut.conv", width, 1, stride, engine.Valid, false),
					engine.NewBatchNorm2d(p+"shortcut.bn", bnMomentum, bnEps),
				)
			}
			layers = append(layers, engine.NewResidual(p+"add", main, shortcut), engine.NewReLU(p+"relu2"))
			in = width
		}
	}
	layers = append(layers,
		engine.NewGlobalAvgPool("pool"),
		engine.NewLinear("fc", classes, true),
	)
	return engine.NewSequential(fmt.Sprintf("resnet%d", 6*n+2), layers...)
}

// ResNetBlocks returns n, the blocks per stage, of a ResNet-(6n+2) name: resnet20 or resnet-20.
func ResNetBlocks(name string) (int, error) {
	depth, err := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(name, "resnet"), "-"))
	if !strings.HasPrefix(name, "resnet") || err != nil || depth < 8 || (depth-2)%6 != 0 {
		return 0, fmt.Errorf("model %s: ResNet depth must be 6n+2 with n ≥ 1 (resnet20, resnet32, resnet44, resnet56, resnet110, ...)", name)
	}
	return (depth - 2) / 6, nil
}
