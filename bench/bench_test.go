package bench

import (
	"testing"

	"github.com/gazeml/gaze/engine/cpu"
)

// BenchmarkTrainStep times one SGD training step per model on the CPU device, the workloads of
// the PyTorch anchors; compare with `python3 shared/anchors/torch_cpu.py` run on the same machine.
func BenchmarkTrainStep(b *testing.B) {
	for _, w := range Defaults {
		b.Run(w.Model, func(b *testing.B) {
			step, m, err := Step(cpu.New(), w)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			for range 2 {
				step()
			}
			b.ResetTimer()
			for b.Loop() {
				if err := step(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(w.Batch*b.N)/b.Elapsed().Seconds(), "examples/s")
		})
	}
}
