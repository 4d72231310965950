// Shared helpers of gaze's CUDA kernels: Philox4x32-10 (the same generator as engine/rng, so
// dropout masks and random projections are identical on every device), block reductions in
// float64, and the 64-bit index helpers. Every kernel file includes this header.
#pragma once
#ifdef GZ_EMU
#include "emu.h"
#endif
#include <stdint.h>

#define GZ_EXTERN extern "C" __global__

// Index type: tensors may exceed 2^31 elements (a stored projection of 272,474 x 10,000), so
// element indices are 64-bit; the host checks grid sizes.
typedef long long i64;

// Philox4x32-10 (Salmon et al., SC'11), bit-identical to engine/rng.Philox4x32.
struct u4 { uint32_t x, y, z, w; };

__device__ __forceinline__ u4 philox4x32(u4 c, uint32_t k0, uint32_t k1) {
#pragma unroll
	for (int r = 0; r < 10; r++) {
		uint32_t hi0 = __umulhi(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
		uint32_t hi1 = __umulhi(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
		u4 n;
		n.x = hi1 ^ c.y ^ k0;
		n.y = lo1;
		n.z = hi0 ^ c.w ^ k1;
		n.w = lo0;
		c = n;
		k0 += 0x9E3779B9u;
		k1 += 0xBB67AE85u;
	}
	return c;
}

__device__ __forceinline__ uint32_t u4get(u4 v, int i) {
	return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;
}

// rng.Uniform(seed, idx): word idx&3 of the block at counter idx>>2 (third word 0), top 24 bits.
__device__ __forceinline__ float philox_uniform(uint64_t seed, uint64_t idx) {
	uint64_t blk = idx >> 2;
	u4 c = {(uint32_t)blk, (uint32_t)(blk >> 32), 0u, 0u};
	u4 o = philox4x32(c, (uint32_t)seed, (uint32_t)(seed >> 32));
	return (float)(u4get(o, (int)(idx & 3)) >> 8) * (1.0f / 16777216.0f);
}

// rng.NormalAt(seed, e): element e&3 of rng.Normal4(seed, e>>2) (counter word 2 is 2), Box-Muller
// in float64. Only the pair that holds element e is evaluated. The products are written with
// explicit round-to-nearest intrinsics so that nvcc does not contract them into FMAs, which would
// differ from Go's arithmetic in the last bit.
__device__ __forceinline__ double philox_normal_at(uint64_t seed, uint64_t e) {
	uint64_t blk = e >> 2;
	u4 c = {(uint32_t)blk, (uint32_t)(blk >> 32), 2u, 0u};
	u4 w = philox4x32(c, (uint32_t)seed, (uint32_t)(seed >> 32));
	int k = (int)(e & 3);
	uint32_t a = k < 2 ? w.x : w.z, b = k < 2 ? w.y : w.w;
	double u1 = __dmul_rn((double)a + 1.0, 1.0 / 4294967296.0);
	double u2 = __dmul_rn((double)b, 1.0 / 4294967296.0);
	double r = sqrt(__dmul_rn(-2.0, log(u1)));
	double s, co;
	sincos(__dmul_rn(2.0 * 3.141592653589793, u2), &s, &co);
	return (k & 1) ? __dmul_rn(r, s) : __dmul_rn(r, co);
}

#ifdef GZ_EMU
// One thread per block: the block-wide reductions are the identity.
inline double block_sum(double v) { return v; }
inline float block_max(float v) { return v; }
#else
// Block-wide float64 sum; every thread gets the result. blockDim.x is a multiple of 32, ≤ 1024.
// The order of additions is fixed by the thread layout, so results are reproducible.
__device__ __forceinline__ double warp_sum(double v) {
#pragma unroll
	for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

__device__ double block_sum(double v) {
	__shared__ double part[32];
	__shared__ double total;
	int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
	v = warp_sum(v);
	__syncthreads(); // part may still be read by a previous call
	if (lane == 0) part[wid] = v;
	__syncthreads();
	if (wid == 0) {
		int nw = (blockDim.x + 31) >> 5;
		double s = lane < nw ? part[lane] : 0.0;
		s = warp_sum(s);
		if (lane == 0) total = s;
	}
	__syncthreads();
	return total;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
	for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	return v;
}

// Block-wide maximum (NaN-ignoring like fmaxf, which is what max over a row of finite logits
// needs); every thread gets the result.
__device__ float block_max(float v) {
	__shared__ float part[32];
	__shared__ float total;
	int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
	v = warp_max(v);
	__syncthreads();
	if (lane == 0) part[wid] = v;
	__syncthreads();
	if (wid == 0) {
		int nw = (blockDim.x + 31) >> 5;
		float s = lane < nw ? part[lane] : -INFINITY;
		s = warp_max(s);
		if (lane == 0) total = s;
	}
	__syncthreads();
	return total;
}

#endif

// One block per row p of x[rows, hw] (grid-stride over rows): out[p] = (float)(scale·Σ_i x[p, i])
// with the sum in float64. The body of global_avg_pool (pool.cu) and tile_backward (coords.cu).
__device__ __forceinline__ void row_sums(int rows, int hw, const float* x, float* out, double scale) {
	for (int p = blockIdx.x; p < rows; p += gridDim.x) {
		const float* r = x + (i64)p * hw;
		double s = 0.0;
		for (int i = threadIdx.x; i < hw; i += blockDim.x) s += (double)r[i];
		s = block_sum(s);
		if (threadIdx.x == 0) out[p] = (float)(s * scale);
	}
}

// Grid-stride loop over [0, n) with 64-bit indices.
#define GRID_LOOP(i, n) \
	for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)gridDim.x * blockDim.x)

#ifdef GZ_EMU
inline float ld_or_zero(const float* p, bool ok) { return ok ? *p : 0.f; }
#else
// *p if ok, else 0, as one predicated load. Written in PTX because NVVM (CUDA 11.8) compiles the
// C form (ok ? *p : 0.f, inlined into the unrolled implicit-GEMM loads) into PTX whose register
// numbering and instruction order vary from run to run, which would make the committed PTX
// impossible to reproduce byte for byte (make kernels-check). p must be a valid address only when
// ok is true.
__device__ __forceinline__ float ld_or_zero(const float* p, bool ok) {
	float v;
	asm("{\n\t.reg .pred q;\n\tsetp.ne.b32 q, %2, 0;\n\tmov.b32 %0, 0;\n\t@q ld.global.f32 %0, [%1];\n\t}"
	    : "=f"(v)
	    : "l"(p), "r"((int)ok));
	return v;
}
#endif

// FastDiv divides a non-negative int below 2^31 by a divisor fixed for the launch with a multiply-high,
// an add and a shift instead of the ~20-instruction integer division, which dominated the implicit-GEMM
// loaders (two divisions per element loaded). Round-up method of Granlund & Montgomery (1994): with
// shift = ⌈log2 d⌉ and mul = ⌊2^32·(2^shift − d)/d⌋ + 1, n/d = (umulhi(n, mul) + n) >> shift; the sum
// cannot overflow since n < 2^31. The host packs (shift << 32 | mul) into one 64-bit kernel parameter
// (engine/cuda fastDiv, tested against integer division there).
struct FastDiv {
	unsigned mul, shift;
	__device__ __forceinline__ explicit FastDiv(unsigned long long packed) : mul((unsigned)packed), shift((unsigned)(packed >> 32)) {}
	__device__ __forceinline__ int div(int n) const { return (int)((__umulhi((unsigned)n, mul) + (unsigned)n) >> shift); }
};

// tf32_round rounds x to TF32 (1 sign, 8 exponent and 10 mantissa bits, kept in a float with the
// low 13 mantissa bits zero) to nearest, ties away from zero: PTX's cvt.rna.tf32.f32, which the
// tensor-core kernels apply to every operand (sm_80 and newer). The emulator's version does the
// same on the bits (adding half a TF32 unit to the magnitude, then truncating), so that the
// emulated TF32 kernels compute what the tensor cores compute: TF32 products, exact in float32,
// accumulated in float32. Infinities and NaN pass unchanged.
#ifdef GZ_EMU
inline float tf32_round(float x) {
	uint32_t u;
	memcpy(&u, &x, 4);
	if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
	memcpy(&x, &u, 4);
	return x;
}
#elif __CUDA_ARCH__ >= 800
__device__ __forceinline__ float tf32_round(float x) {
	uint32_t u;
	asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(u) : "f"(x));
	return __uint_as_float(u);
}
#endif
