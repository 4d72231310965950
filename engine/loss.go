package engine

import "fmt"

// LossKind selects the training loss.
type LossKind int

const (
	// SoftmaxCrossEntropy over the flattened output (a class vector or an H×W map);
	// targets are class indices. Mean over the batch.
	SoftmaxCrossEntropy LossKind = iota
	// MeanSquaredError; targets have the output's shape. Mean over every element.
	MeanSquaredError
	// SigmoidBinaryCrossEntropy per output element; targets in [0, 1]. Mean over every element.
	SigmoidBinaryCrossEntropy
)

func (k LossKind) String() string {
	switch k {
	case SoftmaxCrossEntropy:
		return "softmax-xent"
	case MeanSquaredError:
		return "mse"
	case SigmoidBinaryCrossEntropy:
		return "sigmoid-bce"
	}
	return fmt.Sprintf("LossKind(%d)", int(k))
}

// TargetSize is the number of target floats per example for an output of k elements.
func (k LossKind) TargetSize(outSize int) int {
	if k == SoftmaxCrossEntropy {
		return 1
	}
	return outSize
}

// perExample is the factor that turns a per-example loss (a sum over the output) into the
// reported loss's contribution: 1 for cross-entropy, 1/k for the element-wise means.
func (k LossKind) perExample(outSize int) float64 {
	if k == SoftmaxCrossEntropy {
		return 1
	}
	return 1 / float64(outSize)
}

// lossBuffers holds what a loss needs on the device.
type lossBuffers struct {
	losses BatchBuffer // per-example losses
	grad   BatchBuffer // ∂loss/∂output
}

// compute runs the loss kernel on n examples and returns the sum over the batch of each
// example's normalised loss. With grad, the output gradient is scaled by scale per example.
func (k LossKind) compute(d Device, lb *lossBuffers, out Tensor, targets Buffer, scale float64, grad bool) (float64, Buffer) {
	g := k.kernel(d, lb, out, targets, scale, grad)
	return d.Sum(lb.losses.First(out.N)) * k.perExample(out.Size()), g
}

// kernel runs the loss kernel: per-example losses into lb.losses and, with grad, the output
// gradient, which it returns.
func (k LossKind) kernel(d Device, lb *lossBuffers, out Tensor, targets Buffer, scale float64, grad bool) Buffer {
	size := out.Size()
	n := out.N
	norm := k.perExample(size)
	losses := lb.losses.First(n)
	var g Buffer
	if grad {
		g = lb.grad.First(n)
	}
	s := float32(scale * norm)
	switch k {
	case SoftmaxCrossEntropy:
		d.SoftmaxXent(out.Buf, targets, losses, g, n, size, s)
	case MeanSquaredError:
		d.MSE(out.Buf, targets, losses, g, n, size, s)
	case SigmoidBinaryCrossEntropy:
		d.SigmoidBCE(out.Buf, targets, losses, g, n, size, s)
	}
	return g
}
