package coordconv

import (
	"fmt"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/models"
)

// CoordConvModes are the ways ResNet swaps convolutions for CoordConvs.
var CoordConvModes = []string{"none", "first", "all"}

// ResNet is the zoo's CIFAR ResNet-(6n+2) with CoordConv in place of its first convolution
// (mode "first", the paper's ImageNet experiment) or of every convolution, shortcut projections
// included ("all"); "none" is the plain ResNet. The replaced convolutions keep their names and
// gain two input channels (xx, yy).
func ResNet(n, classes int, mode string) (engine.Layer, error) {
	if n < 1 || classes < 2 {
		return nil, fmt.Errorf("resnet: n %d must be ≥ 1 and classes %d ≥ 2", n, classes)
	}
	var swap func(name string) bool
	switch mode {
	case "none":
		return models.ResNet(n, classes), nil
	case "first":
		swap = func(name string) bool { return name == "conv1" }
	case "all":
		swap = func(string) bool { return true }
	default:
		return nil, fmt.Errorf("unknown CoordConv mode %q (want none, first or all)", mode)
	}
	return models.ResNetWith(n, classes, func(name string, out, k, stride int, pad engine.Padding, bias bool) engine.Layer {
		if swap(name) {
			return NewCoordConv(name, out, k, stride, pad, bias, false)
		}
		return engine.NewConv2d(name, out, k, stride, pad, bias)
	}), nil
}
