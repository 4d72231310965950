//go:build cuda

package cuda

import (
	"testing"

	"github.com/gazeml/gaze/kernels"
)

// TestModulesDeclared checks the kernel declarations against the embedded PTX in both
// directions: every declared kernel is an entry point of the module it names (Open checks this
// too, but only on a machine that can open the device), and every entry point of every module is
// declared by some launcher, so no kernel is dead or named in two places. It also checks that the
// tile-indexed tables hold the kernel of their tile.
func TestModulesDeclared(t *testing.T) {
	t.Setenv(kernels.PTXDirEnv, "")
	mods, err := kernels.Modules(kernels.SM80) // the sm70 set has the same entry points (kernels.TestSetsAlike)
	if err != nil {
		t.Fatal(err)
	}
	module := map[string]string{} // entry point -> module
	for _, m := range mods {
		for _, e := range m.Entries {
			if other, ok := module[e]; ok {
				t.Errorf("kernel %s is defined in kernels/%s.cu and kernels/%s.cu", e, other, m.Name)
			}
			module[e] = m.Name
		}
	}
	seen := map[string]bool{}
	for _, k := range declared {
		if seen[k.name] {
			t.Errorf("kernel %s is declared twice", k.name)
		}
		seen[k.name] = true
		if m, ok := module[k.name]; !ok {
			t.Errorf("kernel %s is declared in module %s but defined in no PTX module", k.name, k.module)
		} else if m != k.module {
			t.Errorf("kernel %s is declared in module %s but defined in kernels/%s.cu", k.name, k.module, m)
		}
	}
	for e, m := range module {
		if !seen[e] {
			t.Errorf("kernels/%s.cu defines %s, which no launcher declares", m, e)
		}
	}
	for _, tl := range tiles {
		for i, tr := range []string{"nn", "nt", "tn", "tt"} {
			if got, want := declared[gemmKernels[i][tl.idx]].name, "gemm_"+tr+"_"+tl.name; got != want {
				t.Errorf("gemmKernels[%d][%d] is %s, want %s", i, tl.idx, got, want)
			}
			if got, want := declared[gemmTF32Kernels[i][tl.idx]].name, "gemm_"+tr+"_tf32_"+tl.name; got != want {
				t.Errorf("gemmTF32Kernels[%d][%d] is %s, want %s", i, tl.idx, got, want)
			}
		}
		for _, c := range []struct {
			table  [5]kernelID
			prefix string
		}{{convFwdKernels, "conv_fwd_"}, {convFwd1x1Kernels, "conv_fwd_1x1_"}, {convBwdDataKernels, "conv_bwd_data_"}, {convBwdFilterKernels, "conv_bwd_filter_"},
			{convFwdTF32Kernels, "conv_fwd_tf32_"}, {convFwd1x1TF32Kernels, "conv_fwd_1x1_tf32_"}, {convBwdDataTF32Kernels, "conv_bwd_data_tf32_"}, {convBwdFilterTF32Kernels, "conv_bwd_filter_tf32_"}} {
			if got, want := declared[c.table[tl.idx]].name, c.prefix+tl.name; got != want {
				t.Errorf("tile %s: kernel %s, want %s", tl.name, got, want)
			}
		}
	}
}
