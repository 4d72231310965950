// The one tiled, register-blocked matrix-multiply core behind GEMM and the three convolutions.
//
// C[M×N] = A[M×K]·B[K×N], where A and B are never stored as such: loader objects produce A(m, k)
// and B(k, n) from the real tensors (a matrix with or without transpose, or the implicit im2col
// of an image batch), and a store object writes C(m, n) (alpha/beta GEMM epilogue, NCHW scatter,
// or a split-K partial). This is "implicit GEMM": the im2col matrix of a convolution is generated
// tile by tile in shared memory and never written to global memory.
//
// Tiling: a block of NT = 256 threads owns a BM×BN tile of C and walks K in steps of BK = 8,
// staging an 8×BM slice of A and an 8×BN slice of B in shared memory; each thread accumulates a
// TM×TN sub-tile in registers (outer products of TM values of A and TN of B per k: TM+TN shared
// loads for TM·TN FMAs). A thread's rows are ty + i·(BM/TM) and columns tx + j·(BN/TN), so a
// warp's shared-memory reads of B hit consecutive banks and its global stores are coalesced.
//
// Because NT is a multiple of BM and BN, every thread loads the same A row and the same B column
// on every K step; loaders precompute that row's / column's address part once (prep) and only do
// the per-k part in the loop (at).
//
// Split-K: blockIdx.z takes K range [z·kchunk, (z+1)·kchunk); with more than one split the
// store writes partial tiles that a second kernel sums in a fixed order (deterministic).
#pragma once
#include "common.cuh"

#define IG_BK 8
#define IG_NT 256

#ifdef GZ_EMU
// The emulator's core: the block's tile, with the same bounds, by plain loops (k in order, fmaf).
template <int BM, int BN, int TM, int TN, class LA, class LB, class ST>
inline void igemm(const LA& la, const LB& lb, const ST& st, int M, int N, int K, int kchunk) {
	const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
	const int kbeg = blockIdx.z * kchunk;
	const int kend = min(K, kbeg + kchunk);
	for (int m = m0; m < min(M, m0 + BM); m++) {
		typename LA::Row ar = la.row(m);
		for (int n = n0; n < min(N, n0 + BN); n++) {
			typename LB::Col bc = lb.col(n);
			float acc = 0.f;
			for (int k = kbeg; k < kend; k++) acc = fmaf(la.at(ar, m, k), lb.at(bc, k), acc);
			st.put(m, n, acc);
		}
	}
}
#else
template <int BM, int BN, int TM, int TN, class LA, class LB, class ST>
__device__ __forceinline__ void igemm(const LA& la, const LB& lb, const ST& st, int M, int N, int K, int kchunk) {
	static_assert((BM / TM) * (BN / TN) == IG_NT, "tile must use 256 threads");
	static_assert(IG_NT % BM == 0 && IG_NT % BN == 0, "BM and BN must divide 256");
	__shared__ float As[IG_BK][BM];
	__shared__ float Bs[IG_BK][BN];
	const int tid = threadIdx.x;
	const int tx = tid % (BN / TN), ty = tid / (BN / TN);
	const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
	const int kbeg = blockIdx.z * kchunk;
	const int kend = min(K, kbeg + kchunk);

	// This thread's load slots: A row am (k rows ak0, ak0+astep, ...), B column bn likewise.
	const int am = tid % BM, ak0 = tid / BM, astep = IG_NT / BM;
	const int bn = tid % BN, bk0 = tid / BN, bstep = IG_NT / BN;
	const bool aok = m0 + am < M, bok = n0 + bn < N;
	typename LA::Row ar = la.row(aok ? m0 + am : 0);
	typename LB::Col bc = lb.col(bok ? n0 + bn : 0);

	float acc[TM][TN];
#pragma unroll
	for (int i = 0; i < TM; i++)
#pragma unroll
		for (int j = 0; j < TN; j++) acc[i][j] = 0.f;

	for (int k0 = kbeg; k0 < kend; k0 += IG_BK) {
		for (int kk = ak0; kk < IG_BK; kk += astep) {
			int k = k0 + kk;
			As[kk][am] = (aok && k < kend) ? la.at(ar, m0 + am, k) : 0.f;
		}
		for (int kk = bk0; kk < IG_BK; kk += bstep) {
			int k = k0 + kk;
			Bs[kk][bn] = (bok && k < kend) ? lb.at(bc, k) : 0.f;
		}
		__syncthreads();
#pragma unroll
		for (int kk = 0; kk < IG_BK; kk++) {
			float a[TM], b[TN];
#pragma unroll
			for (int i = 0; i < TM; i++) a[i] = As[kk][ty + i * (BM / TM)];
#pragma unroll
			for (int j = 0; j < TN; j++) b[j] = Bs[kk][tx + j * (BN / TN)];
#pragma unroll
			for (int i = 0; i < TM; i++)
#pragma unroll
				for (int j = 0; j < TN; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
		}
		__syncthreads();
	}
#pragma unroll
	for (int i = 0; i < TM; i++) {
		int m = m0 + ty + i * (BM / TM);
		if (m >= M) continue;
#pragma unroll
		for (int j = 0; j < TN; j++) {
			int n = n0 + tx + j * (BN / TN);
			if (n < N) st.put(m, n, acc[i][j]);
		}
	}
}

#endif

// Split-K partials: ws[z][m][n]. The stores above write them when the launch has gridDim.z > 1.
struct PartialStore {
	float* ws;
	int M, N;
	__device__ __forceinline__ void put(int m, int n, float v) const {
		ws[((i64)blockIdx.z * M + m) * N + n] = v;
	}
};

// The tile shapes every igemm-based op is instantiated with (name, BM, BN, TM, TN).
#define IG_CONFIGS(X) \
	X(16x128, 16, 128, 1, 8) \
	X(32x128, 32, 128, 2, 8) \
	X(64x128, 64, 128, 4, 8) \
	X(128x128, 128, 128, 8, 8) \
	X(64x64, 64, 64, 4, 4)
