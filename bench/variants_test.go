package bench

import (
	"slices"
	"testing"
	"time"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
)

// variantCPU is the CPU device with two pretend variants of conv_fwd, recording which variant
// was set when each convolution ran.
type variantCPU struct {
	engine.Device
	set  string
	seen []string
}

func (d *variantCPU) VariantCandidates(op string, m int) []string {
	if op != "conv_fwd" || m != 32 {
		return []string{""}
	}
	return []string{"", "a", "b"}
}

func (d *variantCPU) SetKernelVariant(op, name string) error { d.set = name; return nil }

func (d *variantCPU) ConvForward(g engine.ConvGeom, x, w, y engine.Buffer) {
	d.seen = append(d.seen, d.set)
	d.Device.ConvForward(g, x, w, y)
}

// TestKernelsWithVariants: one result per variant the device offers for the case's op and size,
// each timed with its variant set, the default restored afterwards.
func TestKernelsWithVariants(t *testing.T) {
	d := &variantCPU{Device: cpu.New()}
	rs, err := KernelsWithVariants(d, "conv_fwd/n128_c16_32x32_k32_1x1_s2", time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var vs []string
	for _, r := range rs {
		vs = append(vs, r.Variant)
		if r.MS <= 0 || r.GFLOPS <= 0 {
			t.Errorf("%+v", r)
		}
	}
	if !slices.Equal(vs, []string{"", "a", "b"}) || d.set != "" {
		t.Fatalf("variants timed %q, left set %q", vs, d.set)
	}
	for _, v := range []string{"", "a", "b"} {
		if !slices.Contains(d.seen, v) {
			t.Errorf("no convolution ran with variant %q set", v)
		}
	}
	plain, err := Kernels(d, "conv_fwd/n128_c16_32x32_k32_1x1_s2", time.Millisecond)
	if err != nil || len(plain) != 1 || plain[0].Variant != "" {
		t.Fatalf("Kernels: %+v, %v", plain, err)
	}
}

// TestNewKernelCases: the element-wise product and AddCoords workloads run and report bandwidth.
func TestNewKernelCases(t *testing.T) {
	for _, f := range []string{"mul/D272474", "addcoords/n128_c3_32x32"} {
		rs, err := Kernels(cpu.New(), f, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].GBS <= 0 || rs[0].Precision != "fp32" {
			t.Errorf("%s: %+v", f, rs)
		}
	}
}

// TestRunTrainerStep: Run times the trainer's step over a fixed batch.
func TestRunTrainerStep(t *testing.T) {
	r, err := Run(cpu.New(), Workload{"mnist-fc", 16, []int{1, 28, 28}}, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.Steps < 10 || r.StepMS <= 0 || r.Graphs || r.Params != 84060 {
		t.Fatalf("%+v", r)
	}
}
