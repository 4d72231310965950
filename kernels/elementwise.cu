// Element-wise kernels: activations, BLAS-1 updates, dropout (Philox masks identical to the CPU's),
// bias add, broadcasts, gathers and the LCA per-parameter product. All are memory-bound grid-stride
// loops with 64-bit indices.
#include "common.cuh"

GZ_EXTERN void relu(i64 n, const float* x, float* y) {
	// fmaxf would turn NaN into 0; the CPU keeps NaN so that it surfaces.
	GRID_LOOP(i, n) { float v = x[i]; y[i] = v > 0.f || v != v ? v : 0.f; }
}

GZ_EXTERN void relu_backward(i64 n, const float* y, const float* dy, float* dx) {
	GRID_LOOP(i, n) { dx[i] = y[i] > 0.f ? dy[i] : 0.f; }
}

GZ_EXTERN void fill(i64 n, float* x, float v) {
	GRID_LOOP(i, n) { x[i] = v; }
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

// mask[i] = keep if u ≥ p else 0, u = rng.Uniform(seed, offset + i); y = x·mask.
GZ_EXTERN void dropout(i64 n, const float* x, float* mask, float* y, float p, float keep, uint64_t seed, uint64_t offset) {
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

// y[p, i] = x[p] for i < hw.
GZ_EXTERN void tile(i64 total, int hw, const float* x, float* y) {
	GRID_LOOP(i, total) { y[i] = x[i / hw]; }
}

// dst[i] = src[idx[i]], idx holding uint32 bit patterns (engine.IndexBits).
GZ_EXTERN void gather(i64 n, const float* src, const float* idx, float* dst) {
	GRID_LOOP(i, n) { dst[i] = src[__float_as_uint(idx[i])]; }
}

// out[i] = g[i]·delta[i] (the LCA elements outside every segment).
GZ_EXTERN void grad_delta_plain(i64 n, const float* g, const float* d, float* out) {
	GRID_LOOP(i, n) { out[i] = g[i] * d[i]; }
}

// The coordinate 2k/(m−1) − 1 of index k on an axis of m cells, in float64 with the same operation
// order as the CPU (no FMA), so the float32 results are identical. One cell: 0.
__device__ __forceinline__ double coord_axis(int k, int m) {
	if (m == 1) return 0.0;
	return __dadd_rn(__ddiv_rn(__dmul_rn(2.0, (double)k), (double)(m - 1)), -1.0);
}

// y[N, C+extra, H, W]: x's channels, then the column, row and (extra 3) radius channels.
GZ_EXTERN void add_coords(i64 total, int c, int h, int w, int extra, const float* x, float* y) {
	int hw = h * w, co = c + extra;
	GRID_LOOP(i, total) {
		i64 img = i / ((i64)co * hw);
		int rem = (int)(i - img * co * hw);
		int ch = rem / hw, q = rem - ch * hw;
		if (ch < c) {
			y[i] = x[(img * c + ch) * hw + q];
			continue;
		}
		int ii = q / w, jj = q - ii * w;
		double cj = coord_axis(jj, w), ci = coord_axis(ii, h);
		double v = ch == c ? cj : ch == c + 1 ? ci : sqrt(__dadd_rn(__dmul_rn(cj, cj), __dmul_rn(ci, ci)));
		y[i] = (float)v;
	}
}

// dx[N, C, H, W] = the first C channels of dy[N, C+extra, H, W].
GZ_EXTERN void add_coords_backward(i64 total, int c, int hw, int extra, const float* dy, float* dx) {
	GRID_LOOP(i, total) {
		i64 img = i / ((i64)c * hw);
		i64 rem = i - img * c * hw;
		dx[i] = dy[img * (c + extra) * hw + rem];
	}
}

// dx[p] = dy[p] / hw broadcast (GlobalAvgPoolBackward).
GZ_EXTERN void global_avg_pool_backward(i64 total, int hw, const float* dy, float* dx) {
	float inv = 1.f / (float)hw;
	GRID_LOOP(i, total) { dx[i] = dy[i / hw] * inv; }
}
