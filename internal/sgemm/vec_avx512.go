package sgemm

// Go wrappers of the AVX-512 element-wise kernels (vec_avx512_amd64.s) that have no AVX2 twin:
// batch-norm apply, statistics and backward, the residual add and product, and the SGD step.
// Each runs the kernel on the first multiple of 16 elements when the AVX512 path is selected
// and finishes (or, on the other paths, does everything) in Go. The Go loops are the engine's
// reference arithmetic: the AVX-512 kernels round exactly as they do, except the float64
// reductions, which sum in their own fixed order. The float32(…) conversions round products
// explicitly, so that a compiler allowed to fuse a·b + c (GOAMD64=v3) keeps the same bits.

// zLen is the prefix of n elements the AVX-512 kernels take on the current path (0 off it).
func zLen(n int) int {
	if Current() != AVX512 {
		return 0
	}
	return n &^ 15
}

// ScaleShift sets y[i] = (x[i] - mean)·scale + shift for every i < len(x) (y at least as long),
// rounding after each operation.
func ScaleShift(x, y []float32, mean, scale, shift float32) {
	y = y[:len(x)]
	n := zLen(len(x))
	if n > 0 {
		scaleShiftZ(&x[0], &y[0], n, mean, scale, shift)
	}
	xs, ys := x[n:], y[n:]
	for i, v := range xs {
		ys[i] = float32((v-mean)*scale) + shift
	}
}

// BNBackward sets dx[i] = a·dy[i] + b·(x[i] - mean) + c for every i < len(dx), rounding after
// each operation.
func BNBackward(x, dy, dx []float32, a, b, c, mean float32) {
	x, dy = x[:len(dx)], dy[:len(dx)]
	n := zLen(len(dx))
	if n > 0 {
		bnBackZ(&x[0], &dy[0], &dx[0], n, a, b, c, mean)
	}
	xs, dys, dxs := x[n:], dy[n:], dx[n:]
	for i, g := range dys {
		dxs[i] = float32(a*g) + float32(b*(xs[i]-mean)) + c
	}
}

// SumSqDev returns Σ (x[i] - mean)² in float64 (two interleaved accumulators in Go; on AVX512,
// 32 lanes in a fixed order).
func SumSqDev(x []float32, mean float64) float64 {
	n := zLen(len(x))
	var z float64
	if n > 0 {
		z = sumSqDevZ(&x[0], n, mean)
	}
	x = x[n:]
	var s0, s1 float64
	i := 0
	for ; i+2 <= len(x); i += 2 {
		a, b := float64(x[i])-mean, float64(x[i+1])-mean
		s0 += a * a
		s1 += b * b
	}
	for ; i < len(x); i++ {
		a := float64(x[i]) - mean
		s0 += a * a
	}
	if n == 0 {
		return s0 + s1 // exactly the Go loop's value (z + … would turn a -0 into +0)
	}
	return z + (s0 + s1)
}

// SumDyDyx returns Σ dy[i] and Σ dy[i]·(x[i] - mean) in float64, i < len(dy).
func SumDyDyx(x, dy []float32, mean float64) (sdy, sdyx float64) {
	x = x[:len(dy)]
	n := zLen(len(dy))
	var zdy, zdyx float64
	if n > 0 {
		zdy, zdyx = sumDyDyxZ(&x[0], &dy[0], n, mean)
	}
	x, dy = x[n:], dy[n:]
	var a0, a1, b0, b1 float64
	i := 0
	for ; i+2 <= len(dy); i += 2 {
		g0, g1 := float64(dy[i]), float64(dy[i+1])
		a0 += g0
		a1 += g1
		b0 += g0 * (float64(x[i]) - mean)
		b1 += g1 * (float64(x[i+1]) - mean)
	}
	for ; i < len(dy); i++ {
		g := float64(dy[i])
		a0 += g
		b0 += g * (float64(x[i]) - mean)
	}
	if n == 0 {
		return a0 + a1, b0 + b1
	}
	return zdy + (a0 + a1), zdyx + (b0 + b1)
}

// Binary sets out[i] = a[i] + b[i], or a[i]·b[i] with mul, for every i < len(out).
func Binary(out, a, b []float32, mul bool) {
	a, b = a[:len(out)], b[:len(out)]
	n := zLen(len(out))
	if n > 0 {
		binaryZ(&out[0], &a[0], &b[0], n, b2i(mul))
	}
	os, as, bs := out[n:], a[n:], b[n:]
	if mul {
		for i := range os {
			os[i] = as[i] * bs[i]
		}
		return
	}
	for i := range os {
		os[i] = as[i] + bs[i]
	}
}

// SGD is PyTorch's SGD step on theta (see engine/cpu's SGDStep): g = grad + wd·theta, and with
// momentum vel = momentum·vel + g, theta -= lr·vel (Nesterov: lr·(g + momentum·vel)); without,
// theta -= lr·g and vel is not used.
func SGD(theta, grad, vel []float32, lr, momentum, wd float32, nesterov bool) {
	grad = grad[:len(theta)]
	mode := 0
	if momentum != 0 {
		vel = vel[:len(theta)]
		mode = 1 + b2i(nesterov)
	}
	n := zLen(len(theta))
	if n > 0 {
		var v *float32
		if mode != 0 {
			v = &vel[0]
		}
		sgdZ(&theta[0], &grad[0], v, n, lr, momentum, wd, mode)
	}
	for i := n; i < len(theta); i++ {
		g := grad[i] + float32(wd*theta[i])
		if mode == 0 {
			theta[i] -= float32(lr * g)
			continue
		}
		v := float32(momentum*vel[i]) + g
		vel[i] = v
		if nesterov {
			theta[i] -= float32(lr * (g + float32(momentum*v)))
		} else {
			theta[i] -= float32(lr * v)
		}
	}
}
