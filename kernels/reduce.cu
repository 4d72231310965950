// Reductions accumulating in float64: Σx, Σx², Σx·y (two passes: fixed-size per-block partials,
// then one block adds them in order, so results do not depend on scheduling), the LCA segment
// sums, and the per-row/per-channel sums of BiasGrad, GlobalAvgPool and TileBackward.
#include "common.cuh"

// mode 0: Σx, 1: Σx², 2: Σx·y. Block b covers a grid-stride set of elements; part[b] its sum.
GZ_EXTERN void reduce_partial(i64 n, int mode, const float* x, const float* y, double* part) {
	double s = 0.0;
	GRID_LOOP(i, n) {
		double a = (double)x[i];
		s += mode == 0 ? a : mode == 1 ? a * a : a * (double)y[i];
	}
	s = block_sum(s);
	if (threadIdx.x == 0) part[blockIdx.x] = s;
}

// out[0] = Σ part[0..nb), one block.
GZ_EXTERN void reduce_final(int nb, const double* part, double* out) {
	double s = 0.0;
	for (int i = threadIdx.x; i < nb; i += blockDim.x) s += part[i];
	s = block_sum(s);
	if (threadIdx.x == 0) out[0] = s;
}

// LCA: block (x, seg) multiplies and sums chunk x of segment seg = [bounds[seg], bounds[seg+1]),
// chunks of `chunk` elements; part[seg·nchunks + x] gets the float64 sum (0 for empty chunks).
// Products are float64 (as the CPU's), stored rounded to float32.
GZ_EXTERN void grad_delta_seg(int nchunks, int chunk, const long long* bounds, const float* g, const float* d, float* out, double* part) {
	int seg = blockIdx.y;
	i64 lo = bounds[seg] + (i64)blockIdx.x * chunk;
	i64 hi = min((i64)bounds[seg + 1], lo + chunk);
	double s = 0.0;
	for (i64 i = lo + threadIdx.x; i < hi; i += blockDim.x) {
		double p = (double)g[i] * (double)d[i];
		out[i] = (float)p;
		s += p;
	}
	s = block_sum(s);
	if (threadIdx.x == 0) part[(i64)seg * nchunks + blockIdx.x] = s;
}

// sums[seg] = Σ_x part[seg·nchunks + x], one block per segment.
GZ_EXTERN void grad_delta_sums(int nchunks, const double* part, double* sums) {
	int seg = blockIdx.x;
	double s = 0.0;
	for (int i = threadIdx.x; i < nchunks; i += blockDim.x) s += part[(i64)seg * nchunks + i];
	s = block_sum(s);
	if (threadIdx.x == 0) sums[seg] = s;
}

// One block per row p of x[rows, hw]: out[p] = scale·Σ_i x[p, i] in float64, or, with accum,
// out[p] += that. (GlobalAvgPool: scale 1/hw; TileBackward: scale 1.)
GZ_EXTERN void row_sum(int rows, int hw, const float* x, float* out, double scale, int accum) {
	for (int p = blockIdx.x; p < rows; p += gridDim.x) {
		const float* r = x + (i64)p * hw;
		double s = 0.0;
		for (int i = threadIdx.x; i < hw; i += blockDim.x) s += (double)r[i];
		s = block_sum(s);
		if (threadIdx.x == 0) {
			float v = (float)(s * scale);
			out[p] = accum ? out[p] + v : v;
		}
	}
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
