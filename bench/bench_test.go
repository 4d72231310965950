package bench

import (
	"math"
	"runtime"
	"testing"

	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/internal/sgemm/sgemmtest"
)

// BenchmarkTrainStep times one SGD training step per model on the CPU device, the workloads of
// the PyTorch anchors, on every kernel path the CPU supports (compare paths in one command:
// go test -run '^$' -bench 'TrainStep/.*/avx' -count 5 ./bench); compare with
// `python3 shared/anchors/torch_cpu.py` run on the same machine.
func BenchmarkTrainStep(b *testing.B) {
	for _, w := range Defaults {
		b.Run(w.Model, func(b *testing.B) {
			sgemmtest.BenchPaths(b, func(b *testing.B) { benchStep(b, w) })
		})
	}
}

func benchStep(b *testing.B, w Workload) {
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
}

// TestStepsBitReproducible: on every kernel path the CPU supports, a few training steps of zoo
// models end at the same θ bytes when repeated and when run on one thread instead of all: the
// GEMM splits, the stack convolutions, the element-wise and reduction kernels all give results
// that depend neither on the run nor on the thread count. (Paths differ from each other in
// rounding; each is reproducible on its own.)
func TestStepsBitReproducible(t *testing.T) {
	steps := 3
	works := []Workload{
		{"lenet-lca", 40, []int{1, 28, 28}}, // stack convolutions, dropout, pooling, Linear
		{"resnet8", 24, []int{3, 16, 16}},   // batch norm (fused with ReLUs and shortcut adds), strided convolutions
		{"mnist-fc", 250, []int{1, 28, 28}}, // GEMMs split along M (shared B) and N
	}
	if testing.Short() {
		steps, works = 2, works[:1]
	}
	theta := func(w Workload, procs int) []float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		step, m, err := Step(cpu.New(), w)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		for range steps {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
		return m.Theta()
	}
	sgemmtest.ForPaths(t, func(t *testing.T) {
		for _, w := range works {
			a, b, one := theta(w, 2), theta(w, 2), theta(w, 1)
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(b[i]) || math.Float32bits(a[i]) != math.Float32bits(one[i]) {
					t.Fatalf("%s: θ[%d] = %v, repeated %v, on one thread %v", w.Model, i, a[i], b[i], one[i])
				}
			}
		}
	})
}
