package coordconv

import (
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
)

// The parameter counts of the paper's models (weights, biases and batch-norm γ, β).
func TestParameterCounts(t *testing.T) {
	dev := cpu.New()
	for _, c := range []struct {
		task   Task
		model  string
		interm float64
		want   int
	}{
		{Classification, "coordconv", 0, 7553},
		{Classification, "conv", 0, 103585},
		{Regression, "coordconv", 0, 906},
		{Regression, "conv", 0, 72850},
		{Rendering, "coordconv", 0, 7553 + 80 + 584 + 1168 + 2320 + 145}, // the painter, then 3×3 convs 8, 8, 16, 16, 1
		{Rendering, "coordconv", 1, 11850},                               // the intermediate loss adds none
		{Rendering, "conv", 0, 103585},
		{Rendering, "coordconv", -1, 7553 + 16 + 72 + 144 + 272 + 17}, // --render-fs 1: 1×1 convs 8, 8, 16, 16, 1
	} {
		o := ModelOptions{Interm: c.interm}
		if c.interm < 0 {
			o = ModelOptions{RenderFS: 1}
		}
		s, err := NewSpec(c.task, c.model, o)
		if err != nil {
			t.Fatal(err)
		}
		m, err := engine.NewModel(dev, c.model, s.Net, s.In, s.Loss, 1)
		if err != nil {
			t.Fatal(err)
		}
		if m.Arena.D != c.want {
			t.Errorf("%s %s: %d parameters, want %d", c.task, c.model, m.Arena.D, c.want)
		}
	}
}

// ResNet-20 with CoordConv: each swapped convolution with K outputs and k×k kernels gains the
// weights of two input channels, 2·K·k·k.
func TestResNetCoordConv(t *testing.T) {
	dev := cpu.New()
	// Plain 272,474; first: +2·16·9; all: the stem and 6 blocks' convs of 16 (+288 each), 6 of
	// 32 (+576) with a 1×1 projection (+64), 6 of 64 (+1152) with a projection (+128).
	for mode, want := range map[string]int{"none": 272474, "first": 272474 + 288, "all": 272474 + 288 + 6*288 + 6*576 + 64 + 6*1152 + 128} {
		net, err := ResNet(3, 10, mode)
		if err != nil {
			t.Fatal(err)
		}
		m, err := engine.NewModel(dev, "resnet20-"+mode, net, []int{3, 32, 32}, engine.SoftmaxCrossEntropy, 2)
		if err != nil {
			t.Fatal(err)
		}
		if m.Arena.D != want {
			t.Errorf("resnet20 --coordconv %s: %d parameters, want %d", mode, m.Arena.D, want)
		}
		if i, ok := m.Arena.Find("conv1.weight"); !ok || m.Arena.Params[i].Shape[1] != map[bool]int{true: 3, false: 5}[mode == "none"] {
			t.Errorf("resnet20 --coordconv %s: conv1.weight missing or with the wrong input channels", mode)
		}
		m.Init(1)
		x := make([]float32, 2*3*32*32)
		if _, err := m.Batch(x, []float32{1, 2}, 2, engine.TrainMode, true, 0.5); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ResNet(3, 10, "some"); err == nil {
		t.Error("unknown mode accepted")
	}
}
