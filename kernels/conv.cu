// Convolutions as implicit GEMMs on the igemm core (no im2col buffer, no cuDNN):
//
//   forward          y[n,k,p]   = Σ_{c,r,s} w[k,c,r,s]·x[n,c,tap(p,r,s)]   M = K, N = n·OH·OW, K = C·R·S
//   backward data    dx[n,c,q]  = Σ_{k,r,s} w[k,c,r,s]·dy[n,k,src(q,r,s)] M = C, N = n·H·W,   K = K·R·S
//   backward filter  dw[k,c,r,s] += Σ_{n,p} dy[n,k,p]·x[n,c,tap(p,r,s)]    M = K, N = C·R·S,   K = n·OH·OW
//
// Backward data is the gather ("dx pulls from dy") form, valid for any stride: an input pixel q
// receives from output pixel o along tap (r, s) when o·stride − pad + r = q, so a tap whose
// (q + pad − r) is not a multiple of the stride contributes zero. It is also the forward pass of
// a transposed convolution. Backward filter has a long reduction (batch × pixels) and a small
// output, so it always runs split-K into a workspace that conv_bwd_filter_reduce adds to dw in a
// fixed order (deterministic, and dw accumulates as the contract says).
//
// A 1×1 stride-1 unpadded forward convolution needs no tap arithmetic: its B loader reads
// x[n, c, p] directly (the conv_fwd_1x1 kernels).
//
// Forward and backward data run split-K too when their grid would leave SMs idle (few output
// channels × few pixels, ResNet's 8×8 stage): the partial tiles go to a workspace and
// conv_splitk_reduce adds them in a fixed order and scatters them to NCHW.
//
// The loaders' per-element index arithmetic divides by R·S, S, the strides and the output size;
// those divisors come precomputed as FastDiv parameters (common.cuh).
#include "igemm.cuh"

struct Geom {
	int N, C, H, W, K, R, S, sh, sw, ph, pw, OH, OW;
	FastDiv fRS, fS, fSH, fSW, fOHW, fOW;
};

#define GEOM_PARAMS int N, int C, int H, int W, int K, int R, int S, int sh, int sw, int ph, int pw, int OH, int OW, \
	unsigned long long dRS, unsigned long long dS, unsigned long long dSH, unsigned long long dSW, unsigned long long dOHW, unsigned long long dOW
#define GEOM_ARGS Geom{N, C, H, W, K, R, S, sh, sw, ph, pw, OH, OW, FastDiv(dRS), FastDiv(dS), FastDiv(dSH), FastDiv(dSW), FastDiv(dOHW), FastDiv(dOW)}

// ---- forward ----

struct FwdA { // w as a K×CRS row-major matrix
	static constexpr bool kmajor = true; // w[m, ·] is contiguous along k = (c, r, s)
	const float* w;
	int crs;
	struct Row { i64 base; };
	__device__ __forceinline__ Row row(int m) const { return {(i64)m * crs}; }
	__device__ __forceinline__ float at(const Row& r, int, int k) const { return w[r.base + k]; }
};

struct FwdB { // implicit im2col of x: column n = (image, oh, ow), row k = (c, r, s)
	static constexpr bool kmajor = false; // consecutive n are neighbouring output pixels
	const float* x;
	Geom g;
	struct Col { i64 base; int ih0, iw0; };
	__device__ __forceinline__ Col col(int n) const {
		int img = g.fOHW.div(n), p = n - img * (g.OH * g.OW);
		int oh = g.fOW.div(p), ow = p - oh * g.OW;
		return {(i64)img * g.C * g.H * g.W, oh * g.sh - g.ph, ow * g.sw - g.pw};
	}
	__device__ __forceinline__ float at(const Col& c, int k) const {
		int ch = g.fRS.div(k), t = k - ch * (g.R * g.S);
		int r = g.fS.div(t), s = t - r * g.S;
		int ih = c.ih0 + r, iw = c.iw0 + s;
		bool ok = (unsigned)ih < (unsigned)g.H && (unsigned)iw < (unsigned)g.W;
		return ld_or_zero(x + c.base + ((i64)ch * g.H + ih) * g.W + iw, ok);
	}
};

