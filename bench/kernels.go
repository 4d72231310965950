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
	Kernel string `json:"kernel"`
	Shape  string `json:"shape"`
	// Variant is the kernel variant forced for this timing (gaze bench --variants); empty for
	// the device's default choice.
	Variant   string  `json:"variant,omitempty"`
	Device    string  `json:"device"`
	Precision string  `json:"precision,omitempty"`
	Calls     int     `json:"calls"`
	MS        float64 `json:"ms"`
	GFLOPS    float64 `json:"gflop_s,omitempty"`
	GBS       float64 `json:"gb_s,omitempty"`
}

// kernelCase prepares one kernel workload: it allocates its buffers and returns the call to time.
type kernelCase struct {
	kernel, shape string
	flops, bytes  float64
	big           bool // needs gigabytes: only on accelerators
	prep          func(e *kenv) func()
	// The device op whose variants can time this case (VariantDevice), and the rows of its
	// implicit GEMM (output channels; input channels for the data gradient).
	vop string
	vm  int
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

func conv3(n, c, hw, k, stride int) engine.ConvGeom { return convRS(n, c, hw, k, 3, stride) }

// convRS is a square r×r convolution with ResNet's padding (r/2) and the given stride.
func convRS(n, c, hw, k, r, stride int) engine.ConvGeom {
	pad := r / 2
	out := (hw+2*pad-r)/stride + 1
	return engine.ConvGeom{N: n, C: c, H: hw, W: hw, K: k, R: r, S: r, StrideH: stride, StrideW: stride, PadH: pad, PadW: pad, OutH: out, OutW: out}
}

// resnetConvs are the convolutions of ResNet-20 at batch 128 on CIFAR-10 (the stage widths 16,
// 32, 64 at 32×32, 16×16, 8×8; the stem from 3 channels; the 3×3 stride-2 convolutions and 1×1
// stride-2 projections that open stages 2 and 3) plus a 64-channel 32×32 layer, the issue's
// fourth cuDNN reference. Shape names as bench/torch/bench.py writes them.
var resnetConvs = []struct{ c, hw, k, r, stride int }{
	{16, 32, 16, 3, 1}, {32, 16, 32, 3, 1}, {64, 8, 64, 3, 1}, {64, 32, 64, 3, 1},
	{3, 32, 16, 3, 1}, {16, 32, 32, 3, 2}, {32, 16, 64, 3, 2}, {16, 32, 32, 1, 2}, {32, 16, 64, 1, 2},
}

func convShape(c, hw, k, r, stride int) string {
	s := fmt.Sprintf("n128_c%d_%dx%d_k%d_%dx%d", c, hw, hw, k, r, r)
	if stride != 1 {
		s += fmt.Sprintf("_s%d", stride)
	}
	return s
}

// The projection of the intrinsic-dimension workload: ResNet-20's parameter count.
const projD = 272474

// KernelCases are the kernel workloads of `gaze bench --kernels`, the shapes bench/torch times
// with PyTorch (same names).
func kernelCases() []kernelCase {
	var cs []kernelCase
	// Convolutions at ResNet-20's shapes, batch 128.
	for _, s := range resnetConvs {
		g := convRS(128, s.c, s.hw, s.k, s.r, s.stride)
		shape := convShape(s.c, s.hw, s.k, s.r, s.stride)
		io := 4 * float64(g.InputLen()+g.WeightLen()+g.OutputLen())
		cs = append(cs,
			kernelCase{kernel: "conv_fwd", shape: shape, flops: g.Flops(), bytes: io, vop: "conv_fwd", vm: g.K, prep: func(e *kenv) func() {
				x, w, y := e.rand(g.InputLen()), e.rand(g.WeightLen()), e.rand(g.OutputLen())
				return func() { e.dev.ConvForward(g, x, w, y) }
			}},
			kernelCase{kernel: "conv_bwd_data", shape: shape, flops: g.Flops(), bytes: io, vop: "conv_bwd_data", vm: g.C, prep: func(e *kenv) func() {
				dx, w, dy := e.rand(g.InputLen()), e.rand(g.WeightLen()), e.rand(g.OutputLen())
				return func() { e.dev.ConvBackwardData(g, dy, w, dx, 0) }
			}},
			kernelCase{kernel: "conv_bwd_filter", shape: shape, flops: g.Flops(), bytes: io, vop: "conv_bwd_filter", vm: g.K, prep: func(e *kenv) func() {
				x, dw, dy := e.rand(g.InputLen()), e.rand(g.WeightLen()), e.rand(g.OutputLen())
				return func() { e.dev.ConvBackwardFilter(g, x, dy, dw) }
			}},
		)
	}
	for _, n := range []int{512, 2048} {
		cs = append(cs, kernelCase{kernel: "gemm_nn", shape: fmt.Sprintf("%dx%dx%d", n, n, n), flops: 2 * float64(n) * float64(n) * float64(n), bytes: 4 * 3 * float64(n*n), prep: func(e *kenv) func() {
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
			kernelCase{kernel: "proj_dense", shape: fmt.Sprintf("D%d_d%d", projD, d), flops: 2 * float64(d) * projD, bytes: pb, big: big, prep: func(e *kenv) func() {
				p, x, y := e.rand(d*projD), e.rand(d), e.rand(projD)
				return func() { e.dev.Gemv(true, d, projD, 1, p, projD, x, 1, y) }
			}},
			kernelCase{kernel: "proj_dense_T", shape: fmt.Sprintf("D%d_d%d", projD, d), flops: 2 * float64(d) * projD, bytes: pb, big: big, vop: "gemv_n", prep: func(e *kenv) func() {
				p, g, out := e.rand(d*projD), e.rand(projD), e.rand(d)
				return func() { e.dev.Gemv(false, d, projD, 1, p, projD, g, 0, out) }
			}},
			// On the fly: P's entries are regenerated (Philox + Box–Muller) instead of read.
			kernelCase{kernel: "proj_otf", shape: fmt.Sprintf("D%d_d%d", projD, d), flops: 2 * float64(d) * projD, bytes: 4 * float64(d+2*projD), big: true, prep: func(e *kenv) func() {
				inv, x, y := e.fill(d, 1/float32(projD)), e.rand(d), e.rand(projD)
				return func() { e.dev.ProjOTF(9, projD, inv, x, y, 1) }
			}},
			kernelCase{kernel: "proj_otf_T", shape: fmt.Sprintf("D%d_d%d", projD, d), flops: 2 * float64(d) * projD, bytes: 4 * float64(2*d+projD), big: true, prep: func(e *kenv) func() {
				inv, g, out := e.fill(d, 1/float32(projD)), e.rand(projD), e.rand(d)
				return func() { e.dev.ProjOTFT(9, projD, inv, g, out) }
			}},
		)
	}
	const bn, bc, bhw = 128, 16, 32 * 32
	cs = append(cs,
		kernelCase{kernel: "batchnorm_train", shape: "n128_c16_32x32", flops: 0, bytes: 4 * 3 * bn * bc * bhw, big: false, prep: func(e *kenv) func() {
			x, y := e.rand(bn*bc*bhw), e.rand(bn*bc*bhw)
			gm, bt, sm, si, rm, rv := e.rand(bc), e.rand(bc), e.rand(bc), e.rand(bc), e.rand(bc), e.fill(bc, 1)
			return func() { e.dev.BatchNormTrain(x, y, gm, bt, sm, si, rm, rv, bn, bc, bhw, 0.1, 1e-5) }
		}},
		kernelCase{kernel: "batchnorm_backward", shape: "n128_c16_32x32", flops: 0, bytes: 4 * 5 * bn * bc * bhw, big: false, prep: func(e *kenv) func() {
			x, dy, dx := e.rand(bn*bc*bhw), e.rand(bn*bc*bhw), e.rand(bn*bc*bhw)
			gm, sm, si, dg, db := e.rand(bc), e.rand(bc), e.fill(bc, 1), e.rand(bc), e.rand(bc)
			return func() { e.dev.BatchNormBackward(x, dy, dx, gm, sm, si, dg, db, bn, bc, bhw, true) }
		}},
		// The fused ops ResNet's blocks run (bn2, shortcut add and ReLU; ReLU backward and
		// batch-norm backward); PyTorch runs the same computations as separate ops.
		kernelCase{kernel: "batchnorm_add_relu", shape: "n128_c16_32x32", flops: 0, bytes: 4 * 4 * bn * bc * bhw, big: false, prep: func(e *kenv) func() {
			x, res, y := e.rand(bn*bc*bhw), e.rand(bn*bc*bhw), e.rand(bn*bc*bhw)
			gm, bt, sm, si, rm, rv := e.rand(bc), e.rand(bc), e.rand(bc), e.rand(bc), e.rand(bc), e.fill(bc, 1)
			return func() { e.dev.BatchNormTrainReLU(x, res, y, gm, bt, sm, si, rm, rv, bn, bc, bhw, 0.1, 1e-5) }
		}},
		kernelCase{kernel: "batchnorm_relu_backward", shape: "n128_c16_32x32", flops: 0, bytes: 4 * 7 * bn * bc * bhw, big: false, prep: func(e *kenv) func() {
			x, y, dy, dz, dx := e.rand(bn*bc*bhw), e.rand(bn*bc*bhw), e.rand(bn*bc*bhw), e.rand(bn*bc*bhw), e.rand(bn*bc*bhw)
			gm, sm, si, dg, db := e.rand(bc), e.rand(bc), e.fill(bc, 1), e.rand(bc), e.rand(bc)
			return func() { e.dev.BatchNormBackwardReLU(x, y, dy, dz, dx, gm, sm, si, dg, db, bn, bc, bhw, true) }
		}},
		kernelCase{kernel: "relu", shape: "n128_c16_32x32", flops: 0, bytes: 4 * 2 * bn * bc * bhw, big: false, prep: func(e *kenv) func() {
			x, y := e.rand(bn*bc*bhw), e.rand(bn*bc*bhw)
			return func() { e.dev.Relu(x, y) }
		}},
		kernelCase{kernel: "softmax_xent", shape: "n64_k4096", flops: 0, bytes: 4 * 2 * 64 * 4096, big: false, prep: func(e *kenv) func() {
			z, dz, losses := e.rand(64*4096), e.rand(64*4096), e.rand(64)
			lab := e.buf(64, func(i int) float32 { return float32(i * 61 % 4096) })
			return func() { e.dev.SoftmaxXent(z, lab, losses, dz, 64, 4096, 1.0/64) }
		}},
		kernelCase{kernel: "sgd_step", shape: fmt.Sprintf("D%d", projD), flops: 0, bytes: 4 * 5 * projD, big: false, prep: func(e *kenv) func() {
			th, g, v := e.rand(projD), e.rand(projD), e.rand(projD)
			return func() { e.dev.SGDStep(th, g, v, 1e-6, 0.9, 5e-4, false) }
		}},
		// The element-wise product of two arena-sized vectors: the bandwidth of grad×delta
		// (LCA's per-parameter product), now that LCA combines gradients on the host, and of a
		// vector long enough to stream from memory.
		kernelCase{kernel: "mul", shape: fmt.Sprintf("D%d", projD), bytes: 4 * 3 * projD, prep: func(e *kenv) func() {
			a, b, out := e.rand(projD), e.rand(projD), e.rand(projD)
			return func() { e.dev.Mul(a, b, out) }
		}},
		kernelCase{kernel: "mul", shape: "n16777216", bytes: 4 * 3 * (1 << 24), prep: func(e *kenv) func() {
			a, b, out := e.rand(1<<24), e.rand(1<<24), e.rand(1<<24)
			return func() { e.dev.Mul(a, b, out) }
		}},
		// AddCoords: CoordConv's coordinate channels, on the CoordConv painter's maps (batch 16,
		// 64 channels, 64×64) and on a CIFAR batch (ResNet with --coordconv first).
		kernelCase{kernel: "addcoords", shape: "n16_c64_64x64", bytes: 4 * 16 * (64 + 66) * 64 * 64, prep: func(e *kenv) func() {
			x, y := e.rand(16*64*64*64), e.rand(16*66*64*64)
			return func() { e.dev.AddCoords(x, y, 16, 64, 64, 64, false) }
		}},
		kernelCase{kernel: "addcoords", shape: "n128_c3_32x32", bytes: 4 * 128 * (3 + 5) * 32 * 32, prep: func(e *kenv) func() {
			x, y := e.rand(128*3*32*32), e.rand(128*5*32*32)
			return func() { e.dev.AddCoords(x, y, 128, 3, 32, 32, false) }
		}},
	)
	return cs
}

// Kernels times the kernel workloads whose name (kernel/shape) contains filter, or one of its
// comma-separated parts (all when empty), for at least minTime each. Workloads marked big (a 10 GB stored projection, on-the-fly projections that take
// minutes on a CPU) run only on devices other than the CPU.
func Kernels(dev engine.Device, filter string, minTime time.Duration) ([]KernelResult, error) {
	return kernels(dev, filter, minTime, false)
}

// VariantDevice is a device with kernel variants (the CUDA device, engine/cuda/variants.go):
// other kernels for an op than its default choice, for timing them against each other.
type VariantDevice interface {
	VariantCandidates(op string, m int) []string
	SetKernelVariant(op, name string) error
}

// KernelsWithVariants is Kernels, and for each workload whose op has variants on the device,
// one more result per variant worth timing (KernelResult.Variant), so that one run shows which
// kernel wins at each shape.
func KernelsWithVariants(dev engine.Device, filter string, minTime time.Duration) ([]KernelResult, error) {
	return kernels(dev, filter, minTime, true)
}

func kernels(dev engine.Device, filter string, minTime time.Duration, variants bool) ([]KernelResult, error) {
	vd, _ := engine.Unwrap(dev).(VariantDevice)
	var out []KernelResult
	for _, c := range kernelCases() {
		if !matches(c.kernel+"/"+c.shape, filter) {
			continue
		}
		if c.big && dev.Name() == "cpu" {
			continue
		}
		vs := []string{""}
		if variants && vd != nil && c.vop != "" {
			vs = vd.VariantCandidates(c.vop, c.vm)
		}
		rs, err := timeCase(dev, c, minTime, vs, vd)
		out = append(out, rs...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// timeCase prepares one workload's buffers once and times it with each variant in vs ("" the
// default; vd sets them): a warm-up call, then calls (synchronised every 16) for at least
// minTime and at least 3 calls.
func timeCase(dev engine.Device, c kernelCase, minTime time.Duration, vs []string, vd VariantDevice) ([]KernelResult, error) {
	e := &kenv{dev: dev, rnd: rand.New(rand.NewPCG(1, 2))}
	defer e.free()
	f := c.prep(e)
	if e.err != nil {
		return nil, fmt.Errorf("%s/%s: %w", c.kernel, c.shape, e.err)
	}
	var out []KernelResult
	for _, v := range vs {
		if v != "" {
			if err := vd.SetKernelVariant(c.vop, v); err != nil {
				return out, err
			}
		}
		r, err := timeCall(dev, c, f, minTime)
		if v != "" {
			vd.SetKernelVariant(c.vop, "")
		}
		if err != nil {
			return out, err
		}
		r.Variant = v
		out = append(out, r)
	}
	return out, nil
}

func timeCall(dev engine.Device, c kernelCase, f func(), minTime time.Duration) (KernelResult, error) {
	f() // warm-up (JIT, allocator, caches)
	if err := dev.Sync(); err != nil {
		return KernelResult{}, fmt.Errorf("%s/%s: %w", c.kernel, c.shape, err)
	}
	n := 0
	start := time.Now()
	for n < 3 || time.Since(start) < minTime {
		f()
		n++
		if n%16 == 0 || time.Since(start) >= minTime {
			if err := dev.Sync(); err != nil {
				return KernelResult{}, fmt.Errorf("%s/%s: %w", c.kernel, c.shape, err)
			}
		}
	}
	if err := dev.Sync(); err != nil {
		return KernelResult{}, fmt.Errorf("%s/%s: %w", c.kernel, c.shape, err)
	}
	s := time.Since(start).Seconds() / float64(n)
	r := KernelResult{Kernel: c.kernel, Shape: c.shape, Device: dev.Name(), Precision: engine.PrecisionOf(dev), Calls: n, MS: s * 1e3}
	if c.flops > 0 {
		r.GFLOPS = c.flops / s / 1e9
	}
	if c.bytes > 0 {
		r.GBS = c.bytes / s / 1e9
	}
	return r, nil
}

// GradientResult is the LCA workload: the mean loss and gradient of a model over a whole data set
// in chunks (engine.Model.Gradient), as LCA computes it at every iteration.
type GradientResult struct {
	Model     string  `json:"model"`
	Examples  int     `json:"examples"`
	Chunk     int     `json:"chunk"`
	Device    string  `json:"device"`
	Precision string  `json:"precision"`
	Graphs    bool    `json:"graphs"` // the device records and replays the chunks (CUDA graphs)
	Seconds   float64 `json:"seconds"`
	ExPerSec  float64 `json:"examples_per_s"`
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
	return GradientResult{Model: model, Examples: n, Chunk: chunk, Device: dev.Name(), Precision: engine.PrecisionOf(dev),
		Graphs: engine.CapturerOf(dev) != nil, Seconds: s, ExPerSec: float64(n) / s}, nil
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

// matches reports whether name contains one of filter's comma-separated parts (an empty filter
// matches everything).
func matches(name, filter string) bool {
	if filter == "" {
		return true
	}
	for _, f := range strings.Split(filter, ",") {
		if f != "" && strings.Contains(name, f) {
			return true
		}
	}
	return false
}
