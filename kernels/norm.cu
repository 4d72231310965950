// Batch normalisation over [n, c, hw]. Each channel's n·hw values are split over `splits` blocks
// along the batch (grid (c, splits)), so that narrow layers (16 channels) still fill the GPU.
// BatchNormTrain is three kernels:
//   batch_norm_train_sum    per-(channel, split) Σx                    (float64 partials)
//   batch_norm_train_sqdev  per-(channel, split) Σ(x − mean)², mean from the partials
//                           (two-pass variance, as the CPU)
//   batch_norm_train_apply  each block derives the channel's statistics from the partials in a
//                           fixed order; split 0 writes saveMean/saveInvStd and moves the running
//                           statistics; all apply y.
// BatchNormInfer is batch_norm_infer. BatchNormBackward is batch_norm_backward_sums (Σdy,
// Σdy·(x − mean)) then batch_norm_backward_apply (split 0 accumulates dgamma, dbeta).
// BatchNormTrainReLU and BatchNormBackwardReLU are the same kernels with a ReLU (and a residual
// add) folded into the apply pass, and the ReLU's mask into both backward kernels.
#include "common.cuh"

// The slice of channel ch that block (ch, sp) covers: images [i0, i1) of the batch.
__device__ __forceinline__ void bn_slice(int n, int splits, int sp, int& i0, int& i1) {
	i0 = (int)((i64)n * sp / splits);
	i1 = (int)((i64)n * (sp + 1) / splits);
}

GZ_EXTERN void batch_norm_train_sum(int n, int c, int hw, int splits, const float* x, double* part) {
	int ch = blockIdx.x, sp = blockIdx.y, i0, i1;
	bn_slice(n, splits, sp, i0, i1);
	i64 m = (i64)(i1 - i0) * hw;
	double s = 0.0;
	for (i64 t = threadIdx.x; t < m; t += blockDim.x) {
		i64 img = i0 + t / hw, i = t % hw;
		s += (double)x[(img * c + ch) * hw + i];
	}
	s = block_sum(s);
	if (threadIdx.x == 0) part[ch * splits + sp] = s;
}

__device__ __forceinline__ double bn_total(const double* part, int ch, int splits) {
	double s = 0.0;
	for (int i = 0; i < splits; i++) s += part[ch * splits + i];
	return s;
}

GZ_EXTERN void batch_norm_train_sqdev(int n, int c, int hw, int splits, const float* x, const double* psum, double* psq) {
	int ch = blockIdx.x, sp = blockIdx.y, i0, i1;
	bn_slice(n, splits, sp, i0, i1);
	double mean = bn_total(psum, ch, splits) / ((double)n * hw);
	i64 m = (i64)(i1 - i0) * hw;
	double s = 0.0;
	for (i64 t = threadIdx.x; t < m; t += blockDim.x) {
		i64 img = i0 + t / hw, i = t % hw;
		double d = (double)x[(img * c + ch) * hw + i] - mean;
		s += d * d;
	}
	s = block_sum(s);
	if (threadIdx.x == 0) psq[ch * splits + sp] = s;
}

// Training mode: statistics from the partials. Running statistics (momentum ≠ 0) move as
// run = (1−momentum)·run + momentum·stat with the unbiased variance.
// With relu (BatchNormTrainReLU) y = max(y + res, 0), res null: max(y, 0); each step rounds as the
// separate apply, add and relu kernels do, so the bits are theirs.
GZ_EXTERN void batch_norm_train_apply(int n, int c, int hw, int splits, const float* x, float* y, const float* gamma, const float* beta,
	float* saveMean, float* saveInvStd, float* runMean, float* runVar, float momentum, float eps, const double* psum, const double* psq,
	const float* res, int relu) {
	int ch = blockIdx.x, sp = blockIdx.y, i0, i1;
	bn_slice(n, splits, sp, i0, i1);
	double mcount = (double)n * hw;
	double mean = bn_total(psum, ch, splits) / mcount;
	double var = bn_total(psq, ch, splits) / mcount;
	double invStd = 1.0 / sqrt(var + (double)eps);
	if (sp == 0 && threadIdx.x == 0) {
		saveMean[ch] = (float)mean;
		saveInvStd[ch] = (float)invStd;
		if (momentum != 0.f) {
			double unbiased = mcount > 1 ? var * mcount / (mcount - 1) : var;
			runMean[ch] = (1.f - momentum) * runMean[ch] + momentum * (float)mean;
			runVar[ch] = (1.f - momentum) * runVar[ch] + momentum * (float)unbiased;
		}
	}
	float meanf = (float)mean, sc = (float)invStd * gamma[ch], sh = beta[ch];
	i64 m = (i64)(i1 - i0) * hw;
	for (i64 t = threadIdx.x; t < m; t += blockDim.x) {
		i64 img = i0 + t / hw, i = t % hw;
		i64 k = (img * c + ch) * hw + i;
		float v = (x[k] - meanf) * sc + sh;
		if (relu) {
			if (res) v = v + res[k];
			v = v > 0.f || v != v ? v : 0.f; // as relu: NaN stays NaN
		}
		y[k] = v;
	}
}

