//go:build cuda

package cuda_test

// These tests need an NVIDIA GPU (compute capability ≥ 8.0). They build anywhere with
//
//	go test -c -tags cuda -o cuda.test ./engine/cuda
//
// and scripts/gpu-check.sh runs the binary on a GPU machine.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/engine/cuda"
	"github.com/gazeml/gaze/engine/enginetest"
	"github.com/gazeml/gaze/engine/models"
)

// dev is the device as engine.Open("cuda") returns it: the CUDA device behind engine's argument
// checks. Every test below uses it, so the checking layer is part of what they test (and of what
// the launch benchmarks time).
var dev engine.Device

func TestMain(m *testing.M) {
	d, err := cuda.Open(0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "cuda device: %s\n", d.Describe())
	dev = engine.Checked(d)
	code := m.Run()
	d.Close()
	os.Exit(code)
}

// TestConformance runs the shared conformance suite (every kernel against float64 references,
// every backward kernel against finite differences, guard cells around every buffer, and every
// bad-input case against the checking layer).
func TestConformance(t *testing.T) { enginetest.Run(t, dev) }

// BenchmarkKernels times the main kernels at training sizes (GFLOP/s, GB/s).
func BenchmarkKernels(b *testing.B) { enginetest.Bench(b, dev) }

// trainCase is one zoo model trained for a few SGD steps on random data on both devices.
type trainCase struct {
	model string
	in    []int
	batch int
	lr    float64
}

var trainCases = []trainCase{
	{"mnist-fc", []int{1, 28, 28}, 64, 0.02},
	{"mnist-fc-200", []int{1, 28, 28}, 64, 0.02},
	{"lenet5", []int{1, 28, 28}, 32, 0.01},
	{"lenet5", []int{3, 32, 32}, 32, 0.01},
	{"lenet-lca", []int{1, 28, 28}, 32, 0.01},
	{"resnet20", []int{3, 32, 32}, 32, 0.02},
}

// Cross-device tolerances. Both devices run the same float32 algorithm up to summation order
// (the GPU sums in tiles, splits and trees, the CPU in blocks), which makes per-step differences
// of a few float32 ulps. A wrong kernel shows up as O(1) relative error at once.
//
// Training then amplifies those ulps, and for ResNet-20 (batch norm over 32 random images,
// momentum 0.9) enough to reach 0.27 % of θ in 8 steps. So each case also trains on the CPU from
// θ₀ moved by one ulp (run with nudge): the divergence that ulp-sized differences grow into is the
// noise floor, and the GPU may differ from the CPU by chaosMargin times that floor where it exceeds
// the fixed tolerances below. Step 0's loss (a forward pass, nothing amplified yet) keeps the fixed
// bound alone.
const (
	lossRtol    = 2e-3 // |loss_cuda − loss_cpu| ≤ lossRtol·max(1, |loss_cpu|) at every step
	thetaRtol   = 2e-3 // ‖θ_cuda − θ_cpu‖ ≤ thetaRtol·‖θ_cpu‖ after the last step
	gradRtol    = 1e-3 // ‖g_cuda − g_cpu‖ ≤ gradRtol·‖g_cpu‖ for the full-set gradient
	chaosMargin = 4
	steps       = 8
)

