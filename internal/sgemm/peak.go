package sgemm

import "runtime"

// PeakFMA runs iters iterations of a register-only FMA loop on path p's widest vectors (ZMM for
// AVX512, YMM for AVX2, scalar Go for Generic) on the calling thread and returns the float32
// flops it executed (two per multiply-add). gaze bench --peak times it on every core the device
// uses to measure the machine's FP32 peak. It panics on a path the CPU does not support.
func PeakFMA(p Path, iters int) float64 {
	if !p.Supported() {
		panic("sgemm: PeakFMA on an unsupported path " + p.String())
	}
	switch p {
	case AVX512:
		fmaLoopZ(iters)
		return 768 * float64(iters)
	case AVX2:
		fmaLoopY(iters)
		return 192 * float64(iters)
	}
	return peakGo(iters)
}

// peakGo is the Generic path's loop: eight independent scalar multiply-add chains.
func peakGo(iters int) float64 {
	var a0, a1, a2, a3, a4, a5, a6, a7 float32
	x, y := float32(1e-3), float32(1e-3)
	for range iters {
		a0 += x * y
		a1 += x * y
		a2 += x * y
		a3 += x * y
		a4 += x * y
		a5 += x * y
		a6 += x * y
		a7 += x * y
	}
	runtime.KeepAlive(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7) // the loop must run
	return 16 * float64(iters)
}

// Triad sets a[i] = b[i] + s·c[i] for every i < len(a) (b and c at least as long): STREAM's
// triad, for gaze bench --peak's bandwidth measurement (vectorised on the AVX paths).
func Triad(a, b, c []float32, s float32) {
	b, c = b[:len(a)], c[:len(a)]
	n := 0
	if Current() != Generic && len(a) >= 32 {
		n = len(a) &^ 31
		triadAVX(&a[0], &b[0], &c[0], s, n)
	}
	for i := n; i < len(a); i++ {
		a[i] = b[i] + s*c[i]
	}
}
