//go:build cuda

package cuda

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Kernel variants: other kernels for the same op than the default heuristics pick, so that one
// binary can time them against the defaults on a GPU (gaze bench --kernels --variants) before a
// default changes. SetKernelVariant forces one for every later call of the op until it is reset
// with ""; the variants are float32 kernels (a forced variant also applies in TF32 mode) and are
// in the conformance suite through TestVariants.
//
// The ops and their variants:
//   - conv_fwd, conv_bwd_data: a tile BMxBN (every default tile, and 16x256, 32x256 for 16 and
//     32 channels);
//   - conv_bwd_filter: every default tile, 16x64 and 32x64 (the 144 and 288 columns of 3×3 over
//     16 and 32 channels), and _bk16 forms (a K step of 16);
//   - gemv_n: vec4 (16-byte loads of the matrix).

// variantOps are the ops that have variants.
var variantOps = []string{"conv_fwd", "conv_bwd_data", "conv_bwd_filter", "gemv_n"}

// KernelVariants lists the variants of op, the default ("") first.
func (d *Device) KernelVariants(op string) []string {
	out := []string{""}
	var extra []string
	switch op {
	case "conv_fwd":
		extra = keys(convFwdVariantKernels)
	case "conv_bwd_data":
		extra = keys(convBwdDataVariantKernels)
	case "conv_bwd_filter":
		extra = keys(convBwdFilterVariantKernels)
	case "gemv_n":
		return append(out, "vec4")
	default:
		return nil
	}
	for _, t := range tiles {
		out = append(out, t.name)
	}
	return append(out, extra...)
}

// VariantCandidates are the variants of a convolution op worth timing for m output rows of its
// implicit GEMM (output channels; input channels for conv_bwd_data), after the default (""):
// the other tiles no more than twice as high as the default one's and no less than half, and
// the 64×64 tile. For gemv_n, all.
func (d *Device) VariantCandidates(op string, m int) []string {
	all := d.KernelVariants(op)
	if op == "gemv_n" || all == nil {
		return all
	}
	def := convTile(m)
	out := []string{""}
	for _, v := range all[1:] {
		if v == def.name {
			continue // the default itself
		}
		t, err := parseTile(v)
		if err != nil {
			continue
		}
		if (t.bm >= def.bm/2 && t.bm <= 2*def.bm) || (t.bm == 64 && t.bn == 64) {
			out = append(out, v)
		}
	}
	return out
}

// SetKernelVariant forces variant name of op ("" restores the default heuristics).
func (d *Device) SetKernelVariant(op, name string) error {
	vs := d.KernelVariants(op)
	if vs == nil {
		return fmt.Errorf("cuda: no kernel variants for op %q (ops: %s)", op, strings.Join(variantOps, ", "))
	}
	if !slices.Contains(vs, name) {
		return fmt.Errorf("cuda: op %s has no variant %q (variants: %s)", op, name, strings.Join(vs[1:], ", "))
	}
	if name == "" {
		delete(d.variants, op)
	} else {
		d.variants[op] = name
	}
	return nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// parseTile reads the tile of a variant name: "BMxBN", optionally followed by "_...".
func parseTile(name string) (tile, error) {
	base, _, _ := strings.Cut(name, "_")
	for _, t := range tiles {
		if t.name == base {
			return t, nil
		}
	}
	a, b, ok := strings.Cut(base, "x")
	bm, err1 := strconv.Atoi(a)
	bn, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return tile{}, fmt.Errorf("cuda: variant %q has no BMxBN tile", name)
	}
	return tile{name: base, bm: bm, bn: bn, idx: -1}, nil
}

// convFwdKernel picks the forward kernel and its tile for m output channels: a forced variant,
// else the default tile at the device's precision.
func (d *Device) convFwdKernel(m int, oneByOne bool) (kernelID, tile) {
	if v := d.variants["conv_fwd"]; v != "" {
		t, _ := parseTile(v)
		if t.idx < 0 {
			return convFwdVariantKernels[v][b2i(oneByOne)], t
		}
		if oneByOne {
			return convFwd1x1Kernels[t.idx], t
		}
		return convFwdKernels[t.idx], t
	}
	t := convTile(m)
	switch {
	case d.tf32 && oneByOne:
		return convFwd1x1TF32Kernels[t.idx], t
	case d.tf32:
		return convFwdTF32Kernels[t.idx], t
	case oneByOne:
		return convFwd1x1Kernels[t.idx], t
	}
	return convFwdKernels[t.idx], t
}

// convBwdDataKernel picks the backward-data kernel for m input channels.
func (d *Device) convBwdDataKernel(m int) (kernelID, tile) {
	if v := d.variants["conv_bwd_data"]; v != "" {
		t, _ := parseTile(v)
		if t.idx < 0 {
			return convBwdDataVariantKernels[v], t
		}
		return convBwdDataKernels[t.idx], t
	}
	t := convTile(m)
	if d.tf32 {
		return convBwdDataTF32Kernels[t.idx], t
	}
	return convBwdDataKernels[t.idx], t
}

// convBwdFilterKernel picks the backward-filter kernel for m output channels.
func (d *Device) convBwdFilterKernel(m int) (kernelID, tile) {
	if v := d.variants["conv_bwd_filter"]; v != "" {
		t, _ := parseTile(v)
		if id, ok := convBwdFilterVariantKernels[v]; ok {
			return id, t
		}
		return convBwdFilterKernels[t.idx], t
	}
	t := convTile(m)
	if d.tf32 {
		return convBwdFilterTF32Kernels[t.idx], t
	}
	return convBwdFilterKernels[t.idx], t
}