// run trains c on d for steps steps from the same initialisation and data and returns the loss
// curve and the final parameters. With nudge, every initial parameter is first moved by one
// float32 ulp up or down (seeded): the size of difference that summation order alone makes.
func run(t *testing.T, d engine.Device, c trainCase, nudge bool) ([]float64, []float32) {
	m, err := models.New(d, c.model, c.in, 10, c.batch)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Init(1)
	if nudge {
		th := m.Theta()
		r := rand.New(rand.NewPCG(11, 12))
		for i, v := range th {
			if r.IntN(2) == 0 {
				th[i] = math.Nextafter32(v, float32(math.Inf(1)))
			} else {
				th[i] = math.Nextafter32(v, float32(math.Inf(-1)))
			}
		}
		if err := m.SetTheta(th); err != nil {
			t.Fatal(err)
		}
	}
	opt, err := engine.NewOptimizer(d, m.Arena, engine.OptConfig{Kind: "sgd", LR: c.lr, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	x := make([]float32, c.batch*m.InSize())
	y := make([]float32, c.batch)
	var losses []float64
	for it := range steps {
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		for i := range y {
			y[i] = float32(r.IntN(10))
		}
		m.SetStep(it)
		m.ZeroGrad()
		l, err := m.Batch(x, y, c.batch, engine.TrainMode, true, 1/float64(c.batch))
		if err != nil {
			t.Fatalf("%s step %d: %v", d.Name(), it, err)
		}
		opt.Step(it, 0)
		if err := d.Sync(); err != nil {
			t.Fatalf("%s step %d: %v", d.Name(), it, err)
		}
		losses = append(losses, l)
	}
	return losses, m.Theta()
}

func relDiff(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		e := float64(a[i]) - float64(b[i])
		num += e * e
		den += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(num / max(den, 1e-30))
}

// TestTrainingMatchesCPU trains every zoo model for a few steps on both devices and compares
// the loss curves and the final parameters.
func TestTrainingMatchesCPU(t *testing.T) {
	for _, c := range trainCases {
		name := fmt.Sprintf("%s_%dx%dx%d_b%d", c.model, c.in[0], c.in[1], c.in[2], c.batch)
		t.Run(name, func(t *testing.T) {
			lc, tc := run(t, cpu.New(), c, false)
			ln, tn := run(t, cpu.New(), c, true)
			lg, tg := run(t, dev, c, false)
			for i := range lc {
				tol := lossRtol * max(1, math.Abs(lc[i]))
				if i > 0 {
					tol = max(tol, chaosMargin*math.Abs(ln[i]-lc[i]))
				}
				if d := math.Abs(lg[i] - lc[i]); !(d <= tol) {
					t.Errorf("step %d: loss cuda %.7g, cpu %.7g (|Δ| %.3g > %.3g; cpu from θ₀ ± 1 ulp: %.7g)", i, lg[i], lc[i], d, tol, ln[i])
				}
			}
			floor := relDiff(tn, tc)
			if rd := relDiff(tg, tc); !(rd <= max(thetaRtol, chaosMargin*floor)) {
				t.Errorf("θ after %d steps: relative difference %.3g > max(%.3g, %d × %.3g, the cpu's own from θ₀ ± 1 ulp)", steps, rd, thetaRtol, chaosMargin, floor)
			}
			t.Logf("θ after %d steps: cuda vs cpu %.3g, cpu vs cpu from θ₀ ± 1 ulp %.3g", steps, relDiff(tg, tc), floor)
			t.Logf("loss cpu %v", lc)
			t.Logf("loss cpu from θ₀ ± 1 ulp %v", ln)
			t.Logf("loss gpu %v", lg)
		})
	}
}

// TestGradientMatchesCPU compares the LCA workload, the mean loss and gradient over a data set
// in chunks (batch norm in inference mode after a few training steps would need running
// statistics; training mode uses each chunk's statistics on both devices alike).
func TestGradientMatchesCPU(t *testing.T) {
	for _, c := range []trainCase{{"lenet-lca", []int{1, 28, 28}, 250, 0}, {"resnet20", []int{3, 32, 32}, 250, 0}} {
		t.Run(c.model, func(t *testing.T) {
			ds := randomData(1000, c.in)
			grad := func(d engine.Device) (float64, []float32) {
				m, err := models.New(d, c.model, c.in, 10, c.batch)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				m.Init(3)
				l, err := m.Gradient(ds, c.batch, engine.TrainMode)
				if err != nil {
					t.Fatal(err)
				}
				return l, m.GradHost()
			}
			lc, gc := grad(cpu.New())
			lg, gg := grad(dev)
			if d := math.Abs(lg - lc); !(d <= 1e-4*max(1, math.Abs(lc))) {
				t.Errorf("mean loss cuda %.8g, cpu %.8g", lg, lc)
			}
			if rd := relDiff(gg, gc); !(rd <= gradRtol) {
				t.Errorf("gradient relative difference %.3g > %.3g", rd, gradRtol)
			}
		})
	}
}

type data struct {
	x, y []float32
	in   int
}

func randomData(n int, shape []int) *data {
	in := shape[0] * shape[1] * shape[2]
	r := rand.New(rand.NewPCG(5, 6))
	d := &data{x: make([]float32, n*in), y: make([]float32, n), in: in}
	for i := range d.x {
		d.x[i] = float32(r.NormFloat64())
	}
	for i := range d.y {
		d.y[i] = float32(r.IntN(10))
	}
	return d
}

func (d *data) Len() int         { return len(d.y) }
func (d *data) ExampleSize() int { return d.in }
func (d *data) TargetSize() int  { return 1 }
func (d *data) Gather(idx []int, x, y []float32) error {
	for i, j := range idx {
		copy(x[i*d.in:(i+1)*d.in], d.x[j*d.in:(j+1)*d.in])
		y[i] = d.y[j]
	}
	return nil
}

// TestBadInput: errors are reported, not hidden: an invalid label through Sync, an impossible
// allocation with the bytes asked and free, a CPU buffer handed to a CUDA kernel as a panic
// naming the kernel.
func TestBadInput(t *testing.T) {
	logits, _ := dev.Alloc(4 * 10)
	labels, _ := dev.Alloc(4)
	losses, _ := dev.Alloc(4)
	defer dev.Free(logits)
	defer dev.Free(labels)
	defer dev.Free(losses)
	dev.Upload(labels, []float32{1, 2, 12, 3})
	dev.SoftmaxXent(logits, labels, losses, nil, 4, 10, 1)
	if err := dev.Sync(); err == nil {
		t.Error("SoftmaxXent with label 12 of 10 classes: Sync returned no error")
	} else {
		t.Logf("bad label: %v", err)
	}
	if err := dev.Sync(); err != nil {
		t.Errorf("the error was not cleared by Sync: %v", err)
	}
	if _, err := dev.Alloc(1 << 40); err == nil {
		t.Error("Alloc of 4 TiB succeeded")
	} else {
		t.Logf("out of memory: %v", err)
	}
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Error("Relu on a CPU buffer did not panic")
			}
		}()
		dev.Relu(cpu.Wrap(make([]float32, 4)), cpu.Wrap(make([]float32, 4)))
	}()
	// The device still works.
	x, _ := dev.Alloc(3)
	dev.Upload(x, []float32{1, 2, 3})
	if s := dev.Sum(x); s != 6 {
		t.Errorf("Sum after errors = %v, want 6", s)
	}
	if err := dev.Sync(); err != nil {
		t.Error(err)
	}
}

// TestLaunchAllocs checks that steady-state launches allocate no Go memory.
func TestLaunchAllocs(t *testing.T) {
	x, _ := dev.Alloc(1 << 16)
	y, _ := dev.Alloc(1 << 16)
	defer dev.Free(x)
	defer dev.Free(y)
	allocs := testing.AllocsPerRun(100, func() {
		dev.Relu(x, y)
		dev.Axpy(0.5, x, y)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per two launches, want 0", allocs)
	}
	if err := dev.Sync(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkLaunch measures the host cost of one kernel launch (a 256-element Relu, queued through
// the worker thread), and with Sync the round trip of launch and completion.
func BenchmarkLaunch(b *testing.B) {
	x, _ := dev.Alloc(256)
	defer dev.Free(x)
	b.Run("queue", func(b *testing.B) {
		for range b.N {
			dev.Relu(x, x)
		}
		if err := dev.Sync(); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("sync", func(b *testing.B) {
		for range b.N {
			dev.Relu(x, x)
			if err := dev.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
