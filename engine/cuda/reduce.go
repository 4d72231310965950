//go:build cuda

package cuda

import (
	"math"
	"unsafe"

	"github.com/gazeml/gaze/engine"
)

// The reduce op family (engine/kernels_reduce.go) on the GPU: float64 sums and dot products.

// The kernels of kernels/reduce.cu.
var (
	kReducePartial = declare("reduce", "reduce_partial")
	kReduceFinal   = declare("reduce", "reduce_final")
)

// reduce runs Σx (mode 0), Σx² (1) or Σx·y (2) and returns the float64 result; a sync point.
func (d *Device) reduce(mode int, x, y engine.Buffer, n int) float64 {
	if n == 0 {
		return 0
	}
	nb := min(ceilDiv(n, 256), 1024)
	part := d.need(&d.part, int64(nb+1)*8)
	if part == 0 {
		return math.NaN()
	}
	d.k(kReducePartial).l(n).i(mode).p(x).p(y).raw(part)
	d.go1(nb, 256)
	out := part + uintptr(nb)*8
	d.k(kReduceFinal).i(nb).raw(part).raw(out)
	d.go1(1, 256)
	var v [1]float64
	r := d.call(op{kind: opDtoH, src: out, host: unsafe.Pointer(&v[0]), bytes: 8})
	if r.err != nil {
		return math.NaN()
	}
	return v[0]
}

// Sum returns Σ x in float64.
func (d *Device) Sum(x engine.Buffer) float64 { return d.reduce(0, x, nil, blen(x)) }

// SumSquares returns Σ x² in float64.
func (d *Device) SumSquares(x engine.Buffer) float64 { return d.reduce(1, x, nil, blen(x)) }

// Dot returns Σ x·y in float64.
func (d *Device) Dot(x, y engine.Buffer) float64 {
	n := blen(x)
	return d.reduce(2, x, y, n)
}
