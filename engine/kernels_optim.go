package engine

// OptimKernels update the whole parameter arena (or one contiguous segment of it) in one pass.
type OptimKernels interface {
	// SGDStep is PyTorch's SGD: g = grad + weightDecay*theta; vel = momentum*vel + g;
	// theta -= lr*vel (nesterov: theta -= lr*(g + momentum*vel)). vel is unused (may be nil)
	// when momentum is 0.
	SGDStep(theta, grad, vel Buffer, lr, momentum, weightDecay float32, nesterov bool)
	// AdamStep is PyTorch's Adam at step t ≥ 1: g = grad + weightDecay*theta;
	// m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²;
	// theta -= lr/(1-β1^t) * m / (sqrt(v)/sqrt(1-β2^t) + eps).
	AdamStep(theta, grad, m, v Buffer, lr, beta1, beta2, eps, weightDecay float32, t int)
}

// The checks (check.go): one length for every buffer (vel only when momentum uses it), t ≥ 1.

func (c checked) SGDStep(theta, grad, vel Buffer, lr, momentum, weightDecay float32, nesterov bool) {
	if momentum != 0 {
		sameLen("SGDStep", "theta, grad, vel", theta, grad, vel)
	} else {
		sameLen("SGDStep", "theta, grad", theta, grad)
	}
	c.d.SGDStep(theta, grad, vel, lr, momentum, weightDecay, nesterov)
}

func (c checked) AdamStep(theta, grad, m, v Buffer, lr, beta1, beta2, eps, weightDecay float32, t int) {
	sameLen("AdamStep", "theta, grad, m, v", theta, grad, m, v)
	atLeast("AdamStep", "step t", t, 1)
	c.d.AdamStep(theta, grad, m, v, lr, beta1, beta2, eps, weightDecay, t)
}
