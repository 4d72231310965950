package cpu

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gazeml/gaze/engine"
)

// TestKernelsDoNotAllocate: in steady state (scratch grown, worker pool started) kernel calls
// allocate nothing, including the ones large enough to fan out over the cores.
func TestKernelsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 2)))
	d := New()
	r := rand.New(rand.NewPCG(5, 6))
	buf := func(n int) engine.Buffer { return Wrap(randSlice(r, n)) }

	const m, n, k = 256, 256, 256 // 32 MFLOP: sgemm goes parallel
	a, b, c := buf(m*k), buf(k*n), buf(m*n)
	g := engine.ConvGeom{N: 16, C: 8, H: 16, W: 16, K: 16, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: 16, OutW: 16}
	x, w, y := buf(g.InputLen()), buf(g.WeightLen()), buf(g.OutputLen())
	dx, dw := buf(g.InputLen()), buf(g.WeightLen())
	// resnet's downsampling convolution: the stack form's phase fill and, backward, the phase form.
	g2 := engine.ConvGeom{N: 16, C: 8, H: 16, W: 16, K: 16, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, OutH: 8, OutW: 8}
	x2, y2, dx2 := buf(g2.InputLen()), buf(g2.OutputLen()), buf(g2.InputLen())
	// lenet-lca's conv2 (20→40, 5×5 same): the Winograd F(2×2, 5×5) form on AVX-512.
	g5 := engine.ConvGeom{N: 8, C: 20, H: 14, W: 14, K: 40, R: 5, S: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, OutH: 14, OutW: 14}
	x5, w5, y5, dx5, dw5 := buf(g5.InputLen()), buf(g5.WeightLen()), buf(g5.OutputLen()), buf(g5.InputLen()), buf(g5.WeightLen())
	// resnet20's first stage shape (16→16 on 16×16 and up): F(4×4, 3×3) on AVX-512.
	g4 := engine.ConvGeom{N: 8, C: 16, H: 16, W: 16, K: 16, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: 16, OutW: 16}
	x4, w4, y4, dx4, dw4 := buf(g4.InputLen()), buf(g4.WeightLen()), buf(g4.OutputLen()), buf(g4.InputLen()), buf(g4.WeightLen())
	big, big2 := buf(1<<20), buf(1<<20)
	const bn, bc, bhw = 32, 16, 256
	bx, by := buf(bn*bc*bhw), buf(bn*bc*bhw)
	gamma, beta, sm, si, rm := buf(bc), buf(bc), buf(bc), buf(bc), buf(bc)
	rv := Wrap(fill(bc, 1))
	const rows, classes = 4096, 10
	logits, losses, dlogits := buf(rows*classes), buf(rows), buf(rows*classes)
	labels := make([]float32, rows)
	for i := range labels {
		labels[i] = float32(i % classes)
	}
	lab := Wrap(labels)
	theta, grad, vel := buf(1<<20), buf(1<<20), buf(1<<20)
	pg := engine.PoolGeom{N: 32, C: 16, H: 32, W: 32, KH: 2, KW: 2, StrideH: 2, StrideW: 2, OutH: 16, OutW: 16}
	px, py := buf(pg.InputLen()), buf(pg.OutputLen())

	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Gemm", func() { d.Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) }},
		{"GemmTT", func() { d.Gemm(true, true, m, n, k, 1, a, m, b, k, 1, c, n) }},
		{"ConvForward", func() { d.ConvForward(g, x, w, y) }},
		{"ConvBackwardData", func() { d.ConvBackwardData(g, y, w, dx, 0) }},
		{"ConvBackwardFilter", func() { d.ConvBackwardFilter(g, x, y, dw) }},
		{"ConvForward/stride2", func() { d.ConvForward(g2, x2, w, y2) }},
		{"ConvBackwardData/stride2", func() { d.ConvBackwardData(g2, y2, w, dx2, 0) }},
		{"ConvBackwardFilter/stride2", func() { d.ConvBackwardFilter(g2, x2, y2, dw) }},
		{"ConvForward/5x5", func() { d.ConvForward(g5, x5, w5, y5) }},
		{"ConvBackwardData/5x5", func() { d.ConvBackwardData(g5, y5, w5, dx5, 0) }},
		{"ConvBackwardFilter/5x5", func() { d.ConvBackwardFilter(g5, x5, y5, dw5) }},
		{"ConvForward/4x4tiles", func() { d.ConvForward(g4, x4, w4, y4) }},
		{"ConvBackwardData/4x4tiles", func() { d.ConvBackwardData(g4, y4, w4, dx4, 0) }},
		{"ConvBackwardFilter/4x4tiles", func() { d.ConvBackwardFilter(g4, x4, y4, dw4) }},
		{"Relu", func() { d.Relu(big, big2) }},
		{"ReluBackward", func() { d.ReluBackward(big, big2, big2) }},
		{"Add", func() { d.Add(big, big2, big2) }},
		{"BiasAdd", func() { d.BiasAdd(bx, gamma, bn, bc, bhw) }},
		{"BiasGrad", func() { d.BiasGrad(bx, gamma, bn, bc, bhw) }},
		{"BatchNormTrain", func() { d.BatchNormTrain(bx, by, gamma, beta, sm, si, rm, rv, bn, bc, bhw, 0.1, 1e-5) }},
		{"BatchNormBackward", func() { d.BatchNormBackward(bx, by, bx, gamma, sm, si, rm, beta, bn, bc, bhw, true) }},
		{"MaxPool", func() { d.MaxPool(pg, px, py) }},
		{"MaxPoolBackward", func() { d.MaxPoolBackward(pg, px, py, px) }},
		{"SoftmaxXent", func() { d.SoftmaxXent(logits, lab, losses, dlogits, rows, classes, 1) }},
		{"Sum", func() { d.Sum(big) }},
		{"Dot", func() { d.Dot(big, big2) }},
		{"SGDStep", func() { d.SGDStep(theta, grad, vel, 0.01, 0.9, 1e-4, false) }},
		{"AdamStep", func() { d.AdamStep(theta, grad, vel, big, 0.01, 0.9, 0.999, 1e-8, 0, 3) }},
	} {
		tc.f() // grow scratch, start the workers
		if allocs := testing.AllocsPerRun(5, tc.f); allocs != 0 {
			t.Errorf("%s allocates %v times per call", tc.name, allocs)
		}
	}
}

