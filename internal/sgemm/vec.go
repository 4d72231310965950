package sgemm

import "math"

// Element-wise kernels of the cpu device that the Go compiler does not vectorise: ReLU and its
// gradient, the bias add of a channel plane, and the float64 sum of a bias gradient. With AVX2
// they move 32 floats per step (16 for Sum64), with AVX-512 (ReLU, its gradient and the bias
// add) 64; the results are bit-identical to the pure-Go loops below, which handle the tails and
// machines without AVX2. More kernels are in vec_avx512.go.

// Relu sets dst[i] = max(src[i], 0) for every i < len(dst) (src at least as long), as Go's max
// does: a NaN stays NaN, and -0 becomes +0.
func Relu(dst, src []float32) {
	src = src[:len(dst)]
	n := zLen(len(dst))
	if n > 0 {
		reluZ(&dst[0], &src[0], n)
	} else if Current() != Generic && len(dst) >= 32 {
		n = len(dst) &^ 31
		reluAVX(&dst[0], &src[0], n)
	}
	d, s := dst[n:], src[n:len(dst)]
	for i, v := range s {
		d[i] = max(v, 0)
	}
}

// ReluBackward sets dx[i] = dy[i] where y[i] > 0, else 0, for every i < len(dx).
func ReluBackward(dx, y, dy []float32) {
	y, dy = y[:len(dx)], dy[:len(dx)]
	n := zLen(len(dx))
	if n > 0 {
		reluBackZ(&dx[0], &y[0], &dy[0], n)
	} else if Current() != Generic && len(dx) >= 32 {
		n = len(dx) &^ 31
		reluBackAVX(&dx[0], &y[0], &dy[0], n)
	}
	d, ys, dys := dx[n:], y[n:], dy[n:]
	for i, v := range ys {
		mask := uint32(0)
		if v > 0 {
			mask = ^uint32(0)
		}
		d[i] = math.Float32frombits(math.Float32bits(dys[i]) & mask)
	}
}

// AddConst sets dst[i] += v for every i.
func AddConst(dst []float32, v float32) {
	n := zLen(len(dst))
	if n > 0 {
		addConstZ(&dst[0], v, n)
	} else if Current() != Generic && len(dst) >= 32 {
		n = len(dst) &^ 31
		addConstAVX(&dst[0], v, n)
	}
	d := dst[n:]
	for i := range d {
		d[i] += v
	}
}

// Sum64 returns Σ x in float64 with four accumulators: s_j sums x[i] for i ≡ j (mod 4) in
// order, and the result is (s0 + s1) + (s2 + s3) (a tail past a multiple of 4 goes to s0).
// On AVX512 the first len(x)&^15 elements are summed over 32 lanes instead (sum64RunsZ: four
// independent add chains, where the four lanes above are one chain of vector adds and ran at
// 13 GB/s a core), and the rest in the four-lane order added to that.
func Sum64(x []float32) float64 {
	if n := zLen(len(x)); n > 0 {
		var z float64
		sum64RunsZ(&x[0], n, 1, &z) // one run: 0 + the run's sum
		if n == len(x) {
			return z
		}
		return z + Sum64(x[n:])
	}
	var s [4]float64
	n := 0
	if Current() != Generic && len(x) >= 16 {
		n = len(x) &^ 15
		sum64AVX(&x[0], n, &s)
	}
	i := n
	for ; i+4 <= len(x); i += 4 {
		s[0] += float64(x[i])
		s[1] += float64(x[i+1])
		s[2] += float64(x[i+2])
		s[3] += float64(x[i+3])
	}
	for ; i < len(x); i++ {
		s[0] += float64(x[i])
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

// Axpy sets dst[i] += alpha·src[i] for every i < len(dst) (src at least as long); with AVX2 the
// multiply-add is fused.
func Axpy(dst []float32, alpha float32, src []float32) {
	src = src[:len(dst)]
	n := 0
	if Current() != Generic && len(dst) >= 32 {
		n = len(dst) &^ 31
		axpyAVX(&dst[0], alpha, &src[0], n)
	}
	d, s := dst[n:], src[n:len(dst)]
	for i, v := range s {
		d[i] += alpha * v
	}
}
