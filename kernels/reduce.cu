// Whole-buffer reductions accumulating in float64: Σx, Σx², Σx·y, in two passes (fixed-size
// per-block partials, then one block adds them in order), so results do not depend on scheduling.
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