struct Fwd1x1B { // 1×1, stride 1, no padding: x[n] is already the C×HW matrix
	static constexpr bool kmajor = false; // consecutive n are neighbouring pixels
	const float* x;
	int C, HW;
	struct Col { i64 base; };
	__device__ __forceinline__ Col col(int n) const {
		int img = n / HW, p = n - img * HW;
		return {(i64)img * C * HW + p};
	}
	__device__ __forceinline__ float at(const Col& c, int k) const { return x[c.base + (i64)k * HW]; }
};

struct NCHWStore { // out[img, m, p] = v + beta·out (beta 0: overwrite)
	float* out;
	int M, P;
	float beta;
	__device__ __forceinline__ void put(int m, int n, float v) const {
		int img = n / P, p = n - img * P;
		i64 i = ((i64)img * M + m) * P + p;
		out[i] = beta == 0.f ? v : v + beta * out[i];
	}
};

// The NCHW store, or with a split-K launch (gridDim.z > 1) the partial tile for conv_splitk_reduce.
struct ConvStore {
	NCHWStore out;
	PartialStore part;
	__device__ __forceinline__ void put(int m, int n, float v) const {
		if (gridDim.z > 1)
			part.put(m, n, v);
		else
			out.put(m, n, v);
	}
};

// out[img, m, p] = Σ_z ws[z][m][img·P + p] (z in order) + beta·out (beta 0: overwrite).
GZ_EXTERN void conv_splitk_reduce(int M, int NP, int P, int splits, const float* ws, float* out, float beta) {
	i64 mn = (i64)M * NP;
	GRID_LOOP(i, mn) {
		float s = 0.f;
		for (int z = 0; z < splits; z++) s += ws[(i64)z * mn + i];
		int m = (int)(i / NP), n = (int)(i % NP);
		int img = n / P, p = n - img * P;
		i64 o = ((i64)img * M + m) * P + p;
		out[o] = beta == 0.f ? s : s + beta * out[o];
	}
}

// The kernel macros take the core (igemm, or igemm_tf32 for --precision tf32) and its K step;
// CONV_FWD and the others below are the float32 kernels with BK 8, the _TF32 and _BK16 forms
// their tensor-core and long-K-step variants.
#define CONV_FWD_K(name, CORE, BK, BM, BN, TM, TN, LB)                                                         \
	GZ_EXTERN void LB name(GEOM_PARAMS, const float* x, const float* w, float* y, float* ws, int kchunk) {      \
		Geom g = GEOM_ARGS;                                                                                 \
		ConvStore st{NCHWStore{y, K, OH * OW, 0.f}, PartialStore{ws, K, N * OH * OW}};                      \
		CORE<BM, BN, TM, TN, BK>(FwdA{w, C * R * S}, FwdB{x, g}, st, K, N * OH * OW, C * R * S, kchunk);    \
	}
#define CONV_FWD_1X1_K(name, CORE, BK, BM, BN, TM, TN, LB)                                                     \
	GZ_EXTERN void LB name(int N, int C, int HW, int K, const float* x, const float* w, float* y) {            \
		CORE<BM, BN, TM, TN, BK>(FwdA{w, C}, Fwd1x1B{x, C, HW}, NCHWStore{y, K, HW, 0.f}, K, N * HW, C, C); \
	}
