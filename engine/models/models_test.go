package models

import (
	"testing"

	"github.com/gazeml/gaze/engine"
)

// Parameter counts stated in the issue and the papers.
func TestParameterCounts(t *testing.T) {
	mnist := []int{1, 28, 28}
	cifar := []int{3, 32, 32}
	cases := []struct {
		name string
		in   []int
		want int
	}{
		{"mnist-fc", mnist, 84060},
		{"mnist-fc-200", mnist, 199210},
		{"mlp:784-200-200-10", mnist, 199210},
		{"mlp:784-10", mnist, 7850},
		{"lenet5", mnist, 44426},
		{"lenet5", cifar, 62006},
		{"lenet-lca", mnist, 808970},
		{"resnet20", cifar, 272474},
		{"resnet-20", cifar, 272474},
		{"resnet56", cifar, 855770},
	}
	for _, c := range cases {
		net, err := Net(c.name, c.in, 10)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		b := engine.NewBuilder()
		if _, err := net.Build(b, c.in); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if b.D() != c.want {
			t.Errorf("%s on %v: D = %d, want %d", c.name, c.in, b.D(), c.want)
		}
	}
}

// The arena order is the build order, weights before biases, PyTorch shapes.
func TestArenaOrder(t *testing.T) {
	net, _ := Net("mnist-fc", []int{1, 28, 28}, 10)
	b := engine.NewBuilder()
	if _, err := net.Build(b, []int{1, 28, 28}); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name  string
		shape [2]int
		off   int
	}{
		{"fc1.weight", [2]int{100, 784}, 0}, {"fc1.bias", [2]int{100, 0}, 78400},
		{"fc2.weight", [2]int{50, 100}, 78500}, {"fc2.bias", [2]int{50, 0}, 83500},
		{"fc3.weight", [2]int{10, 50}, 83550}, {"fc3.bias", [2]int{10, 0}, 84050},
	}
	ps := b.Params()
	if len(ps) != len(want) {
		t.Fatalf("%d params, want %d", len(ps), len(want))
	}
	for i, w := range want {
		p := ps[i]
		if p.Name != w.name || p.Offset != w.off || p.Shape[0] != w.shape[0] || (w.shape[1] > 0 && p.Shape[1] != w.shape[1]) {
			t.Errorf("param %d = %s %v @%d, want %s %v @%d", i, p.Name, p.Shape, p.Offset, w.name, w.shape, w.off)
		}
	}
}

func TestBadModelNames(t *testing.T) {
	for _, name := range []string{"resnet21", "resnet-2", "mlp:784-x-10", "mlp:100-10", "mlp:784-0-10", "vgg16", "mlp:784"} {
		if _, err := Net(name, []int{1, 28, 28}, 10); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	net, err := Net("lenet5", []int{1, 4, 4}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.Build(engine.NewBuilder(), []int{1, 4, 4}); err == nil {
		t.Error("lenet5 on 4×4 input: no error for an impossible shape")
	} else {
		t.Log(err)
	}
}
