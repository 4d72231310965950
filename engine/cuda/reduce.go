//go:build cuda

package cuda

import (
	"fmt"
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
	out := d.reduceTo(mode, x, y, n, 0)
	if out == 0 {
		return math.NaN()
	}
	var v [1]float64
	r := d.call(op{kind: opDtoH, src: out, host: unsafe.Pointer(&v[0]), bytes: 8})
	if r.err != nil {
		return math.NaN()
	}
	return v[0]
}

// reduceTo queues the two reduction kernels, the final sum going to the float64 at dst (0: the
// scratch slot after the partial sums), and returns where it goes (0 when the scratch could not
// be allocated; the error is then sticky).
func (d *Device) reduceTo(mode int, x, y engine.Buffer, n int, dst uintptr) uintptr {
	nb := min(ceilDiv(n, 256), 1024)
	part := d.need(&d.part, int64(nb+1)*8)
	if part == 0 {
		return 0
	}
	d.k(kReducePartial).l(n).i(mode).p(x).p(y).raw(part)
	d.go1(nb, 256)
	out := dst
	if out == 0 {
		out = part + uintptr(nb)*8
	}
	d.k(kReduceFinal).i(nb).raw(part).raw(out)
	d.go1(1, 256)
	return out
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

// SumTo writes Σ x (float64, as Sum computes it) into dst[0:2] on the device (engine.Capturer).
func (d *Device) SumTo(x, dst engine.Buffer) { d.sumTo(0, x, dst) }

// SumSquaresTo writes Σ x² into dst[0:2] on the device.
func (d *Device) SumSquaresTo(x, dst engine.Buffer) { d.sumTo(1, x, dst) }

func (d *Device) sumTo(mode int, x, dst engine.Buffer) {
	db := d.buf("SumTo", dst)
	if db.ptr%8 != 0 {
		panic(fmt.Sprintf("cuda: SumTo: dst at %#x is not 8-byte aligned (start it at an even offset)", db.ptr))
	}
	if n := blen(x); n == 0 {
		d.memsetBytes(db.ptr, 0, 8)
	} else {
		d.reduceTo(mode, x, nil, n, db.ptr)
	}
}
