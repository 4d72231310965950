package engine_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
)

// Finite-difference checks of every layer and loss: the analytic gradient of the whole network
// (backward kernels, layer wiring, loss gradient) against central differences of the loss.
// Each tested layer sits behind a parametrised layer, so its input gradient is checked too
// (it becomes that layer's parameter gradient).
//
// The forward pass runs in float32 and the loss is summed in float64. With step h = 1e-3 the
// float32 rounding of the loss (~1e-7 relative) contributes ~1e-4 to a difference quotient
// and the O(h²) truncation error far less; a larger h crosses ReLU and max-pool kinks (a 1e-2
// step moves many pre-activations of a shared conv weight across zero). So
// |analytic − numeric| ≤ fdAtol + fdRtol·max(|analytic|, |numeric|) has margin, while a wrong
// backward pass is off by O(1) relative (TestGradCheckCatchesErrors: 10 % is caught).
const (
	fdStep = 1e-3
	fdAtol = 1e-3
	fdRtol = 2e-2
)

// fdMode: dropout on with a fixed step (a fixed mask), batch statistics, running statistics
// frozen so that every evaluation sees the same function.
var fdMode = engine.Mode{Dropout: true, BatchStats: true}

func gradCheck(t *testing.T, name string, net engine.Layer, in []int, loss engine.LossKind, n int, mode engine.Mode, l2 float64) {
	t.Helper()
	dev := cpu.New()
	m, err := engine.NewModel(dev, name, net, in, loss, n)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	m.L2 = l2
	m.Init(1)
	m.SetStep(3)
	r := rand.New(rand.NewPCG(11, 12))
	// Perturb every parameter so biases, γ and β are generic, not 0 or 1.
	theta := m.Theta()
	for i := range theta {
		theta[i] += float32(0.1 * r.NormFloat64())
	}
	if err := m.SetTheta(theta); err != nil {
		t.Fatal(err)
	}
	x := make([]float32, n*m.InSize())
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := make([]float32, n*m.TargetSize())
	for i := range y {
		switch loss {
		case engine.SoftmaxCrossEntropy:
			y[i] = float32(r.IntN(m.OutSize()))
		case engine.SigmoidBinaryCrossEntropy:
			y[i] = r.Float32()
		default:
			y[i] = float32(r.NormFloat64())
		}
	}
	total := func(grad bool) float64 {
		l, err := m.Batch(x, y, n, mode, grad, 1/float64(n))
		if err != nil {
			t.Fatal(err)
		}
		return l/float64(n) + m.L2Penalty()
	}
	m.ZeroGrad()
	total(true)
	m.AddL2Grad()
	grad := m.GradHost()
	checked := 0
	for _, p := range m.Arena.Params {
		for k := 0; k < min(p.Size, 10); k++ {
			i := p.Offset + r.IntN(p.Size)
			orig := theta[i]
			theta[i] = orig + fdStep
			m.SetTheta(theta)
			lp := total(false)
			theta[i] = orig - fdStep
			m.SetTheta(theta)
			lm := total(false)
			theta[i] = orig
			m.SetTheta(theta)
			num := (lp - lm) / (2 * fdStep)
			an := float64(grad[i])
			if d := math.Abs(an - num); d > fdAtol+fdRtol*math.Max(math.Abs(an), math.Abs(num)) {
				t.Errorf("%s: %s[%d]: analytic %.6g, finite difference %.6g", name, p.Name, i-p.Offset, an, num)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatalf("%s: nothing checked", name)
	}
}

func seq(layers ...engine.Layer) engine.Layer { return engine.NewSequential("net", layers...) }

func TestGradientsLayers(t *testing.T) {
	img := []int{2, 7, 6} // non-square, odd
	cases := []struct {
		name string
		net  engine.Layer
		in   []int
		loss engine.LossKind
	}{
		{"linear", seq(engine.NewFlatten("f"), engine.NewLinear("fc1", 5, true), engine.NewLinear("fc2", 4, false)), img, engine.MeanSquaredError},
		{"conv-valid", seq(engine.NewConv2d("c1", 3, 3, 1, engine.Valid, true), engine.NewConv2d("c2", 2, 2, 1, engine.Valid, false)), img, engine.MeanSquaredError},
		{"conv-pad-stride2", seq(engine.NewConv2d("c1", 3, 3, 2, engine.Pad(1), true), engine.NewConv2d("c2", 2, 3, 1, engine.Pad(1), true)), img, engine.MeanSquaredError},
		{"conv-same-5x5", seq(engine.NewConv2d("c1", 3, 5, 1, engine.Same, true), engine.NewConv2d("c2", 2, 5, 1, engine.Same, true)), img, engine.MeanSquaredError},
		{"conv-same-stride2", seq(engine.NewConv2d("c1", 3, 3, 1, engine.Same, true), engine.NewConv2d("c2", 2, 4, 2, engine.Same, true)), img, engine.MeanSquaredError},
		{"conv-1x1-stride2", seq(engine.NewConv2d("c1", 3, 3, 1, engine.Pad(1), true), engine.NewConv2d("c2", 2, 1, 2, engine.Valid, false)), img, engine.MeanSquaredError},
		{"convtranspose-k3", seq(engine.NewConv2d("c1", 3, 1, 1, engine.Valid, true), engine.NewConvTranspose2d("t1", 2, 3, 2, true)), []int{2, 3, 4}, engine.MeanSquaredError},
		{"convtranspose-k4", seq(engine.NewConv2d("c1", 3, 1, 1, engine.Valid, true), engine.NewConvTranspose2d("t1", 2, 4, 2, true)), []int{2, 3, 3}, engine.MeanSquaredError},
		{"batchnorm-train", seq(engine.NewConv2d("c1", 3, 3, 1, engine.Pad(1), true), engine.NewBatchNorm2d("bn", 0.1, 1e-5), engine.NewConv2d("c2", 2, 1, 1, engine.Valid, true)), img, engine.MeanSquaredError},
		{"batchnorm-flat", seq(engine.NewFlatten("f"), engine.NewLinear("fc1", 6, true), engine.NewBatchNorm2d("bn", 0.1, 1e-5), engine.NewLinear("fc2", 3, true)), img, engine.SoftmaxCrossEntropy},
		{"relu", seq(engine.NewConv2d("c1", 3, 3, 1, engine.Pad(1), true), engine.NewReLU("r"), engine.NewConv2d("c2", 2, 1, 1, engine.Valid, true)), img, engine.MeanSquaredError},
		{"maxpool", seq(engine.NewConv2d("c1", 3, 3, 1, engine.Pad(1), true), engine.NewMaxPool2d("p", 2, 2, 0), engine.NewConv2d("c2", 2, 1, 1, engine.Valid, true)), img, engine.MeanSquaredError},
		{"maxpool-3s2p1", seq(engine.NewConv2d("c1", 3, 3, 1, engine.Pad(1), true), engine.NewMaxPool2d("p", 3, 2, 1), engine.NewConv2d("c2", 2, 1, 1, engine.Valid, true)), img, engine.MeanSquaredError},
		{"avgpool-3s2p1", seq(engine.NewConv2d("c1", 3, 3, 1, engine.Pad(1), true), engine.NewAvgPool2d("p", 3, 2, 1), engine.NewConv2d("c2", 2, 1, 1, engine.Valid, true)), img, engine.MeanSquaredError},
		{"globalavgpool", seq(engine.NewConv2d("c1", 3, 3, 1, engine.Pad(1), true), engine.NewGlobalAvgPool("g"), engine.NewLinear("fc", 4, true)), img, engine.SoftmaxCrossEntropy},
		{"dropout", seq(engine.NewFlatten("f"), engine.NewLinear("fc1", 20, true), engine.NewDropout("d", 0.5), engine.NewLinear("fc2", 3, true)), img, engine.SoftmaxCrossEntropy},
		{"residual-identity", seq(engine.NewConv2d("c0", 3, 3, 1, engine.Pad(1), true),
			engine.NewResidual("res", seq(engine.NewConv2d("c1", 3, 3, 1, engine.Pad(1), false), engine.NewReLU("r")), nil),
			engine.NewConv2d("c2", 2, 1, 1, engine.Valid, true)), img, engine.MeanSquaredError},
		{"residual-projection", seq(engine.NewConv2d("c0", 3, 3, 1, engine.Pad(1), true),
			engine.NewResidual("res", engine.NewConv2d("c1", 4, 3, 2, engine.Pad(1), false), engine.NewConv2d("sc", 4, 1, 2, engine.Valid, false)),
			engine.NewGlobalAvgPool("g"), engine.NewLinear("fc", 3, true)), img, engine.SoftmaxCrossEntropy},
		// Sequential.Build fuses these: batch norm + ReLU, and batch norm + shortcut add + ReLU.
		{"batchnorm-relu-fused", seq(engine.NewConv2d("c1", 3, 3, 1, engine.Pad(1), true), engine.NewBatchNorm2d("bn", 0.1, 1e-5), engine.NewReLU("r"),
			engine.NewConv2d("c2", 2, 1, 1, engine.Valid, true)), img, engine.MeanSquaredError},
		// (On img, a 1e-3 step of m1's weights moves a pre-activation across a ReLU's kink,
		// with or without the fusion: the identity block runs on 3×5×4.)
		{"residual-bn-add-relu-fused", fusedBlock(nil), []int{3, 5, 4}, engine.MeanSquaredError},
		{"residual-bn-add-relu-projection-fused", fusedBlock(seq(engine.NewConv2d("sc", 3, 1, 2, engine.Valid, false), engine.NewBatchNorm2d("scbn", 0.1, 1e-5))), img, engine.MeanSquaredError},
		// The block first: nothing before it learns, so it computes no input gradient (and,
		// adding into the shortcut's gradient, keeps no buffer of its own for one).
		{"residual-bn-add-relu-fused-first", seq(fusedMain(nil), engine.NewReLU("r2"), engine.NewConv2d("c2", 2, 1, 1, engine.Valid, true)), []int{3, 5, 4}, engine.MeanSquaredError},
		{"softmax-xent-map", seq(engine.NewConv2d("c1", 1, 3, 1, engine.Pad(1), true), engine.NewFlatten("f")), []int{2, 5, 4}, engine.SoftmaxCrossEntropy},
		{"sigmoid-bce", seq(engine.NewConv2d("c1", 1, 3, 1, engine.Pad(1), true)), []int{2, 5, 4}, engine.SigmoidBinaryCrossEntropy},
		{"mse", seq(engine.NewFlatten("f"), engine.NewLinear("fc1", 3, true)), img, engine.MeanSquaredError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gradCheck(t, c.name, c.net, c.in, c.loss, 4, fdMode, 0)
		})
	}
}

// fusedBlock is a ResNet basic block (with the given shortcut; nil: identity, at stride 1)
// between two convolutions: conv, bn, relu, conv, bn, add, relu, all fused by Sequential.Build.
func fusedBlock(shortcut engine.Layer) engine.Layer {
	return seq(engine.NewConv2d("c0", 3, 3, 1, engine.Pad(1), true), fusedMain(shortcut), engine.NewReLU("r2"),
		engine.NewConv2d("c2", 2, 1, 1, engine.Valid, true))
}

// fusedMain is fusedBlock's residual block itself: conv, bn, relu, conv, bn, plus the shortcut.
func fusedMain(shortcut engine.Layer) engine.Layer {
	stride := 1
	if shortcut != nil {
		stride = 2
	}
	main := seq(engine.NewConv2d("m1", 3, 3, stride, engine.Pad(1), false), engine.NewBatchNorm2d("bn1", 0.1, 1e-5), engine.NewReLU("r1"),
		engine.NewConv2d("m2", 3, 3, 1, engine.Pad(1), false), engine.NewBatchNorm2d("bn2", 0.1, 1e-5))
	return engine.NewResidual("res", main, shortcut)
}

// Inference-mode batch norm: running statistics are constants (alone, and fused into a block).
func TestGradientsBatchNormInference(t *testing.T) {
	net := seq(engine.NewConv2d("c1", 3, 3, 1, engine.Pad(1), true), engine.NewBatchNorm2d("bn", 0.1, 1e-5), engine.NewConv2d("c2", 2, 1, 1, engine.Valid, true))
	gradCheck(t, "bn-infer", net, []int{2, 5, 5}, engine.MeanSquaredError, 3, engine.EvalMode, 0)
	gradCheck(t, "bn-infer-fused-block", fusedBlock(nil), []int{2, 5, 5}, engine.MeanSquaredError, 3, engine.EvalMode, 0)
}

// The L2 penalty's gradient, on weights only.
func TestGradientsL2(t *testing.T) {
	net := seq(engine.NewFlatten("f"), engine.NewLinear("fc1", 5, true), engine.NewLinear("fc2", 3, true))
	gradCheck(t, "l2", net, []int{1, 4, 4}, engine.SoftmaxCrossEntropy, 4, fdMode, 0.3)
}

// A gradient check must be able to fail: a deliberately wrong gradient is caught.
func TestGradCheckCatchesErrors(t *testing.T) {
	dev := cpu.New()
	net := seq(engine.NewFlatten("f"), engine.NewLinear("fc1", 3, true))
	m, err := engine.NewModel(dev, "m", net, []int{1, 2, 2}, engine.MeanSquaredError, 2)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	y := []float32{1, 0, 1, 0, 1, 0}
	m.ZeroGrad()
	if _, err := m.Batch(x, y, 2, fdMode, true, 0.5); err != nil {
		t.Fatal(err)
	}
	g := m.GradHost()
	theta := m.Theta()
	eval := func() float64 {
		m.SetTheta(theta)
		l, _ := m.Batch(x, y, 2, fdMode, false, 0)
		return l / 2
	}
	i := 5
	orig := theta[i]
	theta[i] = orig + fdStep
	lp := eval()
	theta[i] = orig - fdStep
	lm := eval()
	num := (lp - lm) / (2 * fdStep)
	if d := math.Abs(float64(g[i]) - num); d > fdAtol+fdRtol*math.Abs(num) {
		t.Fatalf("correct gradient rejected: %v vs %v", g[i], num)
	}
	wrong := 1.1 * float64(g[i])
	if d := math.Abs(wrong - num); d <= fdAtol+fdRtol*math.Abs(num) {
		t.Fatalf("a 10%% error in the gradient (%v vs %v) passes the tolerance", wrong, num)
	}
}
