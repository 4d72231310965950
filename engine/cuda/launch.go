//go:build cuda

package cuda

import (
	"fmt"
	"math"

	"github.com/gazeml/gaze/engine"
)

// Argument packing: the calling goroutine fills d.cur (one 8-byte slot per parameter; a 4-byte
// int or float sits in the low half, as the driver reads sizeof(param) bytes from each slot) and
// send copies the op by value into the queue. Nothing here allocates.

// k starts packing a launch of a declared kernel (Open has loaded every one).
func (d *Device) k(id kernelID) *op {
	o := &d.cur
	o.kind, o.k, o.nargs, o.shmem, o.ptrMask = opLaunch, d.kern[id], 0, 0, 0
	return o
}

func (o *op) slot(v uint64) *op {
	if o.nargs == maxArgs {
		panic("cuda: too many kernel arguments for " + o.k.name)
	}
	o.args[o.nargs] = v
	o.nargs++
	return o
}

// p passes a buffer's device address (nil: a null pointer).
func (o *op) p(b engine.Buffer) *op {
	if b == nil {
		return o.slot(0)
	}
	cb, ok := b.(*Buffer)
	if !ok {
		panic(fmt.Sprintf("cuda: kernel %s was handed a %T, not a CUDA buffer", o.k.name, b))
	}
	if cb == nil {
		return o.slot(0)
	}
	return o.raw(cb.ptr)
}

// raw passes a device address (a scratch area); like p, it is marked as one for graph.go.
func (o *op) raw(ptr uintptr) *op {
	o.ptrMask |= 1 << o.nargs
	return o.slot(uint64(ptr))
}

// i passes an int parameter; values must fit in int32 (checked by the launchers' size checks).
func (o *op) i(v int) *op       { return o.slot(uint64(uint32(int32(v)))) }
func (o *op) l(v int) *op       { return o.slot(uint64(int64(v))) }
func (o *op) f(v float32) *op   { return o.slot(uint64(math.Float32bits(v))) }
func (o *op) f64(v float64) *op { return o.slot(math.Float64bits(v)) }
func (o *op) u64(v uint64) *op  { return o.slot(v) }
func (o *op) flag(b bool) *op   { return o.i(b2i(b)) }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// go1 launches d.cur on a 1-D grid of blocks×threads.
func (d *Device) go1(blocks, threads int) {
	d.go3(blocks, 1, 1, threads)
}

func (d *Device) go3(gx, gy, gz, threads int) {
	o := &d.cur
	if gx < 1 || gy < 1 || gz < 1 {
		return // empty work
	}
	if gx > math.MaxInt32 || gy > 65535 || gz > 65535 {
		panic(fmt.Sprintf("cuda: %s: grid %d×%d×%d exceeds the hardware limits", o.k.name, gx, gy, gz))
	}
	o.grid = [3]uint32{uint32(gx), uint32(gy), uint32(gz)}
	o.block = [3]uint32{uint32(threads), 1, 1}
	d.send(o)
}

// streamBlocks is the grid of a grid-stride kernel over n elements with 256 threads: enough
// blocks to fill every SM several times, no more.
func (d *Device) streamBlocks(n int) int {
	return min((n+255)/256, d.sms*16)
}

// rowThreads picks the block width of a one-block-per-row kernel: a power of two from 32 to 256
// that is not much wider than the row.
func rowThreads(k int) int {
	t := 32
	for t < k && t < 256 {
		t <<= 1
	}
	return t
}

// fits32 panics when a size does not fit the kernels' 32-bit index parameters.
func fits32(kernel string, vals ...int) {
	for _, v := range vals {
		if v < 0 || v > math.MaxInt32 {
			panic(fmt.Sprintf("cuda: %s: size %d is outside the kernels' 32-bit range", kernel, v))
		}
	}
}

func (d *Device) buf(kernel string, b engine.Buffer) *Buffer {
	cb, ok := b.(*Buffer)
	if !ok || cb == nil {
		panic(fmt.Sprintf("cuda: %s was handed a %T, not a CUDA buffer", kernel, b))
	}
	if cb.dev != d {
		panic(fmt.Sprintf("cuda: %s was handed a buffer of another CUDA device", kernel))
	}
	return cb
}

// blen is the element count of a buffer (0 for nil).
func blen(b engine.Buffer) int {
	if b == nil {
		return 0
	}
	return b.Len()
}