// Inference mode: saveMean = runMean, saveInvStd = 1/sqrt(runVar + eps); y from those.
GZ_EXTERN void batch_norm_infer(i64 total, int c, int hw, const float* x, float* y, const float* gamma, const float* beta,
	const float* runMean, const float* runVar, float* saveMean, float* saveInvStd, float eps) {
	GRID_LOOP(k, total) {
		int ch = (int)((k / hw) % c);
		float inv = (float)(1.0 / sqrt((double)runVar[ch] + (double)eps));
		if (k < c) { // the first c threads write the saved statistics
			saveMean[k] = runMean[k];
			saveInvStd[k] = (float)(1.0 / sqrt((double)runVar[k] + (double)eps));
		}
		y[k] = (x[k] - runMean[ch]) * (inv * gamma[ch]) + beta[ch];
	}
}

// bn_grad is dy, or with a ReLU's output y (BatchNormBackwardReLU; null: none) dy where y > 0,
// else 0, as relu_backward computes it.
__device__ __forceinline__ float bn_grad(const float* dy, const float* y, i64 k) {
	return y == nullptr || y[k] > 0.f ? dy[k] : 0.f;
}

// part[2·(ch·splits + sp)] = Σdy, [+1] = Σdy·(x − mean) over the block's slice (dy masked by y
// when y is not null).
GZ_EXTERN void batch_norm_backward_sums(int n, int c, int hw, int splits, const float* x, const float* dy, const float* saveMean, double* part,
	const float* y) {
	int ch = blockIdx.x, sp = blockIdx.y, i0, i1;
	bn_slice(n, splits, sp, i0, i1);
	double mean = (double)saveMean[ch];
	i64 m = (i64)(i1 - i0) * hw;
	double a = 0.0, b = 0.0;
	for (i64 t = threadIdx.x; t < m; t += blockDim.x) {
		i64 img = i0 + t / hw, i = t % hw;
		i64 k = (img * c + ch) * hw + i;
		double g = (double)bn_grad(dy, y, k);
		a += g;
		b += g * ((double)x[k] - mean);
	}
	a = block_sum(a);
	b = block_sum(b);
	if (threadIdx.x == 0) {
		part[2 * (ch * splits + sp)] = a;
		part[2 * (ch * splits + sp) + 1] = b;
	}
}

// With y not null the masked gradient is also written to dz.
GZ_EXTERN void batch_norm_backward_apply(int n, int c, int hw, int splits, const float* x, const float* dy, float* dx, const float* gamma,
	const float* saveMean, const float* saveInvStd, float* dgamma, float* dbeta, int batchStats, const double* part, const float* y,
	float* dz) {
	int ch = blockIdx.x, sp = blockIdx.y, i0, i1;
	bn_slice(n, splits, sp, i0, i1);
	double sdy = 0.0, sdyx = 0.0;
	for (int i = 0; i < splits; i++) {
		sdy += part[2 * (ch * splits + i)];
		sdyx += part[2 * (ch * splits + i) + 1];
	}
	double invStd = (double)saveInvStd[ch];
	if (sp == 0 && threadIdx.x == 0) {
		dgamma[ch] += (float)(sdyx * invStd);
		dbeta[ch] += (float)sdy;
	}
	double kk = (double)gamma[ch] * invStd;
	double mcount = (double)n * hw;
	float a = (float)kk;
	float bf = batchStats ? (float)(-kk * invStd * invStd * sdyx / mcount) : 0.f;
	float cf = batchStats ? (float)(-kk * sdy / mcount) : 0.f;
	float meanf = saveMean[ch];
	i64 m = (i64)(i1 - i0) * hw;
	for (i64 t = threadIdx.x; t < m; t += blockDim.x) {
		i64 img = i0 + t / hw, i = t % hw;
		i64 k = (img * c + ch) * hw + i;
		float g = bn_grad(dy, y, k);
		if (y) dz[k] = g;
		dx[k] = batchStats ? a * g + bf * (x[k] - meanf) + cf : a * g;
	}
}
