// Optimizer updates over the whole parameter arena in one pass (PyTorch semantics, see
// engine.Kernels). The Adam bias corrections are computed on the host in float64.
//
// The scalars that change from step to step (the learning rate; Adam's bias-corrected step size)
// come by value, or, when dyn is not null, from device memory at dyn: a captured CUDA graph then
// replays the update with the values the host wrote there before the launch (engine.Capturer).
#include "common.cuh"

GZ_EXTERN void sgd_step(i64 n, float* theta, const float* grad, float* vel, float lr, float momentum, float wd, int nesterov, const float* dyn) {
	if (dyn) lr = dyn[0];
	GRID_LOOP(i, n) {
		float g = grad[i] + wd * theta[i];
		if (momentum == 0.f) {
			theta[i] -= lr * g;
			continue;
		}
		float v = momentum * vel[i] + g;
		vel[i] = v;
		theta[i] -= nesterov ? lr * (g + momentum * v) : lr * v;
	}
}

GZ_EXTERN void adam_step(i64 n, float* theta, const float* grad, float* m, float* v, float beta1, float beta2, float eps, float wd, float step, float sqrtBc2, const float* dyn) {
	if (dyn) step = dyn[0], sqrtBc2 = dyn[1];
	float c1 = 1.f - beta1, c2 = 1.f - beta2;
	GRID_LOOP(i, n) {
		float g = grad[i] + wd * theta[i];
		float mi = beta1 * m[i] + c1 * g;
		float vi = beta2 * v[i] + c2 * (g * g);
		m[i] = mi;
		v[i] = vi;
		float denom = sqrtf(vi) / sqrtBc2 + eps;
		theta[i] -= step * (mi / denom);
	}
}
