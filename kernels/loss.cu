// Row-wise losses, one block per row (k from 1 to 4,096 and beyond): softmax cross-entropy with a
// float64 log-sum-exp around the row maximum, MSE, stable sigmoid BCE, and argmax. Sums are
// float64. (The plain softmax of CoordConv's spatial softmax is in coords.cu.)
//
// status (int[4], device memory) records the first bad label: {1, row, label bits, k}; the host
// reads it in Sync and reports it, as the CPU's panic would.
#include "common.cuh"

GZ_EXTERN void softmax_xent(int n, int k, const float* logits, const float* labels, float* losses, float* dlogits, float scale, int* status) {
	for (int row = blockIdx.x; row < n; row += gridDim.x) {
		const float* z = logits + (i64)row * k;
		float lf = labels[row];
		int label = (int)lf;
		bool bad = !(lf >= 0.f && lf < (float)k) || (float)label != lf;
		if (bad) {
			if (threadIdx.x == 0) {
				if (atomicCAS(status, 0, 1) == 0) {
					status[1] = row;
					status[2] = __float_as_int(lf);
					status[3] = k;
				}
				losses[row] = __int_as_float(0x7fc00000);
			}
			continue;
		}
		float m = -INFINITY;
		for (int j = threadIdx.x; j < k; j += blockDim.x) m = fmaxf(m, z[j]);
		m = block_max(m);
		double md = (double)m, s = 0.0;
		for (int j = threadIdx.x; j < k; j += blockDim.x) s += exp((double)z[j] - md);
		s = block_sum(s);
		double lse = md + log(s);
		if (threadIdx.x == 0) losses[row] = (float)(lse - (double)z[label]);
		if (dlogits) {
			float* g = dlogits + (i64)row * k;
			for (int j = threadIdx.x; j < k; j += blockDim.x) {
				float v = scale * (float)exp((double)z[j] - lse);
				g[j] = j == label ? v - scale : v;
			}
		}
	}
}

GZ_EXTERN void mse(int n, int k, const float* pred, const float* target, float* losses, float* dpred, float scale) {
	float s2 = 2.f * scale;
	for (int row = blockIdx.x; row < n; row += gridDim.x) {
		double s = 0.0;
		for (int j = threadIdx.x; j < k; j += blockDim.x) {
			i64 i = (i64)row * k + j;
			float e = pred[i] - target[i];
			s += (double)e * (double)e;
			if (dpred) dpred[i] = s2 * e;
		}
		s = block_sum(s);
		if (threadIdx.x == 0) losses[row] = (float)s;
	}
}

GZ_EXTERN void sigmoid_bce(int n, int k, const float* logits, const float* target, float* losses, float* dlogits, float scale) {
	for (int row = blockIdx.x; row < n; row += gridDim.x) {
		double s = 0.0;
		for (int j = threadIdx.x; j < k; j += blockDim.x) {
			i64 i = (i64)row * k + j;
			double z = (double)logits[i], t = (double)target[i];
			double e = exp(-fabs(z));
			s += fmax(z, 0.0) - z * t + log1p(e);
			if (dlogits) {
				double sig = z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
				dlogits[i] = scale * (float)(sig - t);
			}
		}
		s = block_sum(s);
		if (threadIdx.x == 0) losses[row] = (float)s;
	}
}

// out[row] = index of the first maximum of x[row, :].
GZ_EXTERN void argmax(int n, int k, const float* x, float* out) {
	__shared__ float bv[32];
	__shared__ int bi[32];
	for (int row = blockIdx.x; row < n; row += gridDim.x) {
		const float* r = x + (i64)row * k;
		float m = -INFINITY;
		int idx = 0x7fffffff;
		for (int j = threadIdx.x; j < k; j += blockDim.x) {
			float v = r[j];
			if (v > m || idx == 0x7fffffff) { m = v; idx = j; }
		}
		for (int o = 16; o > 0; o >>= 1) {
			float v2 = __shfl_xor_sync(0xffffffffu, m, o);
			int i2 = __shfl_xor_sync(0xffffffffu, idx, o);
			if (v2 > m || (v2 == m && i2 < idx) || (idx == 0x7fffffff && i2 != 0x7fffffff)) { m = v2; idx = i2; }
		}
		int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
		__syncthreads();
		if (lane == 0) { bv[wid] = m; bi[wid] = idx; }
		__syncthreads();
		if (threadIdx.x == 0) {
			float bm = bv[0];
			int b = bi[0];
			for (int w = 1; w < (int)(blockDim.x >> 5); w++)
				if (bi[w] != 0x7fffffff && (b == 0x7fffffff || bv[w] > bm || (bv[w] == bm && bi[w] < b))) { bm = bv[w]; b = bi[w]; }
			out[row] = (float)b;
		}
	}
}
