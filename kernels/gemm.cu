// GEMM: C = alpha·op(A)·op(B) + beta·C, all four transpose combinations (row-major, leading
// dimensions as stored), on the igemm core; a split-K reduction; and two GEMV kernels for n = 1
// (the dense random projection θ = θ₀ + P·θ_d and g_d = Pᵀ·g), which are memory-bound and want
// every thread streaming its own column or a whole block on one row rather than 128-wide tiles.
#include "igemm.cuh"

// op(A)(m, k): A is m×k (lda) or, transposed, k×m.
template <bool T>
struct MatA {
	static constexpr bool kmajor = !T; // row-major A is contiguous along k
	const float* a;
	i64 lda;
	struct Row { i64 base; };
	__device__ __forceinline__ Row row(int m) const { return {T ? (i64)m : (i64)m * lda}; }
	__device__ __forceinline__ float at(const Row& r, int, int k) const {
		return T ? a[r.base + (i64)k * lda] : a[r.base + k];
	}
};

// op(B)(k, n): B is k×n (ldb) or, transposed, n×k.
template <bool T>
struct MatB {
	static constexpr bool kmajor = T; // Bᵀ stored n×k is contiguous along k
	const float* b;
	i64 ldb;
	struct Col { i64 base; };
	__device__ __forceinline__ Col col(int n) const { return {T ? (i64)n * ldb : (i64)n}; }
	__device__ __forceinline__ float at(const Col& c, int k) const {
		return T ? b[c.base + k] : b[c.base + (i64)k * ldb];
	}
};

// The alpha/beta epilogue; beta == 0 never reads C (it may hold NaN). With a workspace (split-K)
// it writes raw partial sums instead.
struct GemmStore {
	float* c;
	i64 ldc;
	float alpha, beta;
	PartialStore part;
	bool split;
	__device__ __forceinline__ void put(int m, int n, float v) const {
		if (split) {
			part.put(m, n, v);
			return;
		}
		i64 i = (i64)m * ldc + n;
		c[i] = beta == 0.f ? alpha * v : alpha * v + beta * c[i];
	}
};

// GEMM(name, TA, TB, tile): op(A) = Aᵀ when TA, op(B) = Bᵀ when TB; GEMM_TF32 the same on the
// tensor-core core (--precision tf32).
#define GEMM_K(name, CORE, TA, TB, BM, BN, TM, TN, LB)                                            \
	GZ_EXTERN void LB name(int M, int N, int K, int kchunk,                                       \
		float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc, \
		float* ws) {                                                                                  \
		MatA<TA> la{A, lda};                                                                          \
		MatB<TB> lb{B, ldb};                                                                          \
		GemmStore st{C, ldc, alpha, beta, PartialStore{ws, M, N}, gridDim.z > 1};                     \
		CORE<BM, BN, TM, TN, IG_BK>(la, lb, st, M, N, K, kchunk);                                     \
	}
