//go:build cuda && cudaemu

package cuda_test

import (
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cuda"
	"github.com/gazeml/gaze/engine/enginetest"
)

// TestComputeCapability70 opens an emulated compute 7.0 GPU (GAZE_EMU_CC): the compute 7.0 PTX
// set is selected, TF32 is refused with the reason, and the conformance suite's GEMM and
// convolution groups pass (on the emulator the kernels are the same C++ either way; on a GPU,
// scripts/gpu-check.sh runs the whole suite with GAZE_PTX_DIR=kernels/sm70).
func TestComputeCapability70(t *testing.T) {
	t.Setenv("GAZE_EMU_CC", "7.0")
	d, err := cuda.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !strings.Contains(d.Describe(), "compute 7.0") || !strings.Contains(d.Describe(), "PTX sm70") {
		t.Errorf("Describe: %s, want compute 7.0 and PTX sm70", d.Describe())
	}
	err = d.SetPrecision(engine.PrecisionTF32)
	if err == nil || !strings.Contains(err.Error(), "compute capability 7.0") {
		t.Errorf("SetPrecision(tf32) on compute 7.0: %v, want a refusal naming the compute capability", err)
	}
	enginetest.RunGroups(t, engine.Checked(d), "Gemm", "ConvForward")
}
