package coordconv

import (
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
)

// BenchmarkPainterStep times one training step of the CoordConv painter (batch 16: forward,
// softmax cross-entropy over 4,096 pixels, backward), the unit of a classification epoch (151
// steps on the quadrant split). Compare with PyTorch on the same machine:
//
//	go test -run '^$' -bench PainterStep ./coordconv
func BenchmarkPainterStep(b *testing.B) {
	dev := cpu.New()
	s, err := NewSpec(Classification, "coordconv", ModelOptions{})
	if err != nil {
		b.Fatal(err)
	}
	m, err := engine.NewModel(dev, "painter", s.Net, s.In, s.Loss, 16)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	m.L2 = 1e-3
	opt, err := engine.NewOptimizer(dev, m.Arena, engine.OptConfig{Kind: "adam", LR: 1e-3, Beta2: 0.99})
	if err != nil {
		b.Fatal(err)
	}
	x, y := make([]float32, 32), make([]float32, 16)
	for i := range 16 {
		c := Centre{4 + 3*i, 59 - 3*i}
		x[2*i], x[2*i+1], y[i] = float32(c.X), float32(c.Y), float32(c.Pixel())
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

// BenchmarkRegressorStep times one training step of the 906-parameter CoordConv regressor
// (batch 16 one-hot 64×64 maps, MSE on the coordinates), the unit of a regression epoch.
func BenchmarkRegressorStep(b *testing.B) {
	dev := cpu.New()
	s, err := NewSpec(Regression, "coordconv", ModelOptions{})
	if err != nil {
		b.Fatal(err)
	}
	m, err := engine.NewModel(dev, "regressor", s.Net, s.In, s.Loss, 16)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(1)
	m.L2 = 1e-5
	opt, err := engine.NewOptimizer(dev, m.Arena, engine.OptConfig{Kind: "adam", LR: 1e-2, Beta2: 0.99})
	if err != nil {
		b.Fatal(err)
	}
	x, y := make([]float32, 16*Canvas*Canvas), make([]float32, 32)
	for i := range 16 {
		c := Centre{4 + 3*i, 59 - 3*i}
		x[i*Canvas*Canvas+c.Pixel()] = 1
		y[2*i], y[2*i+1] = float32(c.X)/Canvas, float32(c.Y)/Canvas
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
