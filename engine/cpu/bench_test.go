package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/cputime"
	"github.com/gazeml/gaze/internal/sgemm"
	"github.com/gazeml/gaze/internal/sgemm/sgemmtest"
)

// Benchmarks of the hot kernels on the shapes the models use. Run with
//
//	go test ./engine/cpu/ -run '^$' -bench . -benchtime 3x
//
// Convolutions report GFLOP/s (2·N·K·OutH·OutW·C·R·S per call, the same count for all three
// passes); memory-bound kernels report GB/s of compulsory traffic.

var benchConvs = []struct {
	name string
	g    engine.ConvGeom
}{
	// lenet-lca conv2: 20→40 channels, 5×5, "same" padding on 14×14.
	{"lenet_conv2", engine.ConvGeom{N: 250, C: 20, H: 14, W: 14, K: 40, R: 5, S: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, OutH: 14, OutW: 14}},
	// lenet-lca conv1: 1→20 channels, 5×5, "same" padding on 28×28 (the stack form's one
	// input channel: 25 taps of reduction).
	{"lenet_conv1", engine.ConvGeom{N: 250, C: 1, H: 28, W: 28, K: 20, R: 5, S: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, OutH: 28, OutW: 28}},
	// resnet20 stage 1: 16→16 channels, 3×3 pad 1 on 32×32.
	{"resnet20_s1", engine.ConvGeom{N: 128, C: 16, H: 32, W: 32, K: 16, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: 32, OutW: 32}},
	// resnet20 stages 2 and 3: 32→32 on 16×16 and 64→64 on 8×8 (the same FLOPs as stage 1).
	{"resnet20_s2", engine.ConvGeom{N: 128, C: 32, H: 16, W: 16, K: 32, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: 16, OutW: 16}},
	{"resnet20_s3", engine.ConvGeom{N: 128, C: 64, H: 8, W: 8, K: 64, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: 8, OutW: 8}},
	// resnet20's first stride-2 convolution: 16→32, 3×3 pad 1, 32×32 → 16×16.
	{"resnet20_s2down", engine.ConvGeom{N: 128, C: 16, H: 32, W: 32, K: 32, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, OutH: 16, OutW: 16}},
	// and its 1×1 stride-2 projection shortcut.
	{"resnet20_s2proj", engine.ConvGeom{N: 128, C: 16, H: 32, W: 32, K: 32, R: 1, S: 1, StrideH: 2, StrideW: 2, OutH: 16, OutW: 16}},
	// lenet-lca's conv2 at its batch: 20→40, 5×5 pad 2 on 14×14.
	{"lenet_conv2", engine.ConvGeom{N: 250, C: 20, H: 14, W: 14, K: 40, R: 5, S: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, OutH: 14, OutW: 14}},
	// CoordConv painter conv2 and conv4: 1×1, 32→32 and 64→64 channels on 64×64, batch 16.
	{"painter_conv2", engine.ConvGeom{N: 16, C: 32, H: 64, W: 64, K: 32, R: 1, S: 1, StrideH: 1, StrideW: 1, OutH: 64, OutW: 64}},
	{"painter_conv4", engine.ConvGeom{N: 16, C: 64, H: 64, W: 64, K: 64, R: 1, S: 1, StrideH: 1, StrideW: 1, OutH: 64, OutW: 64}},
}

func benchBuf(n int) engine.Buffer {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	return Wrap(randSlice(r, n))
}

