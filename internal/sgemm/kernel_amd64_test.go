package sgemm

import (
	"math/rand"
	"testing"
)

// BenchmarkMicroKernel times one micro-kernel call on L1-resident packed panels (kc = 256, C
// in L1, beta = 0), single-threaded: the kernel's own ceiling in GFLOP/s. A Zen 5 core peaks at
// 32 (AVX2: two 8-wide FMAs per cycle) or 64 (AVX-512) FLOP per cycle.
func BenchmarkMicroKernel(b *testing.B) {
	const kc = 256
	r := rand.New(rand.NewSource(1))
	a := randSlice(r, kc*zmr)
	bp := randSlice(r, kc*zv*nr)
	c := make([]float32, maxTile)
	b.Run("avx2_6x16", func(b *testing.B) {
		if !AVX2.Supported() {
			b.Skip("no AVX2")
		}
		for b.Loop() {
			kernel6x16(kc, &a[0], &bp[0], &c[0], nr, 1, 0, 0)
		}
		b.ReportMetric(2*mr*nr*kc*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	for v := 1; v <= zv; v++ {
		b.Run("avx512_8x"+string(rune('0'+v*16/10))+string(rune('0'+v*16%10)), func(b *testing.B) {
			if !AVX512.Supported() {
				b.Skip("no AVX-512")
			}
			for b.Loop() {
				kernelZ(v, kc, &a[0], &bp[0], kc*nr, &c[0], v*nr, 1, 0, 0)
			}
			b.ReportMetric(2*zmr*float64(v*nr)*kc*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkPeakFMA: the register-only FMA loops, one thread (GFLOP/s per core).
func BenchmarkPeakFMA(b *testing.B) {
	for _, p := range Supported() {
		b.Run(p.String(), func(b *testing.B) {
			var flops float64
			for b.Loop() {
				flops += PeakFMA(p, 10000)
			}
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
