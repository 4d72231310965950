// Loss change allocation: GradDelta's per-parameter product g·δ over the whole arena and its
// float64 sums per segment (one segment per layer). Elements outside every segment only get their
// product (grad_delta_plain); each segment is cut into fixed chunks whose float64 partial sums
// (grad_delta_seg) are added in chunk order (grad_delta_sums), so the sums do not depend on
// scheduling.
#include "common.cuh"

// out[i] = g[i]·delta[i] (the LCA elements outside every segment).
GZ_EXTERN void grad_delta_plain(i64 n, const float* g, const float* d, float* out) {
	GRID_LOOP(i, n) { out[i] = g[i] * d[i]; }
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
