//go:build cuda

package cuda_test

import (
	"slices"
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

// TestVariantCandidates: the default first, not timed twice under its tile's name, the tiles
// near the default's height, and for gemv_n its one variant.
func TestVariantCandidates(t *testing.T) {
	d := raw(t)
	got := d.VariantCandidates("conv_fwd", 16)
	if len(got) < 3 || got[0] != "" || slices.Contains(got, "16x128") || !slices.Contains(got, "16x256") || slices.Contains(got, "128x128") {
		t.Errorf("conv_fwd, 16 channels: %q", got)
	}
	got = d.VariantCandidates("conv_bwd_filter", 64)
	if !slices.Contains(got, "64x128_bk16") || slices.Contains(got, "64x128") || slices.Contains(got, "16x64") {
		t.Errorf("conv_bwd_filter, 64 channels: %q", got)
	}
	if got := d.VariantCandidates("gemv_n", 0); !slices.Equal(got, []string{"", "vec4"}) {
		t.Errorf("gemv_n: %q", got)
	}
}
