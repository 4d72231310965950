// Package engine is gaze's training engine: devices, the flat parameter arena, layers, losses,
// optimizers and the trainer. Experiments (lca, coordconv, intdim) talk to this package only;
// the device is picked by name at run time.
package engine

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Buffer is a float32 array that lives on a device, or a view into one. Views share memory with
// the buffer they were cut from; freeing a view is a no-op.
type Buffer interface {
	// Len is the number of float32 elements.
	Len() int
	// Slice returns the view [off, off+n). It panics on an out-of-range view: that is a bug in
	// the caller, never a user error.
	Slice(off, n int) Buffer
}

// Device is one backend: memory plus the kernel set. Kernels are asynchronous in principle (the
// CUDA device queues them on a stream); errors are sticky and reported by Sync, which also waits
// for queued work. Reductions that return a host value synchronise implicitly.
type Device interface {
	// Name is the name the device is registered and opened under ("cpu", "cuda").
	Name() string
	// Describe is a one-line description of what the device runs on (threads and GEMM path; the
	// GPU, its memory and driver), for `gaze devices` and logs.
	Describe() string
	// Alloc returns a zeroed buffer of n float32 elements.
	Alloc(n int) (Buffer, error)
	// Free releases a buffer returned by Alloc. Freeing a view or nil does nothing.
	Free(b Buffer)
	// Upload copies len(src) floats from the host into dst[0:len(src)].
	Upload(dst Buffer, src []float32)
	// Download copies len(dst) floats from src[0:len(dst)] to the host.
	Download(dst []float32, src Buffer)
	// Sync waits for queued work and returns the first error since the last Sync.
	Sync() error
	Kernels
}

// Kernels is the kernel set every device implements. All tensors are float32, row-major, NCHW.
// Convolution weights use PyTorch's layout [K, C, R, S]; Linear weights [out, in].
// "dst = beta*dst + ..." kernels accumulate when beta is 1 and overwrite when beta is 0 (dst is
// then never read, so it may hold NaN). Gradients of parameters always accumulate (+=): the trainer
// zeroes the gradient arena once per step, so that chunked full-set gradients are sums of chunks.
//
// Each op family X is declared in kernels_X.go (its interface XKernels, its geometry types and
// its argument checks) and implemented in engine/cpu/X.go, engine/cuda/X.go and kernels/X.cu; its
// conformance cases and float64 references are engine/enginetest/X.go.
type Kernels interface {
	GemmKernels        // kernels_gemm.go: Gemm, Gemv
	ConvKernels        // kernels_conv.go: convolution forward and backward
	NormKernels        // kernels_norm.go: batch norm
	PoolKernels        // kernels_pool.go: max, average and global average pooling
	LossKernels        // kernels_loss.go: softmax cross-entropy, MSE, sigmoid BCE, argmax
	ElementwiseKernels // kernels_elementwise.go: ReLU, BLAS-1, dropout, bias add and gradient
	ReduceKernels      // kernels_reduce.go: float64 sums and dot products
	OptimKernels       // kernels_optim.go: SGD and Adam over the arena
	LCAKernels         // kernels_lca.go: loss change allocation
	CoordsKernels      // kernels_coords.go: CoordConv
	ProjectionKernels  // kernels_projection.go: intrinsic dimension
}

var (
	registryMu sync.Mutex
	registry   = map[string]func() (Device, error){}
)

// Register makes a device constructor available to Open. Device packages call it from init;
// open returns the raw device, which Open puts behind the argument checks (Checked).
func Register(name string, open func() (Device, error)) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[name] = open
}

// Devices lists the device names this build can open, sorted.
func Devices() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open opens the named device, behind the argument-checking layer (Checked, check.go).
func Open(name string) (Device, error) {
	registryMu.Lock()
	open, ok := registry[name]
	registryMu.Unlock()
	if !ok {
		if name == "cuda" {
			return nil, fmt.Errorf("device %q: this gaze binary was built without CUDA support; rebuild with `go build -tags cuda` (needs the CUDA toolkit) or use --device cpu", name)
		}
		return nil, fmt.Errorf("unknown device %q (this build has: %s)", name, strings.Join(Devices(), ", "))
	}
	d, err := open()
	if err != nil {
		return nil, err
	}
	return Checked(d), nil
}