#define CONV_FWD(name, ...) CONV_FWD_K(name, igemm, IG_BK, __VA_ARGS__)
#define CONV_FWD_1X1(name, ...) CONV_FWD_1X1_K(name, igemm, IG_BK, __VA_ARGS__)
#define CONV_FWD_TF32(name, ...) CONV_FWD_K(name, igemm_tf32, IG_BK, __VA_ARGS__)
#define CONV_FWD_1X1_TF32(name, ...) CONV_FWD_1X1_K(name, igemm_tf32, IG_BK, __VA_ARGS__)
IG_INSTANCE(CONV_FWD, conv_fwd_16x128, IG_TILE_16x128)
IG_INSTANCE(CONV_FWD_1X1, conv_fwd_1x1_16x128, IG_TILE_16x128)
IG_INSTANCE(CONV_FWD, conv_fwd_32x128, IG_TILE_32x128)
IG_INSTANCE(CONV_FWD_1X1, conv_fwd_1x1_32x128, IG_TILE_32x128)
IG_INSTANCE(CONV_FWD, conv_fwd_64x128, IG_TILE_64x128)
IG_INSTANCE(CONV_FWD_1X1, conv_fwd_1x1_64x128, IG_TILE_64x128)
IG_INSTANCE(CONV_FWD, conv_fwd_128x128, IG_TILE_128x128)
IG_INSTANCE(CONV_FWD_1X1, conv_fwd_1x1_128x128, IG_TILE_128x128)
IG_INSTANCE(CONV_FWD, conv_fwd_64x64, IG_TILE_64x64)
IG_INSTANCE(CONV_FWD_1X1, conv_fwd_1x1_64x64, IG_TILE_64x64)
// Variants: wider tiles for 16 and 32 output channels.
IG_INSTANCE(CONV_FWD, conv_fwd_16x256, IG_TILE_16x256)
IG_INSTANCE(CONV_FWD_1X1, conv_fwd_1x1_16x256, IG_TILE_16x256)
IG_INSTANCE(CONV_FWD, conv_fwd_32x256, IG_TILE_32x256)
IG_INSTANCE(CONV_FWD_1X1, conv_fwd_1x1_32x256, IG_TILE_32x256)
// TF32 tensor cores (--precision tf32), one per default tile.
IG_INSTANCE(CONV_FWD_TF32, conv_fwd_tf32_16x128, IG_TILE_16x128)
IG_INSTANCE(CONV_FWD_1X1_TF32, conv_fwd_1x1_tf32_16x128, IG_TILE_16x128)
IG_INSTANCE(CONV_FWD_TF32, conv_fwd_tf32_32x128, IG_TILE_32x128)
IG_INSTANCE(CONV_FWD_1X1_TF32, conv_fwd_1x1_tf32_32x128, IG_TILE_32x128)
IG_INSTANCE(CONV_FWD_TF32, conv_fwd_tf32_64x128, IG_TILE_64x128)
IG_INSTANCE(CONV_FWD_1X1_TF32, conv_fwd_1x1_tf32_64x128, IG_TILE_64x128)
IG_INSTANCE(CONV_FWD_TF32, conv_fwd_tf32_128x128, IG_TILE_128x128)
IG_INSTANCE(CONV_FWD_1X1_TF32, conv_fwd_1x1_tf32_128x128, IG_TILE_128x128)
IG_INSTANCE(CONV_FWD_TF32, conv_fwd_tf32_64x64, IG_TILE_64x64)
IG_INSTANCE(CONV_FWD_1X1_TF32, conv_fwd_1x1_tf32_64x64, IG_TILE_64x64)

// ---- backward data ----

struct BwdA { // A(c, (k, r, s)) = w[k, c, r, s]
	static constexpr bool kmajor = true; // runs of R·S along k
	const float* w;
	int C, RS;
	FastDiv fRS;
	struct Row { int c; };
	__device__ __forceinline__ Row row(int m) const { return {m}; }
	__device__ __forceinline__ float at(const Row& r, int, int k) const {
		int ko = fRS.div(k), t = k - ko * RS;
		return w[((i64)ko * C + r.c) * RS + t];
	}
};

struct BwdB { // B((k, r, s), (image, ih, iw)) = dy[image, k, oh, ow] where oh·sh − ph + r = ih
	static constexpr bool kmajor = false; // consecutive n are neighbouring input pixels
	const float* dy;
	Geom g;
	struct Col { i64 base; int ihp, iwp; };
	__device__ __forceinline__ Col col(int n) const {
		int hw = g.H * g.W;
		int img = n / hw, q = n - img * hw;
		int ih = q / g.W, iw = q - ih * g.W;
		return {(i64)img * g.K * g.OH * g.OW, ih + g.ph, iw + g.pw};
	}
	__device__ __forceinline__ float at(const Col& c, int k) const {
		int ko = g.fRS.div(k), t = k - ko * (g.R * g.S);
		int r = g.fS.div(t), s = t - r * g.S;
		int th = c.ihp - r, tw = c.iwp - s;
		if (th < 0 || tw < 0) return 0.f;
		int oh = g.fSH.div(th), ow = g.fSW.div(tw);
		if (oh * g.sh != th || ow * g.sw != tw || oh >= g.OH || ow >= g.OW) return 0.f;
		return dy[c.base + ((i64)ko * g.OH + oh) * g.OW + ow];
	}
};

