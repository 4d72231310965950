//go:build cuda

package cuda_test

import (
	"testing"

	"github.com/gazeml/gaze/engine/enginetest"
)

// TestVariants runs the conformance groups of each op with each of its kernel variants forced:
// a variant becomes a default only after it has passed here and been timed on a GPU.
func TestVariants(t *testing.T) {
	d := raw(t)
	groups := map[string]string{"conv_fwd": "ConvForward", "conv_bwd_data": "ConvBackwardData",
		"conv_bwd_filter": "ConvBackwardFilter", "gemv_n": "Gemv"}
	for _, op := range []string{"conv_fwd", "conv_bwd_data", "conv_bwd_filter", "gemv_n"} {
		vs := d.KernelVariants(op)
		if len(vs) < 2 {
			t.Fatalf("op %s has no variants", op)
		}
		for _, v := range vs[1:] {
			t.Run(op+"_"+v, func(t *testing.T) {
				if err := d.SetKernelVariant(op, v); err != nil {
					t.Fatal(err)
				}
				defer d.SetKernelVariant(op, "")
				enginetest.RunGroups(t, dev, groups[op])
			})
		}
	}
	if err := d.SetKernelVariant("conv_fwd", "7x7"); err == nil {
		t.Error("an unknown variant was accepted")
	}
}