#define GEMM(name, ...) GEMM_K(name, igemm, __VA_ARGS__)
#define GEMM_TF32(name, ...) GEMM_K(name, igemm_tf32, __VA_ARGS__)
IG_INSTANCE(GEMM, gemm_nn_16x128, false, false, IG_TILE_16x128)
IG_INSTANCE(GEMM, gemm_nn_32x128, false, false, IG_TILE_32x128)
IG_INSTANCE(GEMM, gemm_nn_64x128, false, false, IG_TILE_64x128)
IG_INSTANCE(GEMM, gemm_nn_128x128, false, false, IG_TILE_128x128)
IG_INSTANCE(GEMM, gemm_nn_64x64, false, false, IG_TILE_64x64)
IG_INSTANCE(GEMM, gemm_nt_16x128, false, true, IG_TILE_16x128)
IG_INSTANCE(GEMM, gemm_nt_32x128, false, true, IG_TILE_32x128)
IG_INSTANCE(GEMM, gemm_nt_64x128, false, true, IG_TILE_64x128)
IG_INSTANCE(GEMM, gemm_nt_128x128, false, true, IG_TILE_128x128)
IG_INSTANCE(GEMM, gemm_nt_64x64, false, true, IG_TILE_64x64)
IG_INSTANCE(GEMM, gemm_tn_16x128, true, false, IG_TILE_16x128)
IG_INSTANCE(GEMM, gemm_tn_32x128, true, false, IG_TILE_32x128)
IG_INSTANCE(GEMM, gemm_tn_64x128, true, false, IG_TILE_64x128)
IG_INSTANCE(GEMM, gemm_tn_128x128, true, false, IG_TILE_128x128)
IG_INSTANCE(GEMM, gemm_tn_64x64, true, false, IG_TILE_64x64)
IG_INSTANCE(GEMM, gemm_tt_16x128, true, true, IG_TILE_16x128)
IG_INSTANCE(GEMM, gemm_tt_32x128, true, true, IG_TILE_32x128)
IG_INSTANCE(GEMM, gemm_tt_64x128, true, true, IG_TILE_64x128)
IG_INSTANCE(GEMM, gemm_tt_128x128, true, true, IG_TILE_128x128)
IG_INSTANCE(GEMM, gemm_tt_64x64, true, true, IG_TILE_64x64)
IG_INSTANCE(GEMM_TF32, gemm_nn_tf32_16x128, false, false, IG_TILE_16x128)
IG_INSTANCE(GEMM_TF32, gemm_nn_tf32_32x128, false, false, IG_TILE_32x128)
IG_INSTANCE(GEMM_TF32, gemm_nn_tf32_64x128, false, false, IG_TILE_64x128)
IG_INSTANCE(GEMM_TF32, gemm_nn_tf32_128x128, false, false, IG_TILE_128x128)
IG_INSTANCE(GEMM_TF32, gemm_nn_tf32_64x64, false, false, IG_TILE_64x64)
IG_INSTANCE(GEMM_TF32, gemm_nt_tf32_16x128, false, true, IG_TILE_16x128)
IG_INSTANCE(GEMM_TF32, gemm_nt_tf32_32x128, false, true, IG_TILE_32x128)
IG_INSTANCE(GEMM_TF32, gemm_nt_tf32_64x128, false, true, IG_TILE_64x128)
IG_INSTANCE(GEMM_TF32, gemm_nt_tf32_128x128, false, true, IG_TILE_128x128)
IG_INSTANCE(GEMM_TF32, gemm_nt_tf32_64x64, false, true, IG_TILE_64x64)
IG_INSTANCE(GEMM_TF32, gemm_tn_tf32_16x128, true, false, IG_TILE_16x128)
IG_INSTANCE(GEMM_TF32, gemm_tn_tf32_32x128, true, false, IG_TILE_32x128)
IG_INSTANCE(GEMM_TF32, gemm_tn_tf32_64x128, true, false, IG_TILE_64x128)
IG_INSTANCE(GEMM_TF32, gemm_tn_tf32_128x128, true, false, IG_TILE_128x128)
IG_INSTANCE(GEMM_TF32, gemm_tn_tf32_64x64, true, false, IG_TILE_64x64)
IG_INSTANCE(GEMM_TF32, gemm_tt_tf32_16x128, true, true, IG_TILE_16x128)
IG_INSTANCE(GEMM_TF32, gemm_tt_tf32_32x128, true, true, IG_TILE_32x128)
IG_INSTANCE(GEMM_TF32, gemm_tt_tf32_64x128, true, true, IG_TILE_64x128)
IG_INSTANCE(GEMM_TF32, gemm_tt_tf32_128x128, true, true, IG_TILE_128x128)
IG_INSTANCE(GEMM_TF32, gemm_tt_tf32_64x64, true, true, IG_TILE_64x64)

// C = alpha·Σ_z ws[z] + beta·C, the partials added in z order.
GZ_EXTERN void gemm_splitk_reduce(int M, int N, int splits, const float* ws, float alpha, float beta, float* C, int ldc) {
	i64 mn = (i64)M * N;
	GRID_LOOP(i, mn) {
		float s = 0.f;
		for (int z = 0; z < splits; z++) s += ws[(i64)z * mn + i];
		int m = (int)(i / N), n = (int)(i % N);
		i64 ci = (i64)m * ldc + n;
		C[ci] = beta == 0.f ? alpha * s : alpha * s + beta * C[ci];
	}
}

