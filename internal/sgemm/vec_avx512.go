package sgemm

import (
	"fmt"

	"github.com/gazeml/gaze/engine/rng"
)

// Go wrappers of the AVX-512 element-wise kernels (vec_avx512_amd64.s) that have no AVX2 twin:
// batch-norm apply (alone and fused with a residual add and ReLU), statistics and backward (its
// sums alone and fused with a ReLU's backward pass), the residual add and product, and the SGD
// step.
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

// ScaleShiftReLU sets y[i] = max((x[i] - mean)·scale + shift + res[i], 0) for every i < len(x)
// (without the add when res is nil): ScaleShift, Binary's add and Relu in one pass over the
// data, rounding after each operation as they do one after another (the same bits).
func ScaleShiftReLU(x, res, y []float32, mean, scale, shift float32) {
	y = y[:len(x)]
	if res != nil {
		res = res[:len(x)]
	}
	n := zLen(len(x))
	if n > 0 {
		var r *float32
		if res != nil {
			r = &res[0]
		}
		scaleShiftReLUZ(&x[0], r, &y[0], n, mean, scale, shift)
	}
	xs, ys := x[n:], y[n:]
	if res == nil {
		for i, v := range xs {
			ys[i] = max(float32((v-mean)*scale)+shift, 0)
		}
		return
	}
	rs := res[n:]
	for i, v := range xs {
		ys[i] = max((float32((v-mean)*scale)+shift)+rs[i], 0)
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

// SumDev returns Σ (x[i] - k) and Σ (x[i] - k)² in float64, batch norm's statistics in one pass
// (two interleaved accumulators each in Go; on AVX512, 32 lanes each in a fixed order).
func SumDev(x []float32, k float64) (s1, s2 float64) {
	n := zLen(len(x))
	var z1, z2 float64
	if n > 0 {
		k1 := [1]float64{k}
		var a1, a2 [1]float64
		sumDevRunsZ(&x[0], n, 1, &k1[0], &a1[0], &a2[0]) // one run: 0 + the run's sums
		z1, z2 = a1[0], a2[0]
	}
	x = x[n:]
	var d0, d1, q0, q1 float64
	i := 0
	for ; i+2 <= len(x); i += 2 {
		a, b := float64(x[i])-k, float64(x[i+1])-k
		d0 += a
		d1 += b
		q0 += a * a
		q1 += b * b
	}
	for ; i < len(x); i++ {
		a := float64(x[i]) - k
		d0 += a
		q0 += a * a
	}
	if n == 0 {
		return d0 + d1, q0 + q1 // exactly the Go loop's values (z + … would turn a -0 into +0)
	}
	return z1 + (d0 + d1), z2 + (q0 + q1)
}

// SumDyDyx returns Σ dy[i] and Σ dy[i]·(x[i] - mean) in float64, i < len(dy).
func SumDyDyx(x, dy []float32, mean float64) (sdy, sdyx float64) {
	x = x[:len(dy)]
	n := zLen(len(dy))
	var zdy, zdyx float64
	if n > 0 {
		zdy, zdyx = sumDyDyxZ(&x[0], &dy[0], n, mean)
	}
	a, b := sumDyDyxGo(x[n:], dy[n:], mean)
	if n == 0 {
		return a, b
	}
	return zdy + a, zdyx + b
}

// SumDyDyxReLU sets dz[i] = dy[i] where y[i] > 0, else 0 (ReluBackward), for every i < len(dz),
// and returns SumDyDyx(x, dz, mean): a ReLU's backward pass and the batch-norm backward's sums
// in one pass over the data on AVX512 (two elsewhere), with SumDyDyx's bits.
func SumDyDyxReLU(x, y, dy, dz []float32, mean float64) (sdy, sdyx float64) {
	x, y, dy = x[:len(dz)], y[:len(dz)], dy[:len(dz)]
	n := zLen(len(dz))
	if n == 0 {
		ReluBackward(dz, y, dy)
		return SumDyDyx(x, dz, mean)
	}
	mean1 := [1]float64{mean}
	var zdy, zdyx float64 // one run: 0 + the run's sums
	sumDyDyxReLURunsZ(&x[0], &y[0], &dy[0], &dz[0], n, 1, &mean1[0], &zdy, &zdyx)
	ReluBackward(dz[n:], y[n:], dy[n:])
	a, b := sumDyDyxGo(x[n:], dz[n:], mean)
	return zdy + a, zdyx + b
}

// runsFit says whether the AVX512 runs kernels take runs of hw floats: whole vectors.
func runsFit(hw int) bool { return Current() == AVX512 && hw > 0 && hw%16 == 0 }

// checkRuns panics unless each of bufs holds runs runs of hw floats.
func checkRuns(name string, hw, runs int, bufs ...[]float32) {
	for _, b := range bufs {
		if len(b) < hw*runs {
			panic(fmt.Sprintf("sgemm: %s: %d floats for %d runs of %d", name, len(b), runs, hw))
		}
	}
}

// SumDyDyxReLURuns is SumDyDyxReLU on len(mean) consecutive runs of hw floats of x, y, dy and
// dz, run r against mean[r], adding its two sums to sdy[r] and sdyx[r]: the bits of a call per
// run, in one call (batch norm's channels of one image; a call per run of 64 or 256 floats cost
// as much as its arithmetic). It returns false, having done nothing, off the AVX512 path or
// when hw is not a positive multiple of 16.
func SumDyDyxReLURuns(x, y, dy, dz []float32, hw int, mean, sdy, sdyx []float64) bool {
	runs := len(mean)
	if !runsFit(hw) || runs == 0 {
		return false
	}
	checkRuns("SumDyDyxReLURuns", hw, runs, x, y, dy, dz)
	if len(sdy) < runs || len(sdyx) < runs {
		panic(fmt.Sprintf("sgemm: SumDyDyxReLURuns: %d and %d sums for %d runs", len(sdy), len(sdyx), runs))
	}
	sumDyDyxReLURunsZ(&x[0], &y[0], &dy[0], &dz[0], hw, runs, &mean[0], &sdy[0], &sdyx[0])
	return true
}

// BNBackwardRuns is BNBackward on len(a) consecutive runs of hw floats of x, dy and dx, run r
// with a[r], b[r], c[r] and mean[r]: the bits of a call per run, in one call. It returns false,
// having done nothing, off the AVX512 path or when hw is not a positive multiple of 16.
func BNBackwardRuns(x, dy, dx []float32, hw int, a, b, c, mean []float32) bool {
	runs := len(a)
	if !runsFit(hw) || runs == 0 {
		return false
	}
	checkRuns("BNBackwardRuns", hw, runs, x, dy, dx)
	checkRuns("BNBackwardRuns coefficients", 1, runs, b, c, mean)
	bnBackRunsZ(&x[0], &dy[0], &dx[0], hw, runs, &a[0], &b[0], &c[0], &mean[0])
	return true
}

// SumDevRuns adds SumDev of each of len(k) consecutive runs of hw floats of x, run r about k[r],
// to s1[r] and s2[r]: the bits of a call per run, in one call (batch norm's statistics over one
// image's channels). It returns false, having done nothing, off the AVX512 path or when hw is not
// a positive multiple of 16.
func SumDevRuns(x []float32, hw int, k, s1, s2 []float64) bool {
	runs := len(k)
	if !runsFit(hw) || runs == 0 {
		return false
	}
	checkRuns("SumDevRuns", hw, runs, x)
	if len(s1) < runs || len(s2) < runs {
		panic(fmt.Sprintf("sgemm: SumDevRuns: %d and %d sums for %d runs", len(s1), len(s2), runs))
	}
	sumDevRunsZ(&x[0], hw, runs, &k[0], &s1[0], &s2[0])
	return true
}

// ScaleShiftReLURuns is ScaleShiftReLU on len(mean) consecutive runs of hw floats of x, res
// (nil: no add) and y, run r with mean[r], scale[r] and shift[r]: the bits of a call per run, in
// one call. It returns false, having done nothing, off the AVX512 path or when hw is not a
// positive multiple of 16.
func ScaleShiftReLURuns(x, res, y []float32, hw int, mean, scale, shift []float32) bool {
	runs := len(mean)
	if !runsFit(hw) || runs == 0 {
		return false
	}
	checkRuns("ScaleShiftReLURuns", hw, runs, x, y)
	checkRuns("ScaleShiftReLURuns coefficients", 1, runs, scale, shift)
	var r *float32
	if res != nil {
		checkRuns("ScaleShiftReLURuns res", hw, runs, res)
		r = &res[0]
	}
	scaleShiftReLURunsZ(&x[0], r, &y[0], hw, runs, &mean[0], &scale[0], &shift[0])
	return true
}

// sumDyDyxGo is SumDyDyx's Go loop: two interleaved pairs of accumulators.
func sumDyDyxGo(x, dy []float32, mean float64) (sdy, sdyx float64) {
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
	return a0 + a1, b0 + b1
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

// phaseAhead is how far past each row PhaseRows prefetches the plane (the next planes, which the
// Winograd forms split or join next). A convolution's tensors come from memory, and the hardware
// prefetchers restart at every 4 KB page, that is every plane of 32×32 or every 4 of 16×16: with
// inputs and outputs rotated through 64 MiB (BenchmarkConv*Cold, two threads, two rounds), CPU ms
// per call without it and at 8 KB: resnet20 16→16 forward 4.30/3.38 → 3.65/3.30, backward data
// 4.20/3.50 → 3.58/3.30, filter gradient 4.98/4.33 → 4.88/4.13; 32→32 3.68/2.68 → 2.78/2.48,
// 3.45/2.75 → 2.80/2.38, 3.58/3.25 → 3.13/2.70; 64→64 4.05/3.13 → 3.53/3.00, 3.60/3.13 →
// 3.58/3.03, 3.75/3.38 → 3.73/3.25 (2, 4 and 16 KB alike).
const phaseAhead = 8192

// PhaseMode is the direction of PhaseRows.
type PhaseMode uint8

const (
	PhaseJoin    PhaseMode = iota // the phases into the plane
	PhaseSplit                    // the plane into the phases
	PhaseJoinAdd                  // the phases added to the plane: plane[i] = phase[i] + plane[i]
)

// PhaseRows moves the rows of plane (len(plane)/w rows of w floats) to or from m row phases:
// plane row i is ph[((j0+i) mod m)·ps + ((j0+i)/m)·pitch:][:w], in the direction mode. It is the
// Winograd forms' plane split and join (PhaseJoinAdd: a backward data pass that adds onto the
// gradient already there, as a residual block's): a copy call per row (rows of 8 to 32 floats)
// was 16 % of resnet20's step CPU time.
//
// On AVX512 each row also prefetches the plane phaseAhead bytes on: see phaseAhead.
func PhaseRows(plane []float32, w int, ph []float32, j0, m, ps, pitch int, mode PhaseMode) {
	if w <= 0 || len(plane) < w {
		return
	}
	rows := len(plane) / w
	// The rows of the last slot (and of the one before, where j0 wraps) hold the largest offsets.
	for i := max(rows-m, 0); i < rows; i++ {
		if end := (j0+i)%m*ps + (j0+i)/m*pitch + w; end > len(ph) {
			panic("sgemm: PhaseRows: row past the end of the phases")
		}
	}
	if Current() == AVX512 {
		// The kernel starts at slot 0 with a phase below m.
		phaseRowsZ(&plane[0], &ph[j0/m*pitch], rows, w, j0%m, m, ps, pitch, mode, phaseAhead)
		return
	}
	for i := 0; i < rows; i++ {
		r, p := ph[(j0+i)%m*ps+(j0+i)/m*pitch:][:w], plane[i*w:(i+1)*w]
		switch mode {
		case PhaseSplit:
			copy(r, p)
		case PhaseJoin:
			copy(p, r)
		default:
			for j, v := range r {
				p[j] = v + p[j]
			}
		}
	}
}

// Dropout is the bulk of the cpu device's dropout on the AVX512 path: for the first 16·g
// elements of x (g whole groups of four Philox blocks, as many as x holds and as fit before the
// low word of the block counter wraps), mask[i] = keep where u ≥ p, else 0, and y[i] =
// x[i]·mask[i], with u = (w>>8)·2⁻²⁴ and w word i mod 4 of rng.Philox4x32 at counter
// [blk + i/4, 0, 0] (as two words, low first) and key seed. It returns 16·g: 0 off the AVX512
// path, where (and for the rest of x) the caller runs the scalar form. The mask and y bits are
// the scalar form's: the uniforms are exact and the product is one rounding.
func Dropout(x, mask, y []float32, blk, seed uint64, p, keep float32) int {
	g := zLen(len(x)) / 16
	if room := (1<<32 - uint64(uint32(blk))) / 4; uint64(g) > room {
		g = int(room)
	}
	if g == 0 {
		return 0
	}
	n := 16 * g
	mask, y = mask[:n], y[:n]
	// The kernel's lanes each hold one block's four counter words; see philoxDropoutZ.
	var st [64]uint32
	k0, k1 := uint32(seed), uint32(seed>>32)
	for r := range 10 {
		st[4*r], st[4*r+2] = k0, k1
		k0 += rng.Bump0
		k1 += rng.Bump1
	}
	for j := range 4 {
		b := blk + uint64(j)
		st[40+4*j], st[41+4*j] = uint32(b), uint32(b>>32)
	}
	st[56], st[58], st[60] = rng.Mul0, rng.Mul1, 4
	philoxDropoutZ(&x[0], &mask[0], &y[0], g, &st, p, keep)
	return n
}
