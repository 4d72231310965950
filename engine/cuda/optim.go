//go:build cuda

package cuda

import (
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
	d.sgd(theta, grad, vel, lr, momentum, weightDecay, nesterov, nil)
}

// SGDStepVar is SGDStep with the learning rate read from vars[0] when the kernel runs (a
// replayed CUDA graph, engine.Capturer).
func (d *Device) SGDStepVar(theta, grad, vel engine.Buffer, momentum, weightDecay float32, nesterov bool, vars engine.Buffer) {
	d.sgd(theta, grad, vel, 0, momentum, weightDecay, nesterov, vars)
}

func (d *Device) sgd(theta, grad, vel engine.Buffer, lr, momentum, weightDecay float32, nesterov bool, vars engine.Buffer) {
	n := blen(theta)
	if momentum == 0 { // vel is not read
		vel = nil
	}
	d.k(kSGDStep).l(n).p(theta).p(grad).p(vel).f(lr).f(momentum).f(weightDecay).flag(nesterov).p(vars)
	d.go1(d.streamBlocks(n), 256)
}

// AdamStep is PyTorch's Adam at step t ≥ 1; bias corrections in float64 on the host
// (engine.AdamScalars).
func (d *Device) AdamStep(theta, grad, m, v engine.Buffer, lr, beta1, beta2, eps, weightDecay float32, t int) {
	step, sqrtBc2 := engine.AdamScalars(lr, beta1, beta2, t)
	d.adam(theta, grad, m, v, beta1, beta2, eps, weightDecay, step, sqrtBc2, nil)
}

// AdamStepVar is AdamStep with its step size and √(1−β2^t) read from vars[0:2] when the kernel
// runs.
func (d *Device) AdamStepVar(theta, grad, m, v engine.Buffer, beta1, beta2, eps, weightDecay float32, vars engine.Buffer) {
	d.adam(theta, grad, m, v, beta1, beta2, eps, weightDecay, 0, 1, vars)
}

func (d *Device) adam(theta, grad, m, v engine.Buffer, beta1, beta2, eps, weightDecay, step, sqrtBc2 float32, vars engine.Buffer) {
	n := blen(theta)
	d.k(kAdamStep).l(n).p(theta).p(grad).p(m).p(v).f(beta1).f(beta2).f(eps).f(weightDecay).f(step).f(sqrtBc2).p(vars)
	d.go1(d.streamBlocks(n), 256)
}
