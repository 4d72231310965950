package bench

import (
	"testing"
	"time"

	"github.com/gazeml/gaze/engine/cpu"
)

// StepFlops counts what a step multiplies: for mnist-fc (784-100-50-10, batch 250) the forward
// products, the weight gradients, and the input gradients of every layer but the first (whose
// input needs no gradient).
func TestStepFlops(t *testing.T) {
	const n = 250
	got, err := StepFlops(cpu.New(), Workload{"mnist-fc", n, []int{1, 28, 28}})
	if err != nil {
		t.Fatal(err)
	}
	layers := [][2]int{{784, 100}, {100, 50}, {50, 10}}
	var want float64
	for i, l := range layers {
		mac := float64(n * l[0] * l[1])
		want += 2 * 2 * mac // forward and weight gradient
		if i > 0 {
			want += 2 * mac // input gradient
		}
	}
	if got != want {
		t.Errorf("StepFlops(mnist-fc) = %v, want %v", got, want)
	}
}

// MeasurePeak returns positive rates that hold together: all threads at least one core's rate.
func TestMeasurePeak(t *testing.T) {
	if testing.Short() {
		t.Skip("spends a fraction of a second on the FMA loop and 3×4 MiB stream passes")
	}
	p := MeasurePeak(50*time.Millisecond, 4)
	if p.Threads < 1 || p.GFLOPS <= 0 || p.CopyGBs <= 0 || p.TriadGBs <= 0 || p.GFLOPSPerCore*float64(p.Threads) != p.GFLOPS {
		t.Errorf("implausible peak %+v", p)
	}
}
