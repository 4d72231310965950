//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/gazeml/gaze/engine"
)

// The lca op family (engine/kernels_lca.go) on the GPU: loss change allocation (GradDelta).

// The kernels of kernels/lca.cu.
var (
	kGradDeltaPlain = declare("lca", "grad_delta_plain")
	kGradDeltaSeg   = declare("lca", "grad_delta_seg")
	kGradDeltaSums  = declare("lca", "grad_delta_sums")
)

// gdChunk is the number of elements one block of grad_delta_seg multiplies and sums.
const gdChunk = 8192

// GradDelta writes out = g ⊙ delta and the float64 sum of each segment; a sync point.
func (d *Device) GradDelta(g, delta, out engine.Buffer, bounds []int, sums []float64) {
	n := blen(out)
	gb, db, ob := d.buf("GradDelta", g), d.buf("GradDelta", delta), d.buf("GradDelta", out)
	plain := func(lo, hi int) {
		if hi > lo {
			d.k(kGradDeltaPlain).l(hi - lo).raw(gb.ptr + uintptr(lo)*4).raw(db.ptr + uintptr(lo)*4).raw(ob.ptr + uintptr(lo)*4)
			d.go1(d.streamBlocks(hi-lo), 256)
		}
	}
	if len(bounds) == 0 {
		plain(0, n)
		return
	}
	plain(0, bounds[0])
	plain(bounds[len(bounds)-1], n)
	nseg := len(sums)
	if nseg == 0 {
		return
	}
	if nseg > 65535 { // the grid's y dimension
		panic(fmt.Sprintf("cuda: GradDelta: %d segments, at most 65535", nseg))
	}
	longest := 0
	d.bounds = d.bounds[:0]
	for s, b := range bounds {
		d.bounds = append(d.bounds, int64(b))
		if s > 0 {
			longest = max(longest, b-bounds[s-1])
		}
	}
	nchunks := max(ceilDiv(longest, gdChunk), 1)
	boundsBytes := int64(len(bounds)) * 8
	partBytes := int64(nseg*nchunks) * 8
	base := d.need(&d.part, boundsBytes+partBytes+int64(nseg)*8)
	if base == 0 {
		for i := range sums {
			sums[i] = math.NaN()
		}
		return
	}
	partPtr := base + uintptr(boundsBytes)
	sumsPtr := partPtr + uintptr(partBytes)
	d.call(op{kind: opHtoD, dst: base, host: unsafe.Pointer(&d.bounds[0]), bytes: boundsBytes})
	d.k(kGradDeltaSeg).i(nchunks).i(gdChunk).raw(base).p(g).p(delta).p(out).raw(partPtr)
	d.go3(nchunks, nseg, 1, 256)
	d.k(kGradDeltaSums).i(nchunks).raw(partPtr).raw(sumsPtr)
	d.go1(nseg, rowThreads(nchunks))
	r := d.call(op{kind: opDtoH, src: sumsPtr, host: unsafe.Pointer(&sums[0]), bytes: int64(nseg) * 8})
	if r.err != nil {
		for i := range sums {
			sums[i] = math.NaN()
		}
	}
}
