package cpu_test

import (
	"testing"

	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/engine/enginetest"
)

// TestConformance runs the shared device conformance suite (engine/enginetest) on the CPU
// device: every kernel against float64 references, every backward against finite differences.
// It runs once per kernel path this CPU supports (avx512, avx2, generic), so that CI covers
// every path a user's machine may take.
func TestConformance(t *testing.T) {
	cpu.ForPaths(t, func(t *testing.T) { enginetest.Run(t, cpu.New()) })
}
