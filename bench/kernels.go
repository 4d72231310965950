package bench

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/models"
)

// KernelResult is one kernel workload's timing: milliseconds per call and, from the work the
// call does by definition (not what the kernel happens to execute), GFLOP/s (compute-bound
// kernels) and GB/s (every float the call must read or write, counted once).
type KernelResult struct {
	Kernel string  `json:"kernel"`
	Shape  string  `json:"shape"`
	Device string  `json:"device"`
	Calls  int     `json:"calls"`
	MS     float64 `json:"ms"`
	GFLOPS float64 `json:"gflop_s,omitempty"`
	GBS    float64 `json:"gb_s,omitempty"`
}

// kernelCase prepares one kernel workload: it allocates its buffers and returns the call to time.
type kernelCase struct {
	kernel, shape string
	flops, bytes  float64
	big           bool // needs gigabytes: only on accelerators
	prep          func(e *kenv) func()
}

// kenv allocates a case's buffers (random normal contents) and frees them afterwards.
type kenv struct {
	dev  engine.Device
	rnd  *rand.Rand
	bufs []engine.Buffer
	err  error
}

func (e *kenv) buf(n int, fill func(i int) float32) engine.Buffer {
	b, err := e.dev.Alloc(n)
	if err != nil {
		if e.err == nil {
			e.err = err
		}
		return nil
	}
	e.bufs = append(e.bufs, b)
	// Upload in slices so that a 10 GB projection does not need a 10 GB host copy.
	const step = 1 << 22
	h := make([]float32, min(n, step))
	for off := 0; off < n; off += step {
		k := min(step, n-off)
		for i := range h[:k] {
			h[i] = fill(off + i)
		}
		e.dev.Upload(b.Slice(off, k), h[:k])
	}
	return b
}

func (e *kenv) rand(n int) engine.Buffer {
	if n > 1<<24 {
		// Gigabyte buffers (stored projections): a cheap hash instead of normal draws; only the
		// memory traffic is measured.
		return e.buf(n, func(i int) float32 { return float32(uint32(i)*2654435761>>8)/(1<<24) - 0.5 })
	}
	return e.buf(n, func(int) float32 { return float32(e.rnd.NormFloat64()) })
}

func (e *kenv) fill(n int, v float32) engine.Buffer { return e.buf(n, func(int) float32 { return v }) }

func (e *kenv) free() {
	for _, b := range e.bufs {
		e.dev.Free(b)
	}
}

func conv3(n, c, hw, k, stride int) engine.ConvGeom {
	out := (hw+2-3)/stride + 1
	return engine.ConvGeom{N: n, C: c, H: hw, W: hw, K: k, R: 3, S: 3, StrideH: stride, StrideW: stride, PadH: 1, PadW: 1, OutH: out, OutW: out}
}

// The projection of the intrinsic-dimension workload: ResNet-20's parameter count.
const projD = 272474

