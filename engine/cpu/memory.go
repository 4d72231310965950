// Package cpu is gaze's CPU device: pure Go, always built, and the reference implementation that
// every other device is checked against.
//
// A Device is not safe for concurrent use: it keeps scratch memory (im2col matrices, partial
// sums) that kernels grow on demand and reuse, so that steady-state training allocates no
// buffers. Use a device from one goroutine at a time (the engine does); several devices may be
// used from several goroutines at once. Kernels run synchronously; large ones fan out over the
// cores through a process-wide worker pool (internal/sgemm/workers), always splitting work so
// that results are bit-identical regardless of scheduling or core count. In steady state no
// kernel allocates: each parallel kernel keeps its arguments in the Device (see ranger).
//
// The Device holds only the computation: it trusts its arguments. New (and engine.Open("cpu"))
// return it behind engine's argument-checking layer (engine.Checked), which rejects shapes and
// lengths that do not match with a panic naming the kernel and the sizes.
package cpu

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/bytesize"
	"github.com/gazeml/gaze/internal/sgemm"
)

func init() {
	engine.Register("cpu", func(in engine.Instance) (engine.Device, error) {
		// A GAZE_CPU override that names no kernel path, or one this CPU cannot run, stops
		// the command here rather than running on another path unnoticed.
		if err := sgemm.EnvError(); err != nil {
			return nil, fmt.Errorf("cpu: %w", err)
		}
		return newDevice(in.Threads), nil
	})
}

// Buffer is a CPU buffer: a float32 slice. Views made by Slice share its memory.
type Buffer struct {
	data []float32
}

// Len is the number of float32 elements (none for a nil *Buffer).
func (b *Buffer) Len() int {
	if b == nil {
		return 0
	}
	return len(b.data)
}

// Slice returns the view [off, off+n), sharing memory with b.
func (b *Buffer) Slice(off, n int) engine.Buffer {
	if off < 0 || n < 0 || off+n > len(b.data) {
		panic(fmt.Sprintf("cpu: Buffer.Slice(%d, %d) out of range for a buffer of %d elements", off, n, len(b.data)))
	}
	return &Buffer{data: b.data[off : off+n : off+n]}
}

// Data returns the memory of a CPU buffer, for zero-copy host access. It panics if b does not
// belong to the CPU device. A nil buffer yields nil.
func Data(b engine.Buffer) []float32 {
	if b == nil {
		return nil
	}
	cb, ok := b.(*Buffer)
	if !ok {
		panic(fmt.Sprintf("cpu: Data called with a %T, not a CPU buffer", b))
	}
	if cb == nil {
		return nil
	}
	return cb.data
}

// Wrap makes a CPU buffer that uses s as its memory (no copy).
func Wrap(s []float32) engine.Buffer { return &Buffer{data: s} }

// Device is the CPU device. See the package comment about concurrency.
type Device struct {
	workers   int // goroutines the parallel kernels fan out to
	convCols  int // convolution grouping targets (convTargetCols, convTargetFlops)
	convFlops int
	stackFlts int        // the stack form's chunk target (stackTargetFloats; 0: one image a chunk)
	col       []float32  // convolution scratch (col matrices, gathered dy and y), grown on demand
	f64       []float64  // float64 partial sums of the blocked reductions
	wflip     []float32  // flipped, transposed filters of the backward-data convolution
	k         kernelArgs // argument blocks of the parallel kernels
	conv      convArgs   // the im2col packer handed to sgemm
	stk       stackState // the stack form of convolutions (conv_stack.go)
	stackForm stackUse   // when convolutions take the stack form (tests force it)
	winoForm  winoUse    // when 3×3 and 5×5 same stride-1 convolutions take the Winograd form (GAZE_WINOGRAD; tests force it)
	winoFlts  int        // the Winograd form's chunk scratch target (winoTargetFloats)
	wino4     winoUse    // when 3×3 convolutions in the Winograd form take F(4×4, 3×3) (GAZE_WINOGRAD_TILE; tests force it)
	wino      winoState  // the Winograd form's scratch (winograd.go)
	chunk     chunked    // the chunking of the running parallel kernel
	err       error      // sticky error, reported by Sync
}

// New returns a CPU device whose parallel kernels use up to GOMAXPROCS goroutines, behind
// engine's argument checks: the device engine.Open("cpu") returns.
func New() engine.Device { return engine.Checked(newDevice(0)) }

// NewThreads is New with the device's own parallel kernels limited to threads goroutines
// (0: GOMAXPROCS), for several instances that share the cores (engine.Instance.Threads).
// Results do not depend on it. (GEMMs fan out through the process-wide worker pool, which one
// caller holds at a time; the others run their GEMMs on their own goroutine.)
func NewThreads(threads int) engine.Device { return engine.Checked(newDevice(threads)) }

// newDevice returns the raw device, which trusts its arguments.
func newDevice(threads int) *Device {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &Device{workers: max(threads, 1), convCols: convTargetCols, convFlops: convTargetFlops, stackFlts: stackTargetFloats,
		winoForm: winoFromEnv(), winoFlts: winoTargetFloats, wino4: wino4FromEnv()}
}

// Name is "cpu".
func (d *Device) Name() string { return "cpu" }

// Describe is the one-line summary `gaze devices` prints.
func (d *Device) Describe() string {
	return fmt.Sprintf("%d threads, %s kernels: %s (GAZE_CPU=avx512|avx2|generic selects)", d.workers, sgemm.Current(), sgemm.Current().Describe())
}

// Alloc returns a zeroed buffer of n ≥ 0 elements, in transparent huge pages on Linux from 4 MB
// on (memory_linux.go). A buffer larger than the memory the system has available is an error,
// not a Go runtime crash (an absurd model width, say).
func (d *Device) Alloc(n int) (engine.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("cpu: a buffer of %d elements", n)
	}
	if b := int64(n) * 4; b >= bigAlloc {
		if avail, ok := availableMemory(); ok && b > avail {
			return nil, fmt.Errorf("cpu: a buffer of %s, but only %s of memory is available", bytesize.Format(b), bytesize.Format(avail))
		}
	}
	v := make([]float32, n)
	adviseHugePages(v)
	return &Buffer{data: v}, nil
}

// bigAlloc is the size from which Alloc checks the available memory first.
const bigAlloc = 256 << 20

// availableMemory is the memory the kernel says is available for new allocations (Linux's
// MemAvailable), ok false where it cannot tell.
func availableMemory() (int64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// Free does nothing: the garbage collector reclaims CPU buffers.
func (d *Device) Free(b engine.Buffer) {}

// Upload copies src into dst[0:len(src)].
func (d *Device) Upload(dst engine.Buffer, src []float32) { copy(Data(dst), src) }

// Download copies src[0:len(dst)] into dst.
func (d *Device) Download(dst []float32, src engine.Buffer) { copy(dst, Data(src)) }

// Sync returns the sticky error since the last Sync and clears it. CPU kernels run
// synchronously, so there is nothing to wait for.
func (d *Device) Sync() error {
	err := d.err
	d.err = nil
	return err
}

// scratch returns d.col grown to at least n elements. Contents are unspecified.
func (d *Device) scratch(n int) []float32 {
	if cap(d.col) < n {
		d.col = make([]float32, n)
	}
	return d.col[:n]
}

// scratch64 returns d.f64 grown to at least n elements, zeroed.
func (d *Device) scratch64(n int) []float64 {
	if cap(d.f64) < n {
		d.f64 = make([]float64, n)
	}
	s := d.f64[:n]
	clear(s)
	return s
}

var _ engine.Device = (*Device)(nil)
