// Intrinsic-dimension kernels: the dense random projection regenerated from Philox
// (z(seed, e) = rng.NormalAt, column j of P is elements j·rows … j·rows + rows − 1 of the stream,
// scaled by inv[j]), a CSR sparse matrix-vector product, the fast Walsh–Hadamard transform and a
// gather. Sums are float64, as on the CPU.
#include "common.cuh"

// inv[j] = 1/sqrt(Σ_i z(seed, j·rows + i)²), one block per column.
GZ_EXTERN void proj_inv_norms(int cols, int rows, uint64_t seed, float* inv) {
	for (int j = blockIdx.x; j < cols; j += gridDim.x) {
		double s = 0.0;
		for (int i = threadIdx.x; i < rows; i += blockDim.x) {
			double z = philox_normal_at(seed, (uint64_t)j * rows + i);
			s += z * z;
		}
		s = block_sum(s);
		if (threadIdx.x == 0) inv[j] = (float)(1.0 / sqrt(s));
	}
}

// p[c·rows + i] = z(seed, (col0 + c)·rows + i)·inv[c] for c < cols.
GZ_EXTERN void proj_dense_fill(int cols, int rows, int col0, uint64_t seed, const float* inv, float* p) {
	i64 total = (i64)cols * rows;
	GRID_LOOP(t, total) {
		int c = (int)(t / rows), i = (int)(t - (i64)c * rows);
		p[t] = (float)(philox_normal_at(seed, (uint64_t)(col0 + c) * rows + i) * (double)inv[c]);
	}
}

// y[i] = beta·y[i] + Σ_j inv[j]·x[j]·z(seed, j·rows + i): one thread per row; the coefficients
// inv[j]·x[j] are staged in shared memory a tile at a time. A zero coefficient adds exactly 0 and
// is skipped (θ_d = 0 at the start of training).
GZ_EXTERN void proj_otf(int rows, int cols, uint64_t seed, const float* inv, const float* x, float* y, float beta) {
	__shared__ double coef[256];
	for (i64 base = (i64)blockIdx.x * blockDim.x; base < rows; base += (i64)gridDim.x * blockDim.x) {
		i64 i = base + threadIdx.x;
		double acc = 0.0;
		for (int j0 = 0; j0 < cols; j0 += 256) {
			int nj = min(256, cols - j0);
			__syncthreads();
			for (int t = threadIdx.x; t < nj; t += blockDim.x) coef[t] = (double)inv[j0 + t] * (double)x[j0 + t];
			__syncthreads();
			if (i < rows)
				for (int jj = 0; jj < nj; jj++) {
					double c = coef[jj];
					if (c == 0.0) continue;
					acc += c * philox_normal_at(seed, (uint64_t)(j0 + jj) * rows + i);
				}
		}
		if (i < rows) y[i] = beta == 0.f ? (float)acc : (float)((double)beta * (double)y[i] + acc);
	}
}

// out[j] = inv[j]·Σ_i z(seed, j·rows + i)·g[i], one block per column.
GZ_EXTERN void proj_otft(int rows, int cols, uint64_t seed, const float* inv, const float* g, float* out) {
	for (int j = blockIdx.x; j < cols; j += gridDim.x) {
		double s = 0.0;
		for (int i = threadIdx.x; i < rows; i += blockDim.x) s += philox_normal_at(seed, (uint64_t)j * rows + i) * (double)g[i];
		s = block_sum(s);
		if (threadIdx.x == 0) out[j] = (float)(s * (double)inv[j]);
	}
}

// y[r] = beta·y[r] + Σ_k val[k]·x[idx[k]], k in [ptr[r], ptr[r+1]); ptr and idx hold uint32 bits.
GZ_EXTERN void spmv(int rows, const float* ptr, const float* idx, const float* val, const float* x, float* y, float beta) {
	GRID_LOOP(r, (i64)rows) {
		unsigned k0 = __float_as_uint(ptr[r]), k1 = __float_as_uint(ptr[r + 1]);
		double s = 0.0;
		for (unsigned k = k0; k < k1; k++) s += (double)val[k] * (double)x[__float_as_uint(idx[k])];
		if (beta != 0.f) s += (double)beta * (double)y[r];
		y[r] = (float)s;
	}
}

// One butterfly stage (half-width h) of the Walsh–Hadamard transform of every n-block of x:
// the same pairs and order as the CPU's in-place loop, so results are bit-identical.
GZ_EXTERN void fwht_stage(i64 pairs, int n, int h, float* x) {
	int half = n >> 1;
	GRID_LOOP(p, pairs) {
		i64 b = p / half;
		int q = (int)(p - b * half);
		int i = (q / h) * 2 * h + q % h;
		float* v = x + b * n;
		float a = v[i], c = v[i + h];
		v[i] = a + c;
		v[i + h] = a - c;
	}
}

// One block transforms one n-block in shared memory (n ≤ 4096): all stages in one launch.
GZ_EXTERN void fwht_shared(int n, float* x) {
	__shared__ float sm[4096];
	float* v = x + (i64)blockIdx.x * n;
	for (int i = threadIdx.x; i < n; i += blockDim.x) sm[i] = v[i];
	__syncthreads();
	for (int h = 1; h < n; h <<= 1) {
		for (int q = threadIdx.x; q < (n >> 1); q += blockDim.x) {
			int i = (q / h) * 2 * h + q % h;
			float a = sm[i], c = sm[i + h];
			sm[i] = a + c;
			sm[i + h] = a - c;
		}
		__syncthreads();
	}
	for (int i = threadIdx.x; i < n; i += blockDim.x) v[i] = sm[i];
}

// dst[i] = src[idx[i]], idx holding uint32 bit patterns (engine.IndexBits).
GZ_EXTERN void gather(i64 n, const float* src, const float* idx, float* dst) {
	GRID_LOOP(i, n) { dst[i] = src[__float_as_uint(idx[i])]; }
}