#define CONV_BWD_DATA_K(name, CORE, BK, BM, BN, TM, TN, LB)                                                      \
	GZ_EXTERN void LB name(GEOM_PARAMS, const float* dy, const float* w, float* dx, float beta, float* ws, int kchunk) { \
		Geom g = GEOM_ARGS;                                                                                  \
		ConvStore st{NCHWStore{dx, C, H * W, beta}, PartialStore{ws, C, N * H * W}};                         \
		CORE<BM, BN, TM, TN, BK>(BwdA{w, C, R * S, g.fRS}, BwdB{dy, g}, st, C, N * H * W, K * R * S, kchunk); \
	}
#define CONV_BWD_DATA(name, ...) CONV_BWD_DATA_K(name, igemm, IG_BK, __VA_ARGS__)
#define CONV_BWD_DATA_TF32(name, ...) CONV_BWD_DATA_K(name, igemm_tf32, IG_BK, __VA_ARGS__)
IG_INSTANCE(CONV_BWD_DATA, conv_bwd_data_16x128, IG_TILE_16x128)
IG_INSTANCE(CONV_BWD_DATA, conv_bwd_data_32x128, IG_TILE_32x128)
IG_INSTANCE(CONV_BWD_DATA, conv_bwd_data_64x128, IG_TILE_64x128)
IG_INSTANCE(CONV_BWD_DATA, conv_bwd_data_128x128, IG_TILE_128x128)
IG_INSTANCE(CONV_BWD_DATA, conv_bwd_data_64x64, IG_TILE_64x64)
IG_INSTANCE(CONV_BWD_DATA, conv_bwd_data_16x256, IG_TILE_16x256)
IG_INSTANCE(CONV_BWD_DATA, conv_bwd_data_32x256, IG_TILE_32x256)
IG_INSTANCE(CONV_BWD_DATA_TF32, conv_bwd_data_tf32_16x128, IG_TILE_16x128)
IG_INSTANCE(CONV_BWD_DATA_TF32, conv_bwd_data_tf32_32x128, IG_TILE_32x128)
IG_INSTANCE(CONV_BWD_DATA_TF32, conv_bwd_data_tf32_64x128, IG_TILE_64x128)
IG_INSTANCE(CONV_BWD_DATA_TF32, conv_bwd_data_tf32_128x128, IG_TILE_128x128)
IG_INSTANCE(CONV_BWD_DATA_TF32, conv_bwd_data_tf32_64x64, IG_TILE_64x64)

// ---- backward filter ----

struct BwdFilterA { // A(k, (image, p)) = dy[image, k, p]
	static constexpr bool kmajor = true; // dy[image, k, ·] is contiguous along the pixels
	const float* dy;
	int K, P;
	FastDiv fP;
	struct Row { int k; };
	__device__ __forceinline__ Row row(int m) const { return {m}; }
	__device__ __forceinline__ float at(const Row& r, int, int k) const {
		int img = fP.div(k), p = k - img * P;
		return dy[((i64)img * K + r.k) * P + p];
	}
};

struct BwdFilterB { // B((image, oh, ow), (c, r, s)) = x[image, c, oh·sh − ph + r, ow·sw − pw + s]
	static constexpr bool kmajor = true; // x along the pixels, consecutive for stride 1
	const float* x;
	Geom g;
	struct Col { i64 cbase; int r, s; };
	__device__ __forceinline__ Col col(int n) const {
		int rs = g.R * g.S;
		int ch = g.fRS.div(n), t = n - ch * rs;
		int r = g.fS.div(t), s = t - r * g.S;
		return {(i64)ch * g.H * g.W, r - g.ph, s - g.pw};
	}
	__device__ __forceinline__ float at(const Col& c, int k) const {
		int img = g.fOHW.div(k), p = k - img * (g.OH * g.OW);
		int oh = g.fOW.div(p), ow = p - oh * g.OW;
		int ih = oh * g.sh + c.r, iw = ow * g.sw + c.s;
		bool ok = (unsigned)ih < (unsigned)g.H && (unsigned)iw < (unsigned)g.W;
		return ld_or_zero(x + (i64)img * g.C * g.H * g.W + c.cbase + (i64)ih * g.W + iw, ok);
	}
};

