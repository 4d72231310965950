package enginetest

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gazeml/gaze/engine"
)

// Bench runs sub-benchmarks of the main kernels on dev at training sizes and reports GFLOP/s
// (compute-bound kernels: Gemm, convolutions) or GB/s (memory-bound ones, counting each float
// read or written once), in the spirit of llm.c's and ggml's perf modes. Timing includes a Sync
// after the last iteration, so asynchronous devices are measured for the work they finish.
//
//	func BenchmarkKernels(b *testing.B) { enginetest.Bench(b, cpu.New()) }
//	go test -run '^$' -bench Kernels/Conv ./engine/cpu
func Bench(b *testing.B, dev engine.Device) {
	for _, s := range []struct {
		tA, tB  bool
		m, n, k int
	}{
		{false, false, 512, 512, 512},
		{false, true, 128, 1024, 1024}, // Linear forward: batch × in·outᵀ
		{true, false, 1024, 1024, 128}, // Linear weight gradient: dyᵀ·x
	} {
		name := fmt.Sprintf("Gemm/%s_%dx%dx%d", transName([2]bool{s.tA, s.tB}), s.m, s.n, s.k)
		b.Run(name, func(b *testing.B) {
			e := newBenchEnv(b, dev)
			aRows, aCols, bRows, bCols := s.m, s.k, s.k, s.n
			if s.tA {
				aRows, aCols = aCols, aRows
			}
			if s.tB {
				bRows, bCols = bCols, bRows
			}
			a, bb, c := e.rand(aRows*aCols), e.rand(bRows*bCols), e.rand(s.m*s.n)
			e.time(2*float64(s.m)*float64(s.n)*float64(s.k), "GFLOP/s", func() {
				dev.Gemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, aCols, bb, bCols, 0, c, s.n)
			})
		})
	}
	convs := []convCase{
		convSym(32, 16, 32, 32, 16, 3, 3, 1, 1),  // CIFAR ResNet stage 1
		convSym(32, 32, 16, 16, 64, 3, 3, 2, 1),  // a downsampling 3×3
		convSym(64, 20, 14, 14, 40, 5, 5, 1, 2),  // lenet-lca conv2
		convSame(32, 64, 8, 8, 32, 4, 4, 2),      // transposed-conv geometry (run as data gradient too)
		convSym(64, 1, 28, 28, 6, 5, 5, 1, 0),    // lenet5 conv1: C = 1
		convSym(32, 64, 16, 16, 128, 1, 1, 2, 0), // 1×1 stride-2 projection
	}
	for _, c := range convs {
		g := c.g
		b.Run("ConvForward/"+c.name, func(b *testing.B) {
			e := newBenchEnv(b, dev)
			x, w, y := e.rand(g.InputLen()), e.rand(g.WeightLen()), e.rand(g.OutputLen())
			e.time(g.Flops(), "GFLOP/s", func() { dev.ConvForward(g, x, w, y) })
		})
		b.Run("ConvBackwardData/"+c.name, func(b *testing.B) {
			e := newBenchEnv(b, dev)
			dx, w, dy := e.rand(g.InputLen()), e.rand(g.WeightLen()), e.rand(g.OutputLen())
			e.time(g.Flops(), "GFLOP/s", func() { dev.ConvBackwardData(g, dy, w, dx, 0) })
		})
		b.Run("ConvBackwardFilter/"+c.name, func(b *testing.B) {
			e := newBenchEnv(b, dev)
			x, dw, dy := e.rand(g.InputLen()), e.rand(g.WeightLen()), e.rand(g.OutputLen())
			e.time(g.Flops(), "GFLOP/s", func() { dev.ConvBackwardFilter(g, x, dy, dw) })
		})
	}
	const n, c, hw = 32, 16, 32 * 32
	b.Run("BatchNormTrain/n32_c16_32x32", func(b *testing.B) {
		e := newBenchEnv(b, dev)
		x, y := e.rand(n*c*hw), e.rand(n*c*hw)
		gm, bt, sm, si, rm, rv := e.rand(c), e.rand(c), e.rand(c), e.rand(c), e.rand(c), e.ones(c)
		e.time(4*3*n*c*hw, "GB/s", func() { dev.BatchNormTrain(x, y, gm, bt, sm, si, rm, rv, n, c, hw, 0.1, 1e-5) })
	})
	b.Run("BatchNormBackward/n32_c16_32x32", func(b *testing.B) {
		e := newBenchEnv(b, dev)
		x, dy, dx := e.rand(n*c*hw), e.rand(n*c*hw), e.rand(n*c*hw)
		gm, sm, si, dg, db := e.rand(c), e.rand(c), e.ones(c), e.rand(c), e.rand(c)
		e.time(4*5*n*c*hw, "GB/s", func() { dev.BatchNormBackward(x, dy, dx, gm, sm, si, dg, db, n, c, hw, true) })
	})
	mp := poolSym(32, 16, 32, 32, 2, 2, 2, 2, 0, 0).g
	b.Run("MaxPool/n32_c16_32x32_2x2", func(b *testing.B) {
		e := newBenchEnv(b, dev)
		x, y := e.rand(mp.InputLen()), e.rand(mp.OutputLen())
		e.time(4*float64(mp.InputLen()+mp.OutputLen()), "GB/s", func() { dev.MaxPool(mp, x, y) })
	})
	b.Run("MaxPoolBackward/n32_c16_32x32_2x2", func(b *testing.B) {
		e := newBenchEnv(b, dev)
		x, dy, dx := e.rand(mp.InputLen()), e.rand(mp.OutputLen()), e.rand(mp.InputLen())
		e.time(4*float64(2*mp.InputLen()+mp.OutputLen()), "GB/s", func() { dev.MaxPoolBackward(mp, x, dy, dx) })
	})
	b.Run("SoftmaxXent/n128_k1000", func(b *testing.B) {
		e := newBenchEnv(b, dev)
		z, dz, losses := e.rand(128*1000), e.rand(128*1000), e.rand(128)
		lab := make([]float32, 128)
		for i := range lab {
			lab[i] = float32(i * 7 % 1000)
		}
		lb := e.buf(lab)
		e.time(4*2*128*1000, "GB/s", func() { dev.SoftmaxXent(z, lb, losses, dz, 128, 1000, 1.0/128) })
	})
	const big = 1 << 22 // 16 MiB per buffer: past the last-level cache
	b.Run("Axpy/4M", func(b *testing.B) {
		e := newBenchEnv(b, dev)
		x, y := e.rand(big), e.rand(big)
		e.time(4*3*big, "GB/s", func() { dev.Axpy(1e-3, x, y) })
	})
	b.Run("Relu/4M", func(b *testing.B) {
		e := newBenchEnv(b, dev)
		x, y := e.rand(big), e.rand(big)
		e.time(4*2*big, "GB/s", func() { dev.Relu(x, y) })
	})
	b.Run("Dropout/4M", func(b *testing.B) {
		e := newBenchEnv(b, dev)
		x, m, y := e.rand(big), e.rand(big), e.rand(big)
		e.time(4*3*big, "GB/s", func() { dev.Dropout(x, m, y, 0.5, 1, 0) })
	})
	b.Run("Dot/4M", func(b *testing.B) {
		e := newBenchEnv(b, dev)
		x, y := e.rand(big), e.rand(big)
		e.time(4*2*big, "GB/s", func() { _ = dev.Dot(x, y) })
	})
	b.Run("SGDStep_momentum/4M", func(b *testing.B) {
		e := newBenchEnv(b, dev)
		th, g, v := e.rand(big), e.rand(big), e.rand(big)
		e.time(4*5*big, "GB/s", func() { dev.SGDStep(th, g, v, 1e-6, 0.9, 5e-4, false) })
	})
	b.Run("AdamStep/4M", func(b *testing.B) {
		e := newBenchEnv(b, dev)
		th, g, m, v := e.rand(big), e.rand(big), e.rand(big), e.ones(big)
		e.time(4*7*big, "GB/s", func() { dev.AdamStep(th, g, m, v, 1e-6, 0.9, 0.999, 1e-8, 0, 10) })
	})
}

