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
// TM×TN sub-tile in registers (outer products of TM values of A and TN of B per k, read from
// shared memory as float4s where TM or TN allows). Shared memory is double-buffered (see igemm).
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
// Launch bounds per tile (the last column of IG_CONFIGS): the 128×128 tile (64 accumulators a
// thread) is held to 128 registers so that two blocks fit an SM (IG_LB2); the smaller tiles get no
// minimum (IG_LB1): with an explicit minimum of one block, ptxas spent ~90 registers on them
// instead of ~50–85, and ResNet-20's step was slower.
#define IG_LB1 __launch_bounds__(IG_NT)
#define IG_LB2 __launch_bounds__(IG_NT, 2)

#ifdef GZ_EMU
// The emulator's core: the block's tile, with the same bounds, by plain loops (k in order, fmaf).
template <int BM, int BN, int TM, int TN, int BK = IG_BK, class LA, class LB, class ST>
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

// The TF32 core as the emulator runs it: the same loops, every operand rounded to TF32 as the GPU
// core's cvt.rna does; the product of two TF32 values is exact in float32, so fmaf rounds once
// per term, as the tensor cores' float32 accumulation does.
template <int BM, int BN, int TM, int TN, int BK = IG_BK, class LA, class LB, class ST>
inline void igemm_tf32(const LA& la, const LB& lb, const ST& st, int M, int N, int K, int kchunk) {
	const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
	const int kbeg = blockIdx.z * kchunk;
	const int kend = min(K, kbeg + kchunk);
	for (int m = m0; m < min(M, m0 + BM); m++) {
		typename LA::Row ar = la.row(m);
		for (int n = n0; n < min(N, n0 + BN); n++) {
			typename LB::Col bc = lb.col(n);
			float acc = 0.f;
			for (int k = kbeg; k < kend; k++) acc = fmaf(tf32_round(la.at(ar, m, k)), tf32_round(lb.at(bc, k)), acc);
			st.put(m, n, acc);
		}
	}
}
#else
// A thread's sub-tile: rows ty·4 + c + g·(BM/(TM/4)) for TM a multiple of 4 (read from shared
// memory as float4), else ty + i·(BM/TM); columns tx·4 + c + g·(BN/(TN/4)) (float4 reads; TN is
// 4 or 8). Neighbouring threads of a warp read neighbouring float4s of B, and threads sharing ty
// read the same A words (broadcast), so the shared-memory reads are conflict-free.
template <int BM, int TM>
__device__ __forceinline__ int ig_row(int ty, int i) {
	if (TM % 4 == 0) return (i / 4) * (BM / (TM >= 4 ? TM / 4 : 1)) + ty * 4 + (i % 4);
	return ty + i * (BM / TM);
}
template <int BN, int TN>
__device__ __forceinline__ int ig_col(int tx, int j) { return (j / 4) * (BN / (TN / 4)) + tx * 4 + (j % 4); }

// IgSlots maps a thread's global loads of one operand onto the BK × R (R = BM or BN) tile of a
// K-step: load j of thread tid fetches row row(tid, j) (an m of A or n of B) at k offset
// kk(tid, j). Operand-major (KMAJ false): consecutive threads take consecutive rows, right for
// operands contiguous along m or n (an image's pixels). K-major (KMAJ true): eight consecutive
// threads take eight consecutive k of one row, right for operands contiguous along k (row-major
// A, weights, and both operands of the filter gradient, whose k runs over pixels); operand-major
// loads of those touched a separate sector per thread. Each loader says which it is (kmajor).
template <int R, bool KMAJ, int BK = IG_BK>
struct IgSlots {
	static constexpr int STEP = KMAJ ? IG_NT / BK : IG_NT / R;
	static constexpr int L = KMAJ ? (R * BK + IG_NT - 1) / IG_NT : (BK + STEP - 1) / STEP;
	static constexpr int ROWS = KMAJ ? L : 1; // distinct rows of a thread's loads
	static __device__ __forceinline__ int ri(int j) { return KMAJ ? j : 0; }
	static __device__ __forceinline__ int row(int tid, int j) { return KMAJ ? tid / BK + j * STEP : tid % R; }
	static __device__ __forceinline__ int kk(int tid, int j) { return KMAJ ? tid % BK : tid / R + j * STEP; }
	// A slot exists when its row lies in the tile (k-major: BM·BK < 256 leaves threads idle) and
	// its k offset in the K-step (operand-major: likewise).
	static __device__ __forceinline__ bool rowValid(int tid, int j) { return !KMAJ || row(tid, j) < R; }
	static __device__ __forceinline__ bool kkValid(int tid, int j) { return KMAJ || kk(tid, j) < BK; }
};

