package cpu_test

import (
	"testing"

	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/engine/enginetest"
)

// TestConformance runs the shared device conformance suite (engine/enginetest) on the CPU
// device: every kernel against float64 references, every backward against finite differences.
func TestConformance(t *testing.T) { enginetest.Run(t, cpu.New()) }

// BenchmarkKernels times the main kernels at training sizes (GFLOP/s, GB/s):
//
//	go test -run '^$' -bench Kernels ./engine/cpu
func BenchmarkKernels(b *testing.B) { enginetest.Bench(b, cpu.New()) }
