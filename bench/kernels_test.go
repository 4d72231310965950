package bench

import (
	"testing"
	"time"

	"github.com/gazeml/gaze/engine/cpu"
)

// The kernel and LCA-gradient workloads run and report sane figures (on the CPU device; the same
// code times the CUDA device in scripts/gpu-check.sh).
func TestKernelWorkloads(t *testing.T) {
	rs, err := Kernels(cpu.New(), "sgd_step", time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].MS <= 0 || rs[0].GBS <= 0 || rs[0].Device != "cpu" {
		t.Fatalf("sgd_step: %+v", rs)
	}
	rs, err = Kernels(cpu.New(), "conv_fwd/n128_c64_8x8", time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].GFLOPS <= 0 {
		t.Fatalf("conv_fwd: %+v", rs)
	}
	g, err := Gradient(cpu.New(), "mnist-fc", []int{1, 28, 28}, 600, 250)
	if err != nil {
		t.Fatal(err)
	}
	if g.Examples != 600 || g.Seconds <= 0 {
		t.Fatalf("gradient: %+v", g)
	}
}