// KernelCases are the kernel workloads of `gaze bench --kernels`, the shapes bench/torch times
// with PyTorch (same names).
func kernelCases() []kernelCase {
	var cs []kernelCase
	// Convolutions at ResNet-20's shapes, batch 128, 3×3 padding 1 (the stage widths, plus a
	// 64-channel 32×32 layer as the fourth cuDNN reference).
	for _, s := range []struct{ c, hw int }{{16, 32}, {32, 16}, {64, 8}, {64, 32}} {
		g := conv3(128, s.c, s.hw, s.c, 1)
		shape := fmt.Sprintf("n128_c%d_%dx%d_k%d_3x3", s.c, s.hw, s.hw, s.c)
		io := 4 * float64(g.InputLen()+g.WeightLen()+g.OutputLen())
		cs = append(cs,
			kernelCase{"conv_fwd", shape, g.Flops(), io, false, func(e *kenv) func() {
				x, w, y := e.rand(g.InputLen()), e.rand(g.WeightLen()), e.rand(g.OutputLen())
				return func() { e.dev.ConvForward(g, x, w, y) }
			}},
			kernelCase{"conv_bwd_data", shape, g.Flops(), io, false, func(e *kenv) func() {
				dx, w, dy := e.rand(g.InputLen()), e.rand(g.WeightLen()), e.rand(g.OutputLen())
				return func() { e.dev.ConvBackwardData(g, dy, w, dx, 0) }
			}},
			kernelCase{"conv_bwd_filter", shape, g.Flops(), io, false, func(e *kenv) func() {
				x, dw, dy := e.rand(g.InputLen()), e.rand(g.WeightLen()), e.rand(g.OutputLen())
				return func() { e.dev.ConvBackwardFilter(g, x, dy, dw) }
			}},
		)
	}
	for _, n := range []int{512, 2048} {
		cs = append(cs, kernelCase{"gemm_nn", fmt.Sprintf("%dx%dx%d", n, n, n), 2 * float64(n) * float64(n) * float64(n), 4 * 3 * float64(n*n), false, func(e *kenv) func() {
			a, b, c := e.rand(n*n), e.rand(n*n), e.rand(n*n)
			return func() { e.dev.Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) }
		}})
	}
	// Dense random projection with a stored P (d×D, as intdim stores it): θ = θ₀ + P·θ_d is
	// Gemv(Aᵀ), g_d = Pᵀ·g is Gemv(A), as intdim calls them. Memory-bound: P is read once.
	for _, d := range []int{1000, 10000} {
		big := d*projD > 1<<30
		pb := 4 * float64(d) * projD
		cs = append(cs,
			kernelCase{"proj_dense", fmt.Sprintf("D%d_d%d", projD, d), 2 * float64(d) * projD, pb, big, func(e *kenv) func() {
				p, x, y := e.rand(d*projD), e.rand(d), e.rand(projD)
				return func() { e.dev.Gemv(true, d, projD, 1, p, projD, x, 1, y) }
			}},
			kernelCase{"proj_dense_T", fmt.Sprintf("D%d_d%d", projD, d), 2 * float64(d) * projD, pb, big, func(e *kenv) func() {
				p, g, out := e.rand(d*projD), e.rand(projD), e.rand(d)
				return func() { e.dev.Gemv(false, d, projD, 1, p, projD, g, 0, out) }
			}},
			// On the fly: P's entries are regenerated (Philox + Box–Muller) instead of read.
			kernelCase{"proj_otf", fmt.Sprintf("D%d_d%d", projD, d), 2 * float64(d) * projD, 4 * float64(d+2*projD), true, func(e *kenv) func() {
				inv, x, y := e.fill(d, 1/float32(projD)), e.rand(d), e.rand(projD)
				return func() { e.dev.ProjOTF(9, projD, inv, x, y, 1) }
			}},
			kernelCase{"proj_otf_T", fmt.Sprintf("D%d_d%d", projD, d), 2 * float64(d) * projD, 4 * float64(2*d+projD), true, func(e *kenv) func() {
				inv, g, out := e.fill(d, 1/float32(projD)), e.rand(projD), e.rand(d)
				return func() { e.dev.ProjOTFT(9, projD, inv, g, out) }
			}},
		)
	}
	const bn, bc, bhw = 128, 16, 32 * 32
	cs = append(cs,
		kernelCase{"batchnorm_train", "n128_c16_32x32", 0, 4 * 3 * bn * bc * bhw, false, func(e *kenv) func() {
			x, y := e.rand(bn*bc*bhw), e.rand(bn*bc*bhw)
			gm, bt, sm, si, rm, rv := e.rand(bc), e.rand(bc), e.rand(bc), e.rand(bc), e.rand(bc), e.fill(bc, 1)
			return func() { e.dev.BatchNormTrain(x, y, gm, bt, sm, si, rm, rv, bn, bc, bhw, 0.1, 1e-5) }
		}},
		kernelCase{"batchnorm_backward", "n128_c16_32x32", 0, 4 * 5 * bn * bc * bhw, false, func(e *kenv) func() {
			x, dy, dx := e.rand(bn*bc*bhw), e.rand(bn*bc*bhw), e.rand(bn*bc*bhw)
			gm, sm, si, dg, db := e.rand(bc), e.rand(bc), e.fill(bc, 1), e.rand(bc), e.rand(bc)
			return func() { e.dev.BatchNormBackward(x, dy, dx, gm, sm, si, dg, db, bn, bc, bhw, true) }
		}},
		kernelCase{"relu", "n128_c16_32x32", 0, 4 * 2 * bn * bc * bhw, false, func(e *kenv) func() {
			x, y := e.rand(bn*bc*bhw), e.rand(bn*bc*bhw)
			return func() { e.dev.Relu(x, y) }
		}},
		kernelCase{"softmax_xent", "n64_k4096", 0, 4 * 2 * 64 * 4096, false, func(e *kenv) func() {
			z, dz, losses := e.rand(64*4096), e.rand(64*4096), e.rand(64)
			lab := e.buf(64, func(i int) float32 { return float32(i * 61 % 4096) })
			return func() { e.dev.SoftmaxXent(z, lab, losses, dz, 64, 4096, 1.0/64) }
		}},
		kernelCase{"sgd_step", fmt.Sprintf("D%d", projD), 0, 4 * 5 * projD, false, func(e *kenv) func() {
			th, g, v := e.rand(projD), e.rand(projD), e.rand(projD)
			return func() { e.dev.SGDStep(th, g, v, 1e-6, 0.9, 5e-4, false) }
		}},
	)
	return cs
}

