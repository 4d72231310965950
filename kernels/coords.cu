// CoordConv's kernels: the coordinate channels of AddCoords, the tiling of a per-example vector
// over a map and its backward sum, and the plain row softmax with its backward pass (the spatial
// softmax of the rendering model). Global max pooling is max_pool (pool.cu) with a window the size
// of the map. Sums are float64, as on the CPU.
#include "common.cuh"

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

// y[p, i] = x[p] for i < hw.
GZ_EXTERN void tile(i64 total, int hw, const float* x, float* y) {
	GRID_LOOP(i, total) { y[i] = x[i / hw]; }
}

// dx[p] = Σ_i dy[p, i] in float64, one block per row p of dy[rows, hw] (TileBackward).
GZ_EXTERN void tile_backward(int rows, int hw, const float* dy, float* dx) { row_sums(rows, hw, dy, dx, 1.0); }

// y = softmax(x) per row: exponentials of the float32 differences x − max in float64, summed in
// float64, stored as the CPU does (float32(e), then float32(float64(that)·(1/Σ))). y may alias x.
GZ_EXTERN void softmax(int rows, int k, const float* x, float* y) {
	for (int row = blockIdx.x; row < rows; row += gridDim.x) {
		const float* xr = x + (i64)row * k;
		float* yr = y + (i64)row * k;
		float m = -INFINITY;
		for (int j = threadIdx.x; j < k; j += blockDim.x) m = fmaxf(m, xr[j]);
		m = block_max(m);
		double s = 0.0;
		for (int j = threadIdx.x; j < k; j += blockDim.x) s += exp((double)(xr[j] - m));
		s = block_sum(s); // all reads of x are done before any write of y (block_sum syncs)
		double inv = 1.0 / s;
		for (int j = threadIdx.x; j < k; j += blockDim.x) yr[j] = (float)((double)(float)exp((double)(xr[j] - m)) * inv);
	}
}

// dx = y ⊙ (dy − Σ dy·y), per row, dot in float64. dx may alias dy.
GZ_EXTERN void softmax_backward(int rows, int k, const float* y, const float* dy, float* dx) {
	for (int row = blockIdx.x; row < rows; row += gridDim.x) {
		const float* yr = y + (i64)row * k;
		const float* dr = dy + (i64)row * k;
		float* xr = dx + (i64)row * k;
		double d = 0.0;
		for (int j = threadIdx.x; j < k; j += blockDim.x) d += (double)yr[j] * (double)dr[j];
		d = block_sum(d);
		for (int j = threadIdx.x; j < k; j += blockDim.x) xr[j] = (float)((double)yr[j] * ((double)dr[j] - d));
	}
}