// Software pipeline: while the block multiplies the K-step in one shared-memory buffer, each
// thread's global loads of the next K-step are already in flight into registers, which then go to
// the other buffer: one barrier per K-step, and load latency overlapped with the FMAs. Shared
// rows are padded by four floats so that k-major stores (eight k of one row) hit eight banks.
template <int BM, int BN, int TM, int TN, int BK = IG_BK, class LA, class LB, class ST>
__device__ __forceinline__ void igemm(const LA& la, const LB& lb, const ST& st, int M, int N, int K, int kchunk) {
	static_assert((BM / TM) * (BN / TN) == IG_NT, "tile must use 256 threads");
	static_assert(IG_NT % BM == 0 && IG_NT % BN == 0, "BM and BN must divide 256");
	static_assert(TN % 4 == 0, "TN must be a multiple of 4 (float4 reads of B)");
	typedef IgSlots<BM, LA::kmajor, BK> SA;
	typedef IgSlots<BN, LB::kmajor, BK> SB;
	constexpr int AL = SA::L, BL = SB::L; // loads per thread per K-step
	__shared__ __align__(16) float As[2][BK][BM + 4];
	__shared__ __align__(16) float Bs[2][BK][BN + 4];
	const int tid = threadIdx.x;
	const int tx = tid % (BN / TN), ty = tid / (BN / TN);
	const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
	const int kbeg = blockIdx.z * kchunk;
	const int kend = min(K, kbeg + kchunk);

	// This thread's load slots. Their rows' address parts are computed once: one row per slot
	// when k-major, one row for all slots when operand-major (SX::ri maps a slot to its row).
	constexpr int RA = SA::ROWS, RB = SB::ROWS;
	typename LA::Row ar[RA];
	typename LB::Col bc[RB];
	bool aok[RA], bok[RB];
#pragma unroll
	for (int r = 0; r < RA; r++) {
		int m = m0 + SA::row(tid, r);
		aok[r] = SA::rowValid(tid, r) && m < M;
		ar[r] = la.row(aok[r] ? m : 0);
	}
#pragma unroll
	for (int r = 0; r < RB; r++) {
		int n = n0 + SB::row(tid, r);
		bok[r] = SB::rowValid(tid, r) && n < N;
		bc[r] = lb.col(bok[r] ? n : 0);
	}

	float ra[AL], rb[BL];
#define IG_GLOAD(K0)                                                                                   \
	_Pragma("unroll") for (int j = 0; j < AL; j++) {                                                   \
		int k = (K0) + SA::kk(tid, j);                                                                 \
		bool ok = SA::kkValid(tid, j) && aok[SA::ri(j)] && k < kend;                                   \
		ra[j] = ok ? la.at(ar[SA::ri(j)], m0 + SA::row(tid, j), k) : 0.f;                              \
	}                                                                                                  \
	_Pragma("unroll") for (int j = 0; j < BL; j++) {                                                   \
		int k = (K0) + SB::kk(tid, j);                                                                 \
		bool ok = SB::kkValid(tid, j) && bok[SB::ri(j)] && k < kend;                                   \
		rb[j] = ok ? lb.at(bc[SB::ri(j)], k) : 0.f;                                                    \
	}
#define IG_SSTORE(BUF)                                                                                 \
	_Pragma("unroll") for (int j = 0; j < AL; j++) {                                                   \
		if (SA::kkValid(tid, j) && SA::rowValid(tid, j)) As[BUF][SA::kk(tid, j)][SA::row(tid, j)] = ra[j]; \
	}                                                                                                  \
	_Pragma("unroll") for (int j = 0; j < BL; j++) {                                                   \
		if (SB::kkValid(tid, j) && SB::rowValid(tid, j)) Bs[BUF][SB::kk(tid, j)][SB::row(tid, j)] = rb[j]; \
	}

	float acc[TM][TN];
#pragma unroll
	for (int i = 0; i < TM; i++)
#pragma unroll
		for (int j = 0; j < TN; j++) acc[i][j] = 0.f;

	IG_GLOAD(kbeg)
	IG_SSTORE(0)
	__syncthreads();
	int buf = 0;
	for (int k0 = kbeg; k0 < kend; k0 += BK) {
		const bool more = k0 + BK < kend;
		if (more) {
			IG_GLOAD(k0 + BK)
		}
#pragma unroll
		for (int kk = 0; kk < BK; kk++) {
			float a[TM], b[TN];
			if (TM % 4 == 0) {
#pragma unroll
				for (int g = 0; g < TM / 4; g++) {
					float4 v = *reinterpret_cast<const float4*>(&As[buf][kk][ig_row<BM, TM>(ty, 4 * g)]);
					a[4 * g] = v.x, a[4 * g + 1] = v.y, a[4 * g + 2] = v.z, a[4 * g + 3] = v.w;
				}
			} else {
#pragma unroll
				for (int i = 0; i < TM; i++) a[i] = As[buf][kk][ig_row<BM, TM>(ty, i)];
			}
#pragma unroll
			for (int g = 0; g < TN / 4; g++) {
				float4 v = *reinterpret_cast<const float4*>(&Bs[buf][kk][ig_col<BN, TN>(tx, 4 * g)]);
				b[4 * g] = v.x, b[4 * g + 1] = v.y, b[4 * g + 2] = v.z, b[4 * g + 3] = v.w;
			}
#pragma unroll
			for (int i = 0; i < TM; i++)
#pragma unroll
				for (int j = 0; j < TN; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
		}
		if (more) {
			IG_SSTORE(buf ^ 1)
		}
		__syncthreads();
		buf ^= 1;
	}
#undef IG_GLOAD
#undef IG_SSTORE
#pragma unroll
	for (int i = 0; i < TM; i++) {
		int m = m0 + ig_row<BM, TM>(ty, i);
		if (m >= M) continue;
#pragma unroll
		for (int j = 0; j < TN; j++) {
			int n = n0 + ig_col<BN, TN>(tx, j);
			if (n < N) st.put(m, n, acc[i][j]);
		}
	}
}

// The TF32 tensor-core core (--precision tf32, compute capability 8.0 and newer): the loaders,
// load slots, double-buffered shared memory and stores of igemm, with the multiply done by
// mma.sync.m16n8k8 (TF32 operands, float32 accumulation). Operands are rounded to TF32
// (cvt.rna) once, when they are stored to shared memory. The block's 8 warps tile the BM×BN tile
// as WARPS_M × WARPS_N warp tiles of WTM × WTN, each MI × NI mma tiles of 16 × 8. Fragment layouts
// (PTX ISA, mma.m16n8k8 .tf32; g = lane / 4, t = lane % 4): A a0 (g, t), a1 (g+8, t), a2 (g, t+4),
// a3 (g+8, t+4); B b0 (k t, n g), b1 (k t+4, n g); C c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t),
// c3 (g+8, 2t+1). Shared rows are padded to a stride of 8 modulo 32 words, so that a fragment
// load (t selects the k row, g the column) touches 32 different banks.
//
// Built for compute 7.x (the sm70 PTX set), where mma.sync on TF32 does not exist, it is the
// float32 core: the entry points exist in both sets, and engine/cuda refuses --precision tf32
// on such GPUs and PTX sets.
template <int BM, int BN, int TM, int TN, int BK = IG_BK, class LA, class LB, class ST>
__device__ __forceinline__ void igemm_tf32(const LA& la, const LB& lb, const ST& st, int M, int N, int K, int kchunk) {
#if __CUDA_ARCH__ >= 800
	constexpr int WARPS_M = BM >= 32 ? 2 : 1, WARPS_N = (IG_NT / 32) / WARPS_M;
	constexpr int WTM = BM / WARPS_M, WTN = BN / WARPS_N;
	constexpr int MI = WTM / 16, NI = WTN / 8;
	static_assert(MI >= 1 && NI >= 1 && WTM % 16 == 0 && WTN % 8 == 0, "tile too small for 8 warps of m16n8 mma tiles");
	static_assert(BK % 8 == 0, "BK must be a multiple of the mma's k of 8");
	static_assert(IG_NT % BM == 0 && IG_NT % BN == 0, "BM and BN must divide 256");
	constexpr int PA = (40 - BM % 32) % 32, PB = (40 - BN % 32) % 32; // row strides ≡ 8 (mod 32)
	typedef IgSlots<BM, LA::kmajor, BK> SA;
	typedef IgSlots<BN, LB::kmajor, BK> SB;
	constexpr int AL = SA::L, BL = SB::L;
	__shared__ __align__(16) float As[2][BK][BM + PA];
	__shared__ __align__(16) float Bs[2][BK][BN + PB];
	const int tid = threadIdx.x;
	const int lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
	const int wm = warp / WARPS_N, wn = warp % WARPS_N;
	const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
	const int kbeg = blockIdx.z * kchunk;
	const int kend = min(K, kbeg + kchunk);

	constexpr int RA = SA::ROWS, RB = SB::ROWS;
	typename LA::Row ar[RA];
	typename LB::Col bc[RB];
	bool aok[RA], bok[RB];
#pragma unroll
	for (int r = 0; r < RA; r++) {
		int m = m0 + SA::row(tid, r);
		aok[r] = SA::rowValid(tid, r) && m < M;
		ar[r] = la.row(aok[r] ? m : 0);
	}
#pragma unroll
	for (int r = 0; r < RB; r++) {
		int n = n0 + SB::row(tid, r);
		bok[r] = SB::rowValid(tid, r) && n < N;
		bc[r] = lb.col(bok[r] ? n : 0);
	}

	float ra[AL], rb[BL];
#define IG_GLOAD(K0)                                                                                   \
	_Pragma("unroll") for (int j = 0; j < AL; j++) {                                                   \
		int k = (K0) + SA::kk(tid, j);                                                                 \
		bool ok = SA::kkValid(tid, j) && aok[SA::ri(j)] && k < kend;                                   \
		ra[j] = ok ? la.at(ar[SA::ri(j)], m0 + SA::row(tid, j), k) : 0.f;                              \
	}                                                                                                  \
	_Pragma("unroll") for (int j = 0; j < BL; j++) {                                                   \
		int k = (K0) + SB::kk(tid, j);                                                                 \
		bool ok = SB::kkValid(tid, j) && bok[SB::ri(j)] && k < kend;                                   \
		rb[j] = ok ? lb.at(bc[SB::ri(j)], k) : 0.f;                                                    \
	}
#define IG_SSTORE(BUF)                                                                                 \
	_Pragma("unroll") for (int j = 0; j < AL; j++) {                                                   \
		if (SA::kkValid(tid, j) && SA::rowValid(tid, j)) As[BUF][SA::kk(tid, j)][SA::row(tid, j)] = tf32_round(ra[j]); \
	}                                                                                                  \
	_Pragma("unroll") for (int j = 0; j < BL; j++) {                                                   \
		if (SB::kkValid(tid, j) && SB::rowValid(tid, j)) Bs[BUF][SB::kk(tid, j)][SB::row(tid, j)] = tf32_round(rb[j]); \
	}

	float acc[MI][NI][4];
#pragma unroll
	for (int i = 0; i < MI; i++)
#pragma unroll
		for (int j = 0; j < NI; j++)
#pragma unroll
			for (int q = 0; q < 4; q++) acc[i][j][q] = 0.f;

	IG_GLOAD(kbeg)
	IG_SSTORE(0)
	__syncthreads();
	int buf = 0;
	for (int k0 = kbeg; k0 < kend; k0 += BK) {
		const bool more = k0 + BK < kend;
		if (more) {
			IG_GLOAD(k0 + BK)
		}
#pragma unroll
		for (int ks = 0; ks < BK; ks += 8) {
			uint32_t a[MI][4], b[NI][2];
#pragma unroll
			for (int i = 0; i < MI; i++) {
				int r = wm * WTM + i * 16 + g;
				a[i][0] = __float_as_uint(As[buf][ks + t][r]);
				a[i][1] = __float_as_uint(As[buf][ks + t][r + 8]);
				a[i][2] = __float_as_uint(As[buf][ks + t + 4][r]);
				a[i][3] = __float_as_uint(As[buf][ks + t + 4][r + 8]);
			}
#pragma unroll
			for (int j = 0; j < NI; j++) {
				int c = wn * WTN + j * 8 + g;
				b[j][0] = __float_as_uint(Bs[buf][ks + t][c]);
				b[j][1] = __float_as_uint(Bs[buf][ks + t + 4][c]);
			}
#pragma unroll
			for (int i = 0; i < MI; i++)
#pragma unroll
				for (int j = 0; j < NI; j++)
					asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
					             : "+f"(acc[i][j][0]), "+f"(acc[i][j][1]), "+f"(acc[i][j][2]), "+f"(acc[i][j][3])
					             : "r"(a[i][0]), "r"(a[i][1]), "r"(a[i][2]), "r"(a[i][3]), "r"(b[j][0]), "r"(b[j][1]));
		}
		if (more) {
			IG_SSTORE(buf ^ 1)
		}
		__syncthreads();
		buf ^= 1;
	}
#undef IG_GLOAD
#undef IG_SSTORE
#pragma unroll
	for (int i = 0; i < MI; i++)
#pragma unroll
		for (int j = 0; j < NI; j++)
#pragma unroll
			for (int q = 0; q < 4; q++) {
				int m = m0 + wm * WTM + i * 16 + g + (q >> 1) * 8;
				int n = n0 + wn * WTN + j * 8 + t * 2 + (q & 1);
				if (m < M && n < N) st.put(m, n, acc[i][j][q]);
			}
#else
	igemm<BM, BN, TM, TN, BK>(la, lb, st, M, N, K, kchunk);
#endif
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

// The tile shapes every igemm-based kernel is instantiated with: BM, BN, TM, TN and the launch
// bounds. A kernel's name ends in its tile (gemm_nn_16x128 is the 16×128 tile), and engine/cuda
// declares the same names and picks a tile by BM and BN.
#define IG_TILE_16x128 16, 128, 1, 8, IG_LB1
#define IG_TILE_32x128 32, 128, 2, 8, IG_LB1
#define IG_TILE_64x128 64, 128, 4, 8, IG_LB1
#define IG_TILE_128x128 128, 128, 8, 8, IG_LB2
#define IG_TILE_64x64 64, 64, 4, 4, IG_LB1
// Variant tiles (engine/cuda's kernel variants, timed against the defaults on a GPU): wider tiles
// for the 16- and 32-channel convolutions (more outputs per thread), narrower ones for the filter
// gradient's 144 and 288 columns (3×3 over 16 and 32 channels: less of the last tile wasted).
#define IG_TILE_16x256 16, 256, 2, 8, IG_LB1
#define IG_TILE_32x256 32, 256, 4, 8, IG_LB1
#define IG_TILE_16x64 16, 64, 1, 4, IG_LB1
#define IG_TILE_32x64 32, 64, 2, 4, IG_LB1

// IG_INSTANCE(M, name, args..., IG_TILE_x) defines one kernel with the kernel macro M: the tile
// macro expands into M's last five parameters. Every kernel name is written out in full where it
// is defined (no token pasting), so that searching for a name finds its definition.
#define IG_INSTANCE(M, ...) M(__VA_ARGS__)
