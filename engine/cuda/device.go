//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"unsafe"

	"github.com/gazeml/gaze/engine"
)

// Threading. A CUDA context is current on one OS thread. The device runs one goroutine locked to
// its OS thread (the worker) that owns the context and the stream and executes every driver call;
// Device methods only pack an op (kernel, launch shape, up to maxArgs 8-byte arguments) and send
// it over a buffered channel by value. Launches, memsets, device copies and frees are
// asynchronous: the caller returns at once and the worker issues them in order on one stream,
// which also makes reuse of freed memory by the caching allocator safe (stream order). Calls that
// need an answer (Alloc, Upload, Download, Sync, the reductions) wait for the worker's reply.
// Steady-state launches allocate nothing: the op is a value, and the worker copies its arguments
// into one C-allocated argument block that cuLaunchKernel reads.
//
// Errors are sticky: the first failure since the last Sync (a launch error, a fault detected by
// a copy, an invalid label seen by SoftmaxXent) is returned by the next Sync; later launches are
// skipped until then, so an error never turns into a cascade of wrong numbers.
//
// Like the CPU device, a Device is used from one goroutine at a time.

func init() {
	engine.Register("cuda", func(in engine.Instance) (engine.Device, error) {
		if in.Ordinal >= 0 {
			return Open(in.Ordinal)
		}
		ord := 0
		if s := os.Getenv("GAZE_CUDA_DEVICE"); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("cuda: GAZE_CUDA_DEVICE=%q is not a device number", s)
			}
			ord = v
		}
		return Open(ord)
	})
}

type opKind uint8

const (
	opLaunch opKind = iota
	opMemset
	opCopy
	opHtoD
	opDtoH
	opAlloc
	opFree
	opSync
	opInfo
	opClose
)

type op struct {
	kind   opKind
	k      *kernel
	grid   [3]uint32
	block  [3]uint32
	shmem  uint32
	nargs  int
	args   [maxArgs]uint64
	dst    uintptr
	src    uintptr
	host   unsafe.Pointer
	bytes  int64
	val    uint32
	floats int // the element count an Alloc asked for, for its error message
}

type reply struct {
	ptr         uintptr
	err         error
	free, total int64
}

// Device is the CUDA device. Open makes one.
type Device struct {
	q     chan op
	reply chan reply
	cur   op // the launch being packed by the calling goroutine

	kern   []*kernel // by kernelID (registry.go)
	name   string
	sms    int
	ccMaj  int
	ccMin  int
	memTot int64
	drv    int

	// Device-owned scratch: workspaces of split-K GEMMs, float64 partial sums, the status words.
	ws     scratch
	part   scratch
	status uintptr
	armed  bool      // a kernel that may set status ran since the last check
	stat   *[4]int32 // host copy of status (its own allocation: cgo may be handed a pointer to it)
	closed bool
}

type scratch struct {
	ptr   uintptr
	bytes int64
}

// Buffer is a CUDA buffer or a view into one.
type Buffer struct {
	dev  *Device
	ptr  uintptr
	n    int
	root bool // returned by Alloc (freeing a view does nothing)
}

// Len is the number of float32 elements (none for a nil *Buffer).
func (b *Buffer) Len() int {
	if b == nil {
		return 0
	}
	return b.n
}

// Slice returns the view [off, off+n).
func (b *Buffer) Slice(off, n int) engine.Buffer {
	if off < 0 || n < 0 || off+n > b.n {
		panic(fmt.Sprintf("cuda: Buffer.Slice(%d, %d) out of range for a buffer of %d elements", off, n, b.n))
	}
	return &Buffer{dev: b.dev, ptr: b.ptr + uintptr(off)*4, n: n}
}

