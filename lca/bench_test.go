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

// BenchmarkPoolGradient times LCA's full-set gradient as the integrator computes it: mnist-fc
// over 10,000 examples in chunks of 2,500 (per class: 10 classes of about 1,000, one chunk
// each), every chunk's gradient downloaded and added on the host in float64 in chunk order, on
// one CPU device with all threads (cpu) and on CPU instances with a share of the cores each
// (cpu:2 = two devices of one thread each on a 2-core machine).
func BenchmarkPoolGradient(b *testing.B) {
	ds, err := data.Synthetic(10000, 1, 28, 28, 10, 1)
	if err != nil {
		b.Fatal(err)
	}
	build := func(dev engine.Device) (*engine.Model, error) {
		return models.New(dev, "mnist-fc", []int{1, 28, 28}, 10, 2500)
	}
	for _, perClass := range []bool{false, true} {
		for _, spec := range []string{"cpu", "cpu:2"} {
			name := spec
			if perClass {
				name += "/per-class"
			}
			b.Run(name, func(b *testing.B) {
				insts, err := engine.ParseDevices(spec)
				if err != nil {
					b.Fatal(err)
				}
				var devs []engine.Device
				var names []string
				for _, in := range insts {
					devs = append(devs, cpu.NewThreads(in.Threads))
					names = append(names, in.String())
				}
				pool, err := NewPool(devs, names, build)
				if err != nil {
					b.Fatal(err)
				}
				defer pool.Close()
				pool.Model(0).Init(1)
				theta := pool.Model(0).Theta()
				var labels []int32
				if perClass {
					labels = ds.Labels()
				}
				chunks := planChunks(0, ds.Len(), 2500, labels, 10)
				acc := make([]float64, pool.D)
				add := func(c chunk, loss float64, g []float32) {
					for i, v := range g {
						acc[i] += float64(v)
					}
				}
				sets, setNames := []engine.Examples{ds}, []string{"train"}
				mode := engine.Mode{BatchStats: true}
				pool.eval(theta, nil, mode, chunks, sets, setNames, add)
				b.ResetTimer()
				for b.Loop() {
					if err := pool.eval(theta, nil, mode, chunks, sets, setNames, add); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(ds.Len()*b.N)/b.Elapsed().Seconds(), "examples/s")
			})
		}
	}
}

// BenchmarkHostLoops times the integrator's O(D) host work for mnist-fc (D = 84,060): adding one
// chunk's float32 gradient into a float64 accumulator (once per chunk, twice with per-class
// LCA) and one allocation pass (ḡ from g0, g1 and Simpson's sums, times the exact Δ, per-layer
// sums and helped counts; once per refinement level and per class at the end). Compare with
// BenchmarkPoolGradient's time per evaluation.
func BenchmarkHostLoops(b *testing.B) {
	m, err := models.New(cpu.New(), "mnist-fc", []int{1, 28, 28}, 10, 1)
	if err != nil {
		b.Fatal(err)
	}
	d := m.Arena.D
	g := newGroup(10000, d)
	grad := make([]float32, d)
	for i := range grad {
		grad[i] = float32(i%7) - 3
		g.g0[i], g.g1[i], g.odd[i], g.even[i] = float64(i%5), 1, 2, 3
	}
	b.Run("add_chunk", func(b *testing.B) {
		for b.Loop() {
			addTo(g, 1, grad)
		}
		b.ReportMetric(float64(d*b.N)/b.Elapsed().Seconds()/1e9, "Gparams/s")
	})
	names, start, end := m.Arena.LayerSegments()
	it := &Integrator{Layers: names, bounds: append(append([]int{}, start...), end[len(end)-1]), delta: make([]float64, d)}
	for i := range it.delta {
		it.delta[i] = float64(i%3) - 1
	}
	out, layers, helped := make([]float64, d), make([]float64, len(names)), make([]float32, len(names))
	b.Run("allocate", func(b *testing.B) {
		for b.Loop() {
			it.allocate(g, 4, out, layers, helped)
		}
		b.ReportMetric(float64(d*b.N)/b.Elapsed().Seconds()/1e9, "Gparams/s")
	})
}
