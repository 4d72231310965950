// Host emulation of the CUDA built-ins gaze's kernels use, for engine/cuda's emulator build
// (go test -tags cuda,cudaemu ./engine/cuda): the kernels compile as ordinary C++ and run one
// thread per block (blockDim 1), block after block, so that the conformance suite checks their
// index arithmetic, boundary handling and float64 reductions on a machine without a GPU. The
// implicit-GEMM core is replaced by a per-tile loop with the same tile bounds (igemm.cuh). What
// it cannot check: races, barriers, warp shuffles and the real shared-memory tiling.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <algorithm>

struct gz_dim3 {
	unsigned x, y, z;
};
extern gz_dim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)

using std::max;
using std::min;

inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((uint64_t)a * b) >> 32); }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline void __syncthreads() {}
struct float4 {
	float x, y, z, w;
};
template <class T>
inline T __shfl_xor_sync(unsigned, T v, int) { return v; }
inline unsigned __float_as_uint(float f) {
	unsigned u;
	memcpy(&u, &f, 4);
	return u;
}
inline int __float_as_int(float f) {
	int u;
	memcpy(&u, &f, 4);
	return u;
}
inline float __int_as_float(int i) {
	float f;
	memcpy(&f, &i, 4);
	return f;
}
inline float atomicAdd(float* p, float v) {
	float o = *p;
	*p = o + v;
	return o;
}
inline int atomicCAS(int* p, int cmp, int v) {
	int o = *p;
	if (o == cmp) *p = v;
	return o;
}
