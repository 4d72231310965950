package coordconv

import (
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
)

// benchStep times training steps (forward, loss, backward, L2, Adam with β2 0.99) of a task's
// CoordConv model on one fixed batch of 16 examples built by fill.
func benchStep(b *testing.B, task Task, lr, l2 float64, fill func(i int, c Centre, x, y []float32)) {
	dev := cpu.New()
	s, err := NewSpec(task, "coordconv", ModelOptions{})
	if err != nil {
		b.Fatal(err)
	}
	m, err := engine.NewModel(dev, string(task), s.Net, s.In, s.Loss, 16)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	m.L2 = l2
	opt, err := engine.NewOptimizer(dev, m.Arena, engine.OptConfig{Kind: "adam", LR: lr, Beta2: 0.99})
	if err != nil {
		b.Fatal(err)
	}
	x, y := make([]float32, 16*m.InSize()), make([]float32, 16*m.TargetSize())
	for i := range 16 {
		fill(i, Centre{4 + 3*i, 59 - 3*i}, x, y)
	}
	b.ResetTimer()
	for i := range b.N {
		m.ZeroGrad()
		if _, err := m.Batch(x, y, 16, engine.TrainMode, true, 1.0/16); err != nil {
			b.Fatal(err)
		}
		m.AddL2Grad()
		opt.Step(i, 0)
	}
}

// BenchmarkPainterStep times one training step of the CoordConv painter (batch 16: forward,
// softmax cross-entropy over 4,096 pixels, backward), the unit of a classification epoch (151
// steps on the quadrant split). Compare with PyTorch on the same machine
// (bench/torch/coordconv_painter.py):
//
//	go test -run '^$' -bench PainterStep ./coordconv
func BenchmarkPainterStep(b *testing.B) {
	benchStep(b, Classification, 1e-3, 1e-3, func(i int, c Centre, x, y []float32) {
		x[2*i], x[2*i+1], y[i] = float32(c.X), float32(c.Y), float32(c.Pixel())
	})
}

// BenchmarkRegressorStep times one training step of the 906-parameter CoordConv regressor
// (batch 16 one-hot 64×64 maps, MSE on the coordinates), the unit of a regression epoch.
func BenchmarkRegressorStep(b *testing.B) {
	benchStep(b, Regression, 1e-2, 1e-5, func(i int, c Centre, x, y []float32) {
		x[i*Canvas*Canvas+c.Pixel()] = 1
		y[2*i], y[2*i+1] = float32(c.X)/Canvas, float32(c.Y)/Canvas
	})
}
