//go:build cuda

package cuda

import (
	"github.com/gazeml/gaze/engine"
)

// The projection op family (engine/kernels_projection.go) on the GPU: the intrinsic-dimension
// projections.

// The kernels of kernels/projection.cu.
var (
	kProjInvNorms  = declare("projection", "proj_inv_norms")
	kProjDenseFill = declare("projection", "proj_dense_fill")
	kProjOTF       = declare("projection", "proj_otf")
	kProjOTFT      = declare("projection", "proj_otft")
	kSpMV          = declare("projection", "spmv")
	kFWHTShared    = declare("projection", "fwht_shared")
	kFWHTStage     = declare("projection", "fwht_stage")
	kGather        = declare("projection", "gather")
)

// ProjInvNorms writes the inverse column norms of the Philox projection.
func (d *Device) ProjInvNorms(seed uint64, rows int, inv engine.Buffer) {
	cols := blen(inv)
	fits32("ProjInvNorms", rows, cols)
	d.k(kProjInvNorms).i(cols).i(rows).u64(seed).p(inv)
	d.go1(min(cols, 65535), 256)
}

// ProjDenseFill stores columns col0 … col0+n−1 of the normalised projection.
func (d *Device) ProjDenseFill(seed uint64, rows, col0 int, inv, p engine.Buffer) {
	cols := blen(inv)
	fits32("ProjDenseFill", rows, cols, col0+cols)
	d.k(kProjDenseFill).i(cols).i(rows).i(col0).u64(seed).p(inv).p(p)
	d.go1(d.streamBlocks(cols*rows), 256)
}

// ProjOTF is y = beta·y + P·x with P regenerated on the fly.
func (d *Device) ProjOTF(seed uint64, rows int, inv, x, y engine.Buffer, beta float32) {
	cols := blen(inv)
	fits32("ProjOTF", rows, cols)
	d.k(kProjOTF).i(rows).i(cols).u64(seed).p(inv).p(x).p(y).f(beta)
	d.go1(ceilDiv(rows, 256), 256)
}

// ProjOTFT is out = Pᵀ·g with P regenerated on the fly.
func (d *Device) ProjOTFT(seed uint64, rows int, inv, g, out engine.Buffer) {
	cols := blen(inv)
	fits32("ProjOTFT", rows, cols)
	d.k(kProjOTFT).i(rows).i(cols).u64(seed).p(inv).p(g).p(out)
	d.go1(min(cols, 65535), 256)
}

// SpMV is y = beta·y + A·x for a CSR matrix.
func (d *Device) SpMV(rows int, ptr, idx, val, x, y engine.Buffer, beta float32) {
	fits32("SpMV", rows)
	d.k(kSpMV).i(rows).p(ptr).p(idx).p(val).p(x).p(y).f(beta)
	d.go1(d.streamBlocks(rows), 256)
}

// FWHT transforms each block of n elements: in shared memory up to 4,096, else stage by stage.
func (d *Device) FWHT(x engine.Buffer, n int) {
	l := blen(x)
	if n == 1 || l == 0 {
		return
	}
	if n <= 4096 {
		fits32("FWHT", l/n)
		d.k(kFWHTShared).i(n).p(x)
		d.go1(l/n, 256)
		return
	}
	for h := 1; h < n; h *= 2 {
		d.k(kFWHTStage).l(l / 2).i(n).i(h).p(x)
		d.go1(d.streamBlocks(l/2), 256)
	}
}

// Gather is dst[i] = src[idx[i]].
func (d *Device) Gather(src, idx, dst engine.Buffer) {
	n := blen(dst)
	d.k(kGather).l(n).p(src).p(idx).p(dst)
	d.go1(d.streamBlocks(n), 256)
}