// Open initialises the driver's context for GPU ordinal on a dedicated OS thread, JIT-compiles
// the embedded kernels and returns the device.
func Open(ordinal int) (*Device, error) {
	d := &Device{q: make(chan op, 4096), reply: make(chan reply, 1), stat: new([4]int32)}
	ready := make(chan error)
	go d.worker(ordinal, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	if err := d.allocScratch(&d.part, 1<<16); err != nil {
		return nil, err
	}
	r := d.call(op{kind: opAlloc, bytes: 16})
	if r.err != nil {
		return nil, r.err
	}
	d.status = r.ptr
	d.memsetBytes(d.status, 0, 16)
	return d, d.Sync()
}

// Name is "cuda".
func (d *Device) Name() string { return "cuda" }

// Describe names the GPU, its compute capability, memory and driver (for `gaze devices`).
func (d *Device) Describe() string {
	return fmt.Sprintf("%s (compute %d.%d, %d SMs, %.1f GiB, driver CUDA %s)", d.name, d.ccMaj, d.ccMin, d.sms, float64(d.memTot)/(1<<30), versionString(d.drv))
}

// call sends an op and waits for the worker's reply.
func (d *Device) call(o op) reply {
	if d.closed {
		return reply{err: errors.New("cuda: device is closed")}
	}
	d.q <- o
	return <-d.reply
}

// send queues an op without waiting.
func (d *Device) send(o *op) {
	if d.closed {
		panic("cuda: use of a closed device")
	}
	d.q <- *o
}

// Close frees the device's memory and stops its worker thread.
func (d *Device) Close() error {
	if d.closed {
		return nil
	}
	err := d.Sync()
	d.call(op{kind: opClose})
	d.closed = true
	return err
}

// MemInfo returns the free and total device memory as the driver reports them.
func (d *Device) MemInfo() (free, total int64, err error) {
	r := d.call(op{kind: opInfo})
	return r.free, r.total, r.err
}

// Alloc returns a zeroed buffer of n ≥ 0 float32s from the caching allocator.
func (d *Device) Alloc(n int) (engine.Buffer, error) {
	if n == 0 {
		return &Buffer{dev: d, root: true}, nil
	}
	r := d.call(op{kind: opAlloc, bytes: int64(n) * 4, floats: n})
	if r.err != nil {
		return nil, r.err
	}
	b := &Buffer{dev: d, ptr: r.ptr, n: n, root: true}
	d.memsetBytes(b.ptr, 0, int64(n)*4)
	return b, nil
}

// Free returns a buffer's memory to the cache. Views and nil are ignored.
func (d *Device) Free(b engine.Buffer) {
	cb, ok := b.(*Buffer)
	if !ok || cb == nil || !cb.root || cb.ptr == 0 {
		return
	}
	d.send(&op{kind: opFree, dst: cb.ptr, bytes: int64(cb.n) * 4})
	cb.ptr, cb.n = 0, 0
}

// Upload copies src into dst[0:len(src)]; it returns when the copy is done.
func (d *Device) Upload(dst engine.Buffer, src []float32) {
	db := d.buf("Upload", dst)
	if len(src) == 0 {
		return
	}
	d.call(op{kind: opHtoD, dst: db.ptr, host: unsafe.Pointer(&src[0]), bytes: int64(len(src)) * 4})
	runtime.KeepAlive(src)
}

// Download copies src[0:len(dst)] to the host. On an error (reported by Sync) dst holds NaN.
func (d *Device) Download(dst []float32, src engine.Buffer) {
	sb := d.buf("Download", src)
	if len(dst) == 0 {
		return
	}
	r := d.call(op{kind: opDtoH, src: sb.ptr, host: unsafe.Pointer(&dst[0]), bytes: int64(len(dst)) * 4})
	runtime.KeepAlive(dst)
	if r.err != nil {
		nan := float32(math.NaN())
		for i := range dst {
			dst[i] = nan
		}
	}
}

// Sync waits for all queued work and returns the first error since the last Sync.
func (d *Device) Sync() error {
	r := d.call(op{kind: opSync})
	if r.err == nil && d.armed {
		d.armed = false
		rr := d.call(op{kind: opDtoH, src: d.status, host: unsafe.Pointer(&d.stat[0]), bytes: 16})
		if rr.err != nil {
			return rr.err
		}
		if d.stat[0] != 0 {
			err := fmt.Errorf("cuda: SoftmaxXent: row %d has label %v, want an integer in [0, %d)", d.stat[1], math.Float32frombits(uint32(d.stat[2])), d.stat[3])
			*d.stat = [4]int32{}
			d.memsetBytes(d.status, 0, 16)
			d.call(op{kind: opSync})
			return err
		}
	}
	return r.err
}

func (d *Device) memsetBytes(ptr uintptr, v uint32, bytes int64) {
	if bytes == 0 {
		return
	}
	d.send(&op{kind: opMemset, dst: ptr, val: v, bytes: bytes})
}

// allocScratch makes s at least bytes long (contents unspecified). Growing frees the old block
// (stream-ordered, so queued kernels that use it are unaffected).
func (d *Device) allocScratch(s *scratch, bytes int64) error {
	if s.bytes >= bytes {
		return nil
	}
	if s.ptr != 0 {
		d.send(&op{kind: opFree, dst: s.ptr, bytes: s.bytes})
		s.ptr, s.bytes = 0, 0
	}
	bytes = max(bytes, 1<<20)
	r := d.call(op{kind: opAlloc, bytes: bytes, floats: int(bytes / 4)})
	if r.err != nil {
		return r.err
	}
	s.ptr, s.bytes = r.ptr, bytes
	return nil
}

// need returns a scratch region of at least bytes; an allocation failure becomes the sticky error
// (kernels then skip) and the call returns 0.
func (d *Device) need(s *scratch, bytes int64) uintptr {
	if err := d.allocScratch(s, bytes); err != nil {
		d.fail(err)
		return 0
	}
	return s.ptr
}

// fail records err as the sticky error on the worker.
func (d *Device) fail(err error) {
	d.call(op{kind: opLaunch, k: nil, host: unsafe.Pointer(&err)})
}

var _ engine.Device = (*Device)(nil)
