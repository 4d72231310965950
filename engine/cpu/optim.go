package cpu

import (
	"math"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// SGDStep is PyTorch's SGD (dampening 0): g = grad + weightDecay*theta; vel = momentum*vel + g;
// theta -= lr*vel, or with nesterov theta -= lr*(g + momentum*vel). vel is not touched (and may
// be nil) when momentum is 0.
func (d *Device) SGDStep(theta, grad, vel engine.Buffer, lr, momentum, weightDecay float32, nesterov bool) {
	th, gr := Data(theta), Data(grad)
	var ve []float32
	if momentum != 0 {
		ve = Data(vel)
	}
	args := sgdArgs{th, gr, ve, lr, momentum, weightDecay, nesterov}
	launch(d, &d.k.sgd, args, len(th), grainStream)
}

type sgdArgs struct {
	theta, grad, vel          []float32
	lr, momentum, weightDecay float32
	nesterov                  bool
}

func (a *sgdArgs) run(lo, hi int) {
	var ve []float32
	if a.momentum != 0 {
		ve = a.vel[lo:hi]
	}
	// g = grad + weightDecay·theta; with momentum v = momentum·v + g and theta -= lr·v (or
	// lr·(g + momentum·v), Nesterov), else theta -= lr·g: sgemm.SGD, vectorised on AVX-512.
	sgemm.SGD(a.theta[lo:hi], a.grad[lo:hi], ve, a.lr, a.momentum, a.weightDecay, a.nesterov)
}

// AdamStep is PyTorch's Adam at step t ≥ 1 (see engine.Kernels). The moments and the update are
// computed in float32 as PyTorch does; the bias corrections 1-β^t in float64, because β^t for
// large t loses most of its digits in float32.
func (d *Device) AdamStep(theta, grad, m, v engine.Buffer, lr, beta1, beta2, eps, weightDecay float32, t int) {
	th, gr, ms, vs := Data(theta), Data(grad), Data(m), Data(v)
	bc1 := 1 - math.Pow(float64(beta1), float64(t))
	bc2 := 1 - math.Pow(float64(beta2), float64(t))
	step := float32(float64(lr) / bc1)
	sqrtBc2 := float32(math.Sqrt(bc2))
	c1, c2 := 1-beta1, 1-beta2
	args := adamArgs{th, gr, ms, vs, beta1, beta2, c1, c2, eps, weightDecay, step, sqrtBc2}
	launch(d, &d.k.adam, args, len(th), grainStream/4)
}

type adamArgs struct {
	theta, grad, m, v                            []float32
	beta1, beta2, c1, c2, eps, weightDecay, step float32
	sqrtBc2                                      float32
}

func (a *adamArgs) run(lo, hi int) {
	th, gr, ms, vs := a.theta, a.grad, a.m, a.v
	beta1, beta2, c1, c2, eps, wd, step, sqrtBc2 := a.beta1, a.beta2, a.c1, a.c2, a.eps, a.weightDecay, a.step, a.sqrtBc2
	for i := lo; i < hi; i++ {
		g := gr[i] + wd*th[i]
		mi := beta1*ms[i] + c1*g
		vi := beta2*vs[i] + c2*(g*g)
		ms[i], vs[i] = mi, vi
		denom := float32(math.Sqrt(float64(vi)))/sqrtBc2 + eps
		th[i] -= step * (mi / denom) // PyTorch: addcdiv(m, denom, -step)
	}
}