// benchEnv allocates a benchmark's buffers and frees them when it ends.
type benchEnv struct {
	b   *testing.B
	dev engine.Device
	rnd *rand.Rand
}

func newBenchEnv(b *testing.B, dev engine.Device) *benchEnv {
	return &benchEnv{b, dev, rand.New(rand.NewPCG(1, 2))}
}

func (e *benchEnv) buf(data []float32) engine.Buffer {
	buf, err := e.dev.Alloc(len(data))
	if err != nil {
		e.b.Fatalf("Alloc(%d): %v", len(data), err)
	}
	e.dev.Upload(buf, data)
	e.b.Cleanup(func() { e.dev.Free(buf) })
	return buf
}

func (e *benchEnv) rand(n int) engine.Buffer {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(e.rnd.NormFloat64())
	}
	return e.buf(x)
}

func (e *benchEnv) ones(n int) engine.Buffer { return e.buf(constant(n, 1)) }

// time runs f b.N times after one warm-up call and reports work/second in the given unit
// (work in flops for GFLOP/s, bytes for GB/s).
func (e *benchEnv) time(work float64, unit string, f func()) {
	f()
	if err := e.dev.Sync(); err != nil {
		e.b.Fatalf("Sync: %v", err)
	}
	e.b.ResetTimer()
	for i := 0; i < e.b.N; i++ {
		f()
	}
	if err := e.dev.Sync(); err != nil {
		e.b.Fatalf("Sync: %v", err)
	}
	e.b.StopTimer()
	if s := e.b.Elapsed().Seconds(); s > 0 {
		e.b.ReportMetric(work*float64(e.b.N)/s/1e9, unit)
	}
}