// TestTwoDevicesConcurrently: devices used from different goroutines at the same time share the
// process-wide worker pool; each must still get exactly its single-goroutine results.
func TestTwoDevicesConcurrently(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 2)))
	r := rand.New(rand.NewPCG(7, 8))
	g := engine.ConvGeom{N: 12, C: 8, H: 12, W: 12, K: 16, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: 12, OutW: 12}
	x, w, dy := randSlice(r, g.InputLen()), randSlice(r, g.WeightLen()), randSlice(r, g.OutputLen())
	big := randSlice(r, 1<<19)
	type result struct {
		y, dx, dw, relu []float32
		sum             float64
	}
	compute := func(d engine.Device) result {
		y, dx, dw, relu := zeros(g.OutputLen()), zeros(g.InputLen()), zeros(g.WeightLen()), zeros(len(big))
		d.ConvForward(g, Wrap(x), Wrap(w), y)
		d.ConvBackwardData(g, Wrap(dy), Wrap(w), dx, 0)
		d.ConvBackwardFilter(g, Wrap(x), Wrap(dy), dw)
		d.Relu(Wrap(big), relu)
		return result{Data(y), Data(dx), Data(dw), Data(relu), d.Sum(Wrap(big))}
	}
	want := compute(New())
	done := make(chan result)
	for range 2 {
		go func() {
			d := New()
			var res result
			for range 20 {
				res = compute(d)
			}
			done <- res
		}()
	}
	for range 2 {
		got := <-done
		if !equal(got.y, want.y) || !equal(got.dx, want.dx) || !equal(got.dw, want.dw) || !equal(got.relu, want.relu) || got.sum != want.sum {
			t.Fatal("a device used concurrently with another computed different results")
		}
	}
}