#define CONV_BWD_FILTER_K(name, CORE, BK, BM, BN, TM, TN, LB)                                                    \
	GZ_EXTERN void LB name(GEOM_PARAMS, const float* x, const float* dy, float* ws, int kchunk) {               \
		Geom g = GEOM_ARGS;                                                                                  \
		int crs = C * R * S;                                                                                 \
		CORE<BM, BN, TM, TN, BK>(BwdFilterA{dy, K, OH * OW, g.fOHW}, BwdFilterB{x, g}, PartialStore{ws, K, crs}, K, crs, N * OH * OW, kchunk); \
	}
#define CONV_BWD_FILTER(name, ...) CONV_BWD_FILTER_K(name, igemm, IG_BK, __VA_ARGS__)
#define CONV_BWD_FILTER_BK16(name, ...) CONV_BWD_FILTER_K(name, igemm, 16, __VA_ARGS__)
#define CONV_BWD_FILTER_TF32(name, ...) CONV_BWD_FILTER_K(name, igemm_tf32, IG_BK, __VA_ARGS__)
IG_INSTANCE(CONV_BWD_FILTER, conv_bwd_filter_16x128, IG_TILE_16x128)
IG_INSTANCE(CONV_BWD_FILTER, conv_bwd_filter_32x128, IG_TILE_32x128)
IG_INSTANCE(CONV_BWD_FILTER, conv_bwd_filter_64x128, IG_TILE_64x128)
IG_INSTANCE(CONV_BWD_FILTER, conv_bwd_filter_128x128, IG_TILE_128x128)
IG_INSTANCE(CONV_BWD_FILTER, conv_bwd_filter_64x64, IG_TILE_64x64)
// Variants: 64-column tiles for the 144 (3×3×16) and 288 (3×3×32) columns, and a K step of 16
// (half the barriers over the long batch × pixels reduction).
IG_INSTANCE(CONV_BWD_FILTER, conv_bwd_filter_16x64, IG_TILE_16x64)
IG_INSTANCE(CONV_BWD_FILTER, conv_bwd_filter_32x64, IG_TILE_32x64)
IG_INSTANCE(CONV_BWD_FILTER_BK16, conv_bwd_filter_16x128_bk16, IG_TILE_16x128)
IG_INSTANCE(CONV_BWD_FILTER_BK16, conv_bwd_filter_32x128_bk16, IG_TILE_32x128)
IG_INSTANCE(CONV_BWD_FILTER_BK16, conv_bwd_filter_64x128_bk16, IG_TILE_64x128)
IG_INSTANCE(CONV_BWD_FILTER_BK16, conv_bwd_filter_16x64_bk16, IG_TILE_16x64)
IG_INSTANCE(CONV_BWD_FILTER_BK16, conv_bwd_filter_32x64_bk16, IG_TILE_32x64)
IG_INSTANCE(CONV_BWD_FILTER_BK16, conv_bwd_filter_64x64_bk16, IG_TILE_64x64)
IG_INSTANCE(CONV_BWD_FILTER_TF32, conv_bwd_filter_tf32_16x128, IG_TILE_16x128)
IG_INSTANCE(CONV_BWD_FILTER_TF32, conv_bwd_filter_tf32_32x128, IG_TILE_32x128)
IG_INSTANCE(CONV_BWD_FILTER_TF32, conv_bwd_filter_tf32_64x128, IG_TILE_64x128)
IG_INSTANCE(CONV_BWD_FILTER_TF32, conv_bwd_filter_tf32_128x128, IG_TILE_128x128)
IG_INSTANCE(CONV_BWD_FILTER_TF32, conv_bwd_filter_tf32_64x64, IG_TILE_64x64)

// dw[i] += Σ_z ws[z][i], in z order.
GZ_EXTERN void conv_bwd_filter_reduce(int n, int splits, const float* ws, float* dw) {
	GRID_LOOP(i, (i64)n) {
		float s = 0.f;
		for (int z = 0; z < splits; z++) s += ws[(i64)z * n + i];
		dw[i] += s;
	}
}