// benchConv times one pass of each benchConvs shape. With cold, each call takes the next of
// enough input and output tensors to fill 64 MiB, so that they come from memory as in a training
// step (between one layer's passes the step touches every other layer's tensors) instead of
// from the last-level cache.
func benchConv(b *testing.B, pass string, cold bool) {
	for _, c := range benchConvs {
		b.Run(c.name, func(b *testing.B) {
			d := New()
			g := c.g
			copies := 1
			if cold {
				copies = max(64<<20/(4*(g.InputLen()+g.OutputLen())), 2)
			}
			xs, ys := make([]engine.Buffer, copies), make([]engine.Buffer, copies)
			for i := range copies {
				xs[i], ys[i] = benchBuf(g.InputLen()), benchBuf(g.OutputLen())
			}
			w := benchBuf(g.WeightLen())
			call := 0
			run := func() {
				x, y := xs[call%copies], ys[call%copies]
				call++
				switch pass {
				case "fwd":
					d.ConvForward(g, x, w, y)
				case "bwdData":
					d.ConvBackwardData(g, y, w, x, 0)
				case "bwdFilter":
					d.ConvBackwardFilter(g, x, y, w)
				}
			}
			run() // grow scratch
			b.ResetTimer()
			cpu0 := cputime.Process()
			for i := 0; i < b.N; i++ {
				run()
			}
			cpu := cputime.Process() - cpu0
			b.ReportMetric(g.Flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			// CPU time per call (all threads): with -cpu 1 on a loaded machine, a steadier
			// measure of the work than wall time.
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

func BenchmarkConvForward(b *testing.B)            { benchConv(b, "fwd", false) }
func BenchmarkConvBackwardData(b *testing.B)       { benchConv(b, "bwdData", false) }
func BenchmarkConvBackwardFilter(b *testing.B)     { benchConv(b, "bwdFilter", false) }
func BenchmarkConvForwardCold(b *testing.B)        { benchConv(b, "fwd", true) }
func BenchmarkConvBackwardDataCold(b *testing.B)   { benchConv(b, "bwdData", true) }
func BenchmarkConvBackwardFilterCold(b *testing.B) { benchConv(b, "bwdFilter", true) }

func BenchmarkBatchNormTrain(b *testing.B) {
	const n, c, hw = 128, 16, 32 * 32
	d := New()
	x, y := benchBuf(n*c*hw), benchBuf(n*c*hw)
	gamma, beta, sm, si, rm, rv := benchBuf(c), benchBuf(c), benchBuf(c), benchBuf(c), benchBuf(c), Wrap(fill(c, 1))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.BatchNormTrain(x, y, gamma, beta, sm, si, rm, rv, n, c, hw, 0.1, 1e-5)
	}
	// Compulsory traffic: x read twice (mean, variance) and once more for y, y written.
	b.ReportMetric(4*4*float64(n*c*hw)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

func BenchmarkBatchNormBackward(b *testing.B) {
	const n, c, hw = 128, 16, 32 * 32
	d := New()
	x, dy, dx := benchBuf(n*c*hw), benchBuf(n*c*hw), benchBuf(n*c*hw)
	gamma, sm, si, dg, db := benchBuf(c), benchBuf(c), Wrap(fill(c, 1)), benchBuf(c), benchBuf(c)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.BatchNormBackward(x, dy, dx, gamma, sm, si, dg, db, n, c, hw, true)
	}
	// x and dy read twice, dx written.
	b.ReportMetric(5*4*float64(n*c*hw)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

// BenchmarkBatchNormReLU compares the fused batch norm + shortcut add + ReLU (forward) and ReLU
// backward + batch norm backward with the separate ops on resnet20's activations (batch 128,
// stages 1 to 3), in CPU ms per call (all threads): the memory passes the fusion removes.
func BenchmarkBatchNormReLU(b *testing.B) {
	for _, s := range []struct {
		name  string
		c, hw int
	}{{"s1", 16, 32 * 32}, {"s2", 32, 16 * 16}, {"s3", 64, 8 * 8}} {
		b.Run(s.name, func(b *testing.B) { benchBatchNormReLU(b, 128, s.c, s.hw, false) })
	}
}

// BenchmarkBatchNormReLUCold is BenchmarkBatchNormReLU with its tensors rotated through 96 MiB
// (as benchConv's cold form), so that they come from memory as in a step.
func BenchmarkBatchNormReLUCold(b *testing.B) {
	for _, s := range []struct {
		name  string
		c, hw int
	}{{"s1", 16, 32 * 32}, {"s2", 32, 16 * 16}, {"s3", 64, 8 * 8}} {
		b.Run(s.name, func(b *testing.B) { benchBatchNormReLU(b, 128, s.c, s.hw, true) })
	}
}

func benchBatchNormReLU(b *testing.B, n, c, hw int, cold bool) {
	d := New()
	copies := 1
	if cold {
		copies = max(96<<20/(6*4*n*c*hw), 2)
	}
	type set struct{ x, res, y, dy, dz, dx engine.Buffer }
	sets := make([]set, copies)
	for i := range sets {
		sets[i] = set{benchBuf(n * c * hw), benchBuf(n * c * hw), benchBuf(n * c * hw), benchBuf(n * c * hw), benchBuf(n * c * hw), benchBuf(n * c * hw)}
		d.Relu(sets[i].y, sets[i].y)
	}
	gamma, beta, sm, si, rm, rv := benchBuf(c), benchBuf(c), benchBuf(c), Wrap(fill(c, 1)), benchBuf(c), Wrap(fill(c, 1))
	dg, db := benchBuf(c), benchBuf(c)
	var x, res, y, dy, dz, dx engine.Buffer
	call := 0
	next := func() {
		t := sets[call%copies]
		x, res, y, dy, dz, dx = t.x, t.res, t.y, t.dy, t.dz, t.dx
		call++
	}
	cases := []struct {
		name string
		run  func()
	}{
		{"fwd/separate", func() {
			d.BatchNormTrain(x, y, gamma, beta, sm, si, rm, rv, n, c, hw, 0.1, 1e-5)
			d.Add(y, res, y)
			d.Relu(y, y)
		}},
		{"fwd/fused", func() { d.BatchNormTrainReLU(x, res, y, gamma, beta, sm, si, rm, rv, n, c, hw, 0.1, 1e-5) }},
		{"bwd/separate", func() {
			d.ReluBackward(y, dy, dz)
			d.BatchNormBackward(x, dz, dx, gamma, sm, si, dg, db, n, c, hw, true)
		}},
		{"bwd/fused", func() { d.BatchNormBackwardReLU(x, y, dy, dz, dx, gamma, sm, si, dg, db, n, c, hw, true) }},
	}
	for _, k := range cases {
		b.Run(k.name, func(b *testing.B) {
			next()
			k.run()
			b.ResetTimer()
			cpu0 := cputime.Process()
			for i := 0; i < b.N; i++ {
				next()
				k.run()
			}
			b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/1e3/float64(b.N), "cpu-ms/op")
		})
	}
}

func BenchmarkMaxPool(b *testing.B) {
	g := engine.PoolGeom{N: 250, C: 20, H: 28, W: 28, KH: 2, KW: 2, StrideH: 2, StrideW: 2, OutH: 14, OutW: 14}
	d := New()
	x, y, dx := benchBuf(g.InputLen()), benchBuf(g.OutputLen()), benchBuf(g.InputLen())
	bytes := 4 * float64(g.InputLen()+g.OutputLen())
	b.Run("fwd", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			d.MaxPool(g, x, y)
		}
		b.ReportMetric(bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	})
	b.Run("bwd", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			d.MaxPoolBackward(g, x, y, dx)
		}
		b.ReportMetric((bytes+4*float64(g.InputLen()))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	})
}

// BenchmarkBiasGrad is lenet-lca's two convolution bias gradients (250 images, 20×28² and
// 40×14²), in GB/s of dy read.
func BenchmarkBiasGrad(b *testing.B) {
	for _, s := range []struct {
		name     string
		n, c, hw int
	}{{"conv1", 250, 20, 28 * 28}, {"conv2", 250, 40, 14 * 14}} {
		b.Run(s.name, func(b *testing.B) {
			d := New()
			dy, db := benchBuf(s.n*s.c*s.hw), benchBuf(s.c)
			for i := 0; i < b.N; i++ {
				d.BiasGrad(dy, db, s.n, s.c, s.hw)
			}
			b.ReportMetric(4*float64(s.n*s.c*s.hw)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

// BenchmarkDropout is lenet-lca's first dropout (250×40×7×7, p = 0.25) on each path: Philox
// blocks in AVX-512 lanes against one block at a time, in millions of elements per second.
func BenchmarkDropout(b *testing.B) {
	const n = 250 * 40 * 7 * 7
	d := New()
	x, mask, y := benchBuf(n), benchBuf(n), benchBuf(n)
	sgemmtest.BenchPaths(b, func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			d.Dropout(x, mask, y, 0.25, 42, uint64(i)*n)
		}
		b.ReportMetric(n*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
	})
}

// BenchmarkCheckLayer is the cost of engine's argument-checking layer on calls small enough for
// it to show: a 16-element Add and a batch-norm backward over 2×3×4, raw and checked.
func BenchmarkCheckLayer(b *testing.B) {
	for _, dev := range []struct {
		name string
		d    engine.Device
	}{{"raw", newDevice(0)}, {"checked", New()}} {
		b.Run("Add16/"+dev.name, func(b *testing.B) {
			x, y, z := benchBuf(16), benchBuf(16), benchBuf(16)
			for range b.N {
				dev.d.Add(x, y, z)
			}
		})
		b.Run("BatchNormBackward/"+dev.name, func(b *testing.B) {
			x, dy, dx := benchBuf(24), benchBuf(24), benchBuf(24)
			g, m, s, dg, db := benchBuf(3), benchBuf(3), benchBuf(3), benchBuf(3), benchBuf(3)
			for range b.N {
				dev.d.BatchNormBackward(x, dy, dx, g, m, s, dg, db, 2, 3, 4, true)
			}
		})
	}
}

// BenchmarkFWHT times one transform of the Fastfood lengths of lenet5 (2^16) and mnist-fc-200
// (2^18), the kernels (FWHT) beside the plain stage-by-stage loop they replaced, and reports
// the stages' data traffic as if each stage read and wrote the whole vector (GB/s).
func BenchmarkFWHT(b *testing.B) {
	for _, n := range []int{1 << 16, 1 << 18} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		stages := 0
		for h := 1; h < n; h *= 2 {
			stages++
		}
		run := func(b *testing.B, f func()) {
			b.SetBytes(int64(8 * n * stages))
			for b.Loop() {
				f()
			}
		}
		d := New()
		buf := Wrap(x)
		b.Run(fmt.Sprintf("n%d/kernels", n), func(b *testing.B) { run(b, func() { d.FWHT(buf, n) }) })
		b.Run(fmt.Sprintf("n%d/plain", n), func(b *testing.B) { run(b, func() { sgemm.FWHTPlain(x, n) }) })
	}
}

// BenchmarkWinoFilterTransform times the filter transforms (and the filter gradient's inverse
// ones, back) of one call on one core: resnet20's
// 64→64 (F(2×2, 3×3)) and 32→32 (F(4×4, 3×3)) filters.
func BenchmarkWinoFilterTransform(b *testing.B) {
	for _, c := range []struct {
		name string
		t    winoTile
		kc   int
	}{{"f2_64x64", newWinoTile(3, 2), 64 * 64}, {"f4_32x32", newWinoTile(3, 4), 32 * 32}} {
		w := fill(c.kc*9, 0.1)
		us := c.kc + 16
		u := make([]float32, c.t.xi*us)
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c.t.transformFilters(u, w, 0, c.kc, us)
			}
		})
		b.Run(c.name+"/any", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c.t.transformFiltersAny(u, w, 0, c.kc, us)
			}
		})
		dw := make([]float32, c.kc*9)
		back := winoBackArgs{t: c.t, sum: u[:c.t.xi*c.kc], c: 64, k: c.kc / 64, dw: dw}
		b.Run(c.name+"/back", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				back.run(0, c.kc)
			}
		})
		b.Run(c.name+"/back-any", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				back.runAny(0, c.kc)
			}
		})
	}
}