// Kernels times the kernel workloads whose name contains filter (all when empty) for at least
// minTime each. Workloads marked big (a 10 GB stored projection, on-the-fly projections that take
// minutes on a CPU) run only on devices other than the CPU.
func Kernels(dev engine.Device, filter string, minTime time.Duration) ([]KernelResult, error) {
	var out []KernelResult
	for _, c := range kernelCases() {
		if filter != "" && !strings.Contains(c.kernel+"/"+c.shape, filter) {
			continue
		}
		if c.big && dev.Name() == "cpu" {
			continue
		}
		e := &kenv{dev: dev, rnd: rand.New(rand.NewPCG(1, 2))}
		f := c.prep(e)
		if e.err != nil {
			e.free()
			return out, fmt.Errorf("%s/%s: %w", c.kernel, c.shape, e.err)
		}
		f() // warm-up (JIT, allocator, caches)
		if err := dev.Sync(); err != nil {
			e.free()
			return out, fmt.Errorf("%s/%s: %w", c.kernel, c.shape, err)
		}
		n := 0
		start := time.Now()
		for n < 3 || time.Since(start) < minTime {
			f()
			n++
			if n%16 == 0 || time.Since(start) >= minTime {
				if err := dev.Sync(); err != nil {
					e.free()
					return out, fmt.Errorf("%s/%s: %w", c.kernel, c.shape, err)
				}
			}
		}
		err := dev.Sync()
		s := time.Since(start).Seconds() / float64(n)
		e.free()
		if err != nil {
			return out, fmt.Errorf("%s/%s: %w", c.kernel, c.shape, err)
		}
		r := KernelResult{Kernel: c.kernel, Shape: c.shape, Device: dev.Name(), Calls: n, MS: s * 1e3}
		if c.flops > 0 {
			r.GFLOPS = c.flops / s / 1e9
		}
		if c.bytes > 0 {
			r.GBS = c.bytes / s / 1e9
		}
		out = append(out, r)
	}
	return out, nil
}

// GradientResult is the LCA workload: the mean loss and gradient of a model over a whole data set
// in chunks (engine.Model.Gradient), as LCA computes it at every iteration.
type GradientResult struct {
	Model    string  `json:"model"`
	Examples int     `json:"examples"`
	Chunk    int     `json:"chunk"`
	Device   string  `json:"device"`
	Seconds  float64 `json:"seconds"`
	ExPerSec float64 `json:"examples_per_s"`
}

// Gradient times one full-set gradient of model over n random examples of shape in, in chunks,
// after one warm-up pass over the first chunk.
func Gradient(dev engine.Device, model string, in []int, n, chunk int) (GradientResult, error) {
	m, err := models.New(dev, model, in, 10, chunk)
	if err != nil {
		return GradientResult{}, err
	}
	defer m.Close()
	m.Init(0)
	size := in[0] * in[1] * in[2]
	r := rand.New(rand.NewPCG(3, 4))
	// n examples of random data would be 600 MB for CIFAR shapes; the data set cycles through
	// 2·chunk stored examples, so the host copy is small while every chunk is uploaded as usual.
	stored := min(n, 2*chunk)
	b := &Batch{x: make([]float32, stored*size), y: make([]float32, stored), in: size}
	for i := range b.x {
		b.x[i] = float32(r.NormFloat64())
	}
	for i := range b.y {
		b.y[i] = float32(r.IntN(10))
	}
	ds := &cycled{Batch: b, n: n}
	warm := &cycled{Batch: b, n: chunk}
	if _, err := m.Gradient(warm, chunk, engine.TrainMode); err != nil {
		return GradientResult{}, err
	}
	start := time.Now()
	if _, err := m.Gradient(ds, chunk, engine.TrainMode); err != nil {
		return GradientResult{}, err
	}
	s := time.Since(start).Seconds()
	return GradientResult{Model: model, Examples: n, Chunk: chunk, Device: dev.Name(), Seconds: s, ExPerSec: float64(n) / s}, nil
}

// cycled presents n examples by cycling through a Batch's stored ones.
type cycled struct {
	*Batch
	n int
}

func (c *cycled) Len() int { return c.n }
func (c *cycled) Gather(idx []int, x, y []float32) error {
	k := c.Batch.Len()
	for i, j := range idx {
		j %= k
		copy(x[i*c.in:(i+1)*c.in], c.x[j*c.in:(j+1)*c.in])
		y[i] = c.y[j]
	}
	return nil
}
