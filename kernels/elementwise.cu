// Element-wise kernels: activations, BLAS-1 updates, dropout (Philox masks identical to the CPU's),
// and the per-channel bias add with its gradient. All but bias_grad are memory-bound grid-stride
// loops with 64-bit indices; bias_grad sums one channel per block in float64.
#include "common.cuh"

GZ_EXTERN void relu(i64 n, const float* x, float* y) {
	// fmaxf would turn NaN into 0; the CPU keeps NaN so that it surfaces.
	GRID_LOOP(i, n) { float v = x[i]; y[i] = v > 0.f || v != v ? v : 0.f; }
}

GZ_EXTERN void relu_backward(i64 n, const float* y, const float* dy, float* dx) {
	GRID_LOOP(i, n) { dx[i] = y[i] > 0.f ? dy[i] : 0.f; }
}

GZ_EXTERN void axpy(i64 n, float alpha, const float* x, float* y) {
	GRID_LOOP(i, n) { y[i] += alpha * x[i]; }
}

GZ_EXTERN void scale(i64 n, float* x, float alpha) {
	GRID_LOOP(i, n) { x[i] *= alpha; }
}

GZ_EXTERN void add(i64 n, const float* a, const float* b, float* out) {
	GRID_LOOP(i, n) { out[i] = a[i] + b[i]; }
}

GZ_EXTERN void mul(i64 n, const float* a, const float* b, float* out) {
	GRID_LOOP(i, n) { out[i] = a[i] * b[i]; }
}

// mask[i] = keep if u ≥ p else 0, u = rng.Uniform(seed, offset + i); y = x·mask. When dyn is not
// null the offset is read from device memory, dyn[0] | dyn[1] << 32 (a step's offset in a
// replayed CUDA graph, see optim.cu).
GZ_EXTERN void dropout(i64 n, const float* x, float* mask, float* y, float p, float keep, uint64_t seed, uint64_t offset, const uint32_t* dyn) {
	if (dyn) offset = (uint64_t)dyn[0] | (uint64_t)dyn[1] << 32;
	GRID_LOOP(i, n) {
		float u = philox_uniform(seed, offset + (uint64_t)i);
		float m = u >= p ? keep : 0.f;
		mask[i] = m;
		y[i] = x[i] * m;
	}
}

// y[n, c, i] += b[c], y of shape [n, c, hw].
GZ_EXTERN void bias_add(i64 total, int c, int hw, float* y, const float* b) {
	GRID_LOOP(i, total) { y[i] += b[(i / hw) % c]; }
}

// BiasGrad: db[ch] += Σ_{img, i} dy[img, ch, i] in float64; one block per channel.
GZ_EXTERN void bias_grad(int n, int c, int hw, const float* dy, float* db) {
	int ch = blockIdx.x;
	double s = 0.0;
	i64 m = (i64)n * hw;
	for (i64 t = threadIdx.x; t < m; t += blockDim.x) {
		i64 img = t / hw, i = t - img * hw;
		s += (double)dy[(img * c + ch) * hw + i];
	}
	s = block_sum(s);
	if (threadIdx.x == 0) db[ch] += (float)s;
}
