package lca

import (
	"fmt"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/engine/models"
)

// BenchmarkGradient times the full-set gradient of LCA's MNIST recipe: mnist-fc over 10,000
// examples in chunks (two of these per iteration with Simpson n = 2).
func BenchmarkGradient(b *testing.B) {
	ds, err := data.Synthetic(10000, 1, 28, 28, 10, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, chunk := range []int{250, 1000, 2500, 10000} {
		b.Run(fmt.Sprintf("mnist-fc/chunk%d", chunk), func(b *testing.B) {
			m, err := models.New(cpu.New(), "mnist-fc", []int{1, 28, 28}, 10, chunk)
			if err != nil {
				b.Fatal(err)
			}
			m.Init(1)
			mode := engine.Mode{BatchStats: true}
			m.Gradient(ds, chunk, mode)
			b.ResetTimer()
			for b.Loop() {
				if _, err := m.Gradient(ds, chunk, mode); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(ds.Len()*b.N)/b.Elapsed().Seconds(), "examples/s")
		})
	}
}
