// Max and average pooling over [N, C, H, W] (any window, stride and padding; padding never wins a
// max and counts as zero in an average, PyTorch's default), one thread per output (forward) or per
// input (average backward, a gather that needs no atomics), and global average pooling (a float64
// sum per plane). Max backward routes each dy to the
// first maximum of its window, the element the forward picked; windows overlap only when the
// stride is smaller than the window, and only then do two threads add into the same dx cell.
#include "common.cuh"

#define POOL_PARAMS int N, int C, int H, int W, int KH, int KW, int sh, int sw, int ph, int pw, int OH, int OW

__device__ __forceinline__ i64 max_index(const float* xp, int H, int W, int KH, int KW, int sh, int sw, int ph, int pw, int oh, int ow) {
	int h0 = oh * sh - ph, w0 = ow * sw - pw;
	int h1 = min(h0 + KH, H), w1 = min(w0 + KW, W);
	h0 = max(h0, 0);
	w0 = max(w0, 0);
	if (h0 >= h1 || w0 >= w1) return -1;
	i64 best = (i64)h0 * W + w0;
	float m = xp[best];
	for (int ih = h0; ih < h1; ih++)
		for (int iw = w0; iw < w1; iw++) {
			float v = xp[(i64)ih * W + iw];
			if (v > m) { m = v; best = (i64)ih * W + iw; }
		}
	return best;
}

GZ_EXTERN void max_pool(POOL_PARAMS, const float* x, float* y) {
	i64 total = (i64)N * C * OH * OW;
	GRID_LOOP(i, total) {
		i64 plane = i / (OH * OW);
		int q = (int)(i - plane * OH * OW), oh = q / OW, ow = q - oh * OW;
		const float* xp = x + plane * H * W;
		i64 b = max_index(xp, H, W, KH, KW, sh, sw, ph, pw, oh, ow);
		y[i] = b < 0 ? 0.f : xp[b];
	}
}

// dx must be zeroed first (the launcher does).
GZ_EXTERN void max_pool_backward(POOL_PARAMS, const float* x, const float* dy, float* dx, int overlap) {
	i64 total = (i64)N * C * OH * OW;
	GRID_LOOP(i, total) {
		i64 plane = i / (OH * OW);
		int q = (int)(i - plane * OH * OW), oh = q / OW, ow = q - oh * OW;
		i64 b = max_index(x + plane * H * W, H, W, KH, KW, sh, sw, ph, pw, oh, ow);
		if (b < 0) continue;
		if (overlap) atomicAdd(&dx[plane * H * W + b], dy[i]);
		else dx[plane * H * W + b] = dy[i];
	}
}

GZ_EXTERN void avg_pool(POOL_PARAMS, const float* x, float* y) {
	i64 total = (i64)N * C * OH * OW;
	float inv = 1.f / (float)(KH * KW);
	GRID_LOOP(i, total) {
		i64 plane = i / (OH * OW);
		int q = (int)(i - plane * OH * OW), oh = q / OW, ow = q - oh * OW;
		const float* xp = x + plane * H * W;
		int h0 = oh * sh - ph, w0 = ow * sw - pw;
		int h1 = min(h0 + KH, H), w1 = min(w0 + KW, W);
		h0 = max(h0, 0);
		w0 = max(w0, 0);
		float s = 0.f;
		for (int ih = h0; ih < h1; ih++)
			for (int iw = w0; iw < w1; iw++) s += xp[(i64)ih * W + iw];
		y[i] = s * inv;
	}
}

// dx[ih, iw] = Σ over the windows that contain it of dy/(KH·KW): output rows oh with
// oh·sh − ph ≤ ih < oh·sh − ph + KH, likewise for columns.
GZ_EXTERN void avg_pool_backward(POOL_PARAMS, const float* dy, float* dx) {
	i64 total = (i64)N * C * H * W;
	float inv = 1.f / (float)(KH * KW);
	GRID_LOOP(i, total) {
		i64 plane = i / (H * W);
		int q = (int)(i - plane * H * W), ih = q / W, iw = q - ih * W;
		int th = ih + ph, tw = iw + pw;
		int oh0 = th - KH + 1 <= 0 ? 0 : (th - KH + 1 + sh - 1) / sh, oh1 = min(th / sh, OH - 1);
		int ow0 = tw - KW + 1 <= 0 ? 0 : (tw - KW + 1 + sw - 1) / sw, ow1 = min(tw / sw, OW - 1);
		const float* dyp = dy + plane * OH * OW;
		float s = 0.f;
		for (int oh = oh0; oh <= oh1; oh++)
			for (int ow = ow0; ow <= ow1; ow++) s += dyp[oh * OW + ow] * inv;
		dx[i] = s;
	}
}

// y[p] = scale·Σ_i x[p, i] in float64 (scale = 1/hw), one block per row p of x[rows, hw].
GZ_EXTERN void global_avg_pool(int rows, int hw, const float* x, float* y, double scale) { row_sums(rows, hw, x, y, scale); }

// dx[p] = dy[p] / hw broadcast (GlobalAvgPoolBackward).
GZ_EXTERN void global_avg_pool_backward(i64 total, int hw, const float* dy, float* dx) {
	float inv = 1.f / (float)hw;
	GRID_LOOP(i, total) { dx[i] = dy[i / hw] * inv; }
}