// y[m·incy] = alpha·Σ_k A[m, k]·x[k·incx] + beta·y: one block per row of a row-major A
// (the op(A) = A case of a GEMM with n = 1). Threads stride along the row (coalesced); the block
// sum is in float64.
GZ_EXTERN void gemv_n(int M, int K, float alpha, const float* A, int lda, const float* x, int incx, float beta, float* y, int incy) {
	for (int m = blockIdx.x; m < M; m += gridDim.x) {
		const float* row = A + (i64)m * lda;
		float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
		int k = threadIdx.x;
		for (; k + 3 * (int)blockDim.x < K; k += 4 * blockDim.x) {
			s0 = fmaf(row[k], x[(i64)k * incx], s0);
			s1 = fmaf(row[k + blockDim.x], x[(i64)(k + blockDim.x) * incx], s1);
			s2 = fmaf(row[k + 2 * blockDim.x], x[(i64)(k + 2 * blockDim.x) * incx], s2);
			s3 = fmaf(row[k + 3 * blockDim.x], x[(i64)(k + 3 * blockDim.x) * incx], s3);
		}
		for (; k < K; k += blockDim.x) s0 = fmaf(row[k], x[(i64)k * incx], s0);
		double s = block_sum((double)((s0 + s1) + (s2 + s3)));
		if (threadIdx.x == 0) {
			i64 yi = (i64)m * incy;
			float v = (float)s;
			y[yi] = beta == 0.f ? alpha * v : alpha * v + beta * y[yi];
		}
	}
}

// gemv_n with 16-byte loads of A (a kernel variant, for the stored projection's g_d = P·g): each
// row's floats up to its first 16-byte boundary and after its last one are read one at a time,
// the middle as float4s, four independent sums per thread. x must be contiguous (incx 1); it is
// read a float at a time, since a row's aligned part starts at a different offset of x per row.
GZ_EXTERN void gemv_n_vec4(int M, int K, float alpha, const float* A, int lda, const float* x, float beta, float* y, int incy) {
	for (int m = blockIdx.x; m < M; m += gridDim.x) {
		const float* row = A + (i64)m * lda;
		int head = min((int)((0u - (unsigned)((uintptr_t)row >> 2)) & 3u), K);
		int nv = (K - head) >> 2;
		const float4* rv = reinterpret_cast<const float4*>(row + head);
		const float* xv = x + head;
		float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
#pragma unroll 4
		for (int i = threadIdx.x; i < nv; i += blockDim.x) {
			float4 a = rv[i];
			const float* xi = xv + 4 * (i64)i;
			s0 = fmaf(a.x, xi[0], s0);
			s1 = fmaf(a.y, xi[1], s1);
			s2 = fmaf(a.z, xi[2], s2);
			s3 = fmaf(a.w, xi[3], s3);
		}
		for (int k = threadIdx.x; k < head; k += blockDim.x) s0 = fmaf(row[k], x[k], s0);
		for (int k = head + 4 * nv + threadIdx.x; k < K; k += blockDim.x) s1 = fmaf(row[k], x[k], s1);
		double s = block_sum((double)((s0 + s1) + (s2 + s3)));
		if (threadIdx.x == 0) {
			i64 yi = (i64)m * incy;
			float v = (float)s;
			y[yi] = beta == 0.f ? alpha * v : alpha * v + beta * y[yi];
		}
	}
}

// y[m·incy] = alpha·Σ_k A[k, m]·x[k·incx] + beta·y: op(A) = Aᵀ with A stored k×m. One thread per
// column m walks down the rows; neighbouring threads read neighbouring columns (coalesced), and
// four independent loads are in flight per iteration.
GZ_EXTERN void gemv_t(int M, int K, float alpha, const float* A, int lda, const float* x, int incx, float beta, float* y, int incy) {
	GRID_LOOP(m, (i64)M) {
		const float* col = A + m;
		float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
		int k = 0;
		for (; k + 4 <= K; k += 4) {
			s0 = fmaf(col[(i64)k * lda], x[(i64)k * incx], s0);
			s1 = fmaf(col[(i64)(k + 1) * lda], x[(i64)(k + 1) * incx], s1);
			s2 = fmaf(col[(i64)(k + 2) * lda], x[(i64)(k + 2) * incx], s2);
			s3 = fmaf(col[(i64)(k + 3) * lda], x[(i64)(k + 3) * incx], s3);
		}
		for (; k < K; k++) s0 = fmaf(col[(i64)k * lda], x[(i64)k * incx], s0);
		float v = (s0 + s1) + (s2 + s3);
		i64 yi = m * incy;
		y[yi] = beta == 0.f ? alpha * v : alpha * v + beta * y[yi];
	}
}
