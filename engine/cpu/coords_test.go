package cpu_test

import (
	"testing"

	"github.com/gazeml/gaze/engine/cpu"
)

// The CoordConv kernels run every training step: they must not allocate.
func TestCoordsKernelsDoNotAllocate(t *testing.T) {
	d := cpu.New()
	n, c, h, w := 2, 3, 8, 5
	x := cpu.Wrap(make([]float32, n*c*h*w))
	y := cpu.Wrap(make([]float32, n*(c+3)*h*w))
	s := cpu.Wrap(make([]float32, n*c))
	for name, f := range map[string]func(){
		"AddCoords":         func() { d.AddCoords(x, y, n, c, h, w, true) },
		"AddCoordsBackward": func() { d.AddCoordsBackward(y, x, n, c, h, w, true) },
		"Tile":              func() { d.Tile(s, x, n, c, h*w) },
		"TileBackward":      func() { d.TileBackward(x, s, n, c, h*w) },
		"Softmax":           func() { d.Softmax(x, x, n*c, h*w) },
		"SoftmaxBackward":   func() { d.SoftmaxBackward(x, x, x, n*c, h*w) },
	} {
		if a := testing.AllocsPerRun(10, f); a != 0 {
			t.Errorf("%s: %v allocations per call", name, a)
		}
	}
}
