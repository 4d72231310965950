// Package engine is gaze's training engine: devices, the flat parameter arena, layers, losses,
// optimizers and the trainer. Experiments (lca, coordconv, intdim) talk to this package only;
// the device is picked by name at run time.
package engine

import (
	"fmt"
	"runtime"
	"sort"
	"strconv"
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
	CoordsKernels      // kernels_coords.go: CoordConv
	ProjectionKernels  // kernels_projection.go: intrinsic dimension
}

var (
	registryMu sync.Mutex
	registry   = map[string]func(Instance) (Device, error){}
)

// Instance names one device to open: a registered kind, which device of that kind, and what
// share of the host its kernels may use.
type Instance struct {
	Kind string // a registered device name: "cpu", "cuda"
	// Ordinal is which device of the kind: the GPU ordinal for cuda (-1: the kind's default,
	// for cuda $GAZE_CUDA_DEVICE or 0); for cpu the instance's number in a list of instances,
	// which only names it.
	Ordinal int
	// Threads bounds the goroutines the device's own kernels fan out to (0: GOMAXPROCS). Several
	// CPU instances used at once share the cores this way; results never depend on it.
	Threads int
}

// String is the instance as --devices writes it: "cuda:1", "cpu", or "cpu#1" for the second of
// several CPU instances.
func (in Instance) String() string {
	switch {
	case in.Ordinal < 0:
		return in.Kind
	case in.Kind == "cpu":
		return fmt.Sprintf("cpu#%d", in.Ordinal)
	}
	return fmt.Sprintf("%s:%d", in.Kind, in.Ordinal)
}

// Register makes a device constructor available to Open. Device packages call it from init;
// open returns the raw device, which Open puts behind the argument checks (Checked).
func Register(name string, open func(Instance) (Device, error)) {
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

// Open opens the named device ("cpu", "cuda", or "cuda:K" for GPU K), behind the
// argument-checking layer (Checked, check.go).
func Open(name string) (Device, error) {
	in := Instance{Kind: name, Ordinal: -1}
	if kind, ord, ok := strings.Cut(name, ":"); ok && kind != "cpu" {
		k, err := strconv.Atoi(ord)
		if err != nil || k < 0 {
			return nil, fmt.Errorf("device %q: %q is not a device number", name, ord)
		}
		in = Instance{Kind: kind, Ordinal: k}
	}
	return OpenInstance(in)
}

// OpenInstance opens one device instance behind the argument-checking layer.
func OpenInstance(in Instance) (Device, error) {
	registryMu.Lock()
	open, ok := registry[in.Kind]
	registryMu.Unlock()
	if !ok {
		if in.Kind == "cuda" {
			return nil, fmt.Errorf("device %q: this gaze binary was built without CUDA support; rebuild with `go build -tags cuda` (needs the CUDA toolkit) or use --device cpu", in)
		}
		return nil, fmt.Errorf("unknown device %q (this build has: %s)", in.Kind, strings.Join(Devices(), ", "))
	}
	d, err := open(in)
	if err != nil {
		return nil, err
	}
	return Checked(d), nil
}

// ParseDevices reads a list of device instances: "cpu:N" is N CPU instances that share the
// cores (each gets GOMAXPROCS/N threads, at least one), "cuda:0,cuda:1" two GPUs, and a plain
// kind ("cpu", "cuda") one instance of it. All instances are of one kind: results are
// bit-identical for any number of devices of one kind, not across kinds.
func ParseDevices(spec string) ([]Instance, error) {
	var out []Instance
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		kind, arg, hasArg := strings.Cut(part, ":")
		if kind == "" {
			return nil, fmt.Errorf("devices %q: empty entry", spec)
		}
		if len(out) > 0 && out[0].Kind != kind {
			return nil, fmt.Errorf("devices %q mixes %s and %s: the devices must be of one kind", spec, out[0].Kind, kind)
		}
		if !hasArg {
			out = append(out, Instance{Kind: kind, Ordinal: -1})
			continue
		}
		k, err := strconv.Atoi(arg)
		if err != nil || k < 0 {
			return nil, fmt.Errorf("devices %q: %q is not a number", spec, arg)
		}
		if kind != "cpu" {
			out = append(out, Instance{Kind: kind, Ordinal: k})
			continue
		}
		if k < 1 || len(out) > 0 || strings.Contains(spec, ",") {
			return nil, fmt.Errorf("devices %q: cpu:N names N ≥ 1 CPU instances and stands alone", spec)
		}
		for i := range k {
			out = append(out, Instance{Kind: "cpu", Ordinal: i, Threads: max(runtime.GOMAXPROCS(0)/k, 1)})
		}
	}
	if len(out) > 1 && out[0].Kind != "cpu" {
		seen := map[int]bool{}
		for _, in := range out {
			if in.Ordinal < 0 || seen[in.Ordinal] {
				return nil, fmt.Errorf("devices %q: name every GPU once by its number (cuda:0,cuda:1)", spec)
			}
			seen[in.Ordinal] = true
		}
	}
	if len(out) == 1 && out[0].Kind == "cpu" {
		out[0] = Instance{Kind: "cpu", Ordinal: -1} // cpu:1 is the plain CPU device
	}
	return out, nil
}
