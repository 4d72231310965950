//go:build cuda

package cuda

import (
	"math"

	"github.com/gazeml/gaze/engine"
)

// The optim op family (engine/kernels_optim.go) on the GPU: SGD and Adam over the arena.

// The kernels of kernels/optim.cu.
var (
	kSGDStep  = declare("optim", "sgd_step")
	kAdamStep = declare("optim", "adam_step")
)

// SGDStep is PyTorch's SGD over the whole arena.
func (d *Device) SGDStep(theta, grad, vel engine.Buffer, lr, momentum, weightDecay float32, nesterov bool) {
	n := blen(theta)
	if momentum == 0 { // vel is not read
		vel = nil
	}
	d.k(kSGDStep).l(n).p(theta).p(grad).p(vel).f(lr).f(momentum).f(weightDecay).flag(nesterov)
	d.go1(d.streamBlocks(n), 256)
}

// AdamStep is PyTorch's Adam at step t ≥ 1; bias corrections in float64 on the host.
func (d *Device) AdamStep(theta, grad, m, v engine.Buffer, lr, beta1, beta2, eps, weightDecay float32, t int) {
	n := blen(theta)
	bc1 := 1 - math.Pow(float64(beta1), float64(t))
	bc2 := 1 - math.Pow(float64(beta2), float64(t))
	step := float32(float64(lr) / bc1)
	sqrtBc2 := float32(math.Sqrt(bc2))
	d.k(kAdamStep).l(n).p(theta).p(grad).p(m).p(v).f(beta1).f(beta2).f(eps).f(weightDecay).f(step).f(sqrtBc2)
	d.go1(d.streamBlocks(n), 256)
}
