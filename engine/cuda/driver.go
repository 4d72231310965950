//go:build cuda && !cudaemu

package cuda

// The driver calls gorgonia.org/cu does not wrap the way the device needs them: kernel launches
// from a fixed, C-allocated argument block (cu.Function.Launch mallocs and frees two C arrays per
// launch), stream-ordered copies and memsets on the device's own stream, and error names.

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>
#include <stdint.h>
#include <stdlib.h>

// gz_args allocates n 8-byte argument slots and the pointer array cuLaunchKernel reads,
// ptrs[i] = &slots[i]. The driver copies as many bytes from each slot as the kernel's parameter
// has (4 for int and float, 8 for pointers, int64 and double), so every value sits in the low
// bytes of its slot (little-endian).
static void gz_args(int n, uint64_t **slots, void ***ptrs) {
	*slots = (uint64_t *)calloc(n, sizeof(uint64_t));
	*ptrs = (void **)calloc(n, sizeof(void *));
	for (int i = 0; i < n; i++) (*ptrs)[i] = &(*slots)[i];
}

static const char *gz_errname(CUresult r) {
	const char *s = 0;
	if (cuGetErrorName(r, &s) != CUDA_SUCCESS || s == 0) return "CUDA_ERROR_UNKNOWN";
	return s;
}

// gz_load loads a PTX image, JIT-compiling it for the current device, and keeps the JIT's error
// log so that a driver too old for the PTX (or a bad image) is reported with the reason.
static CUresult gz_load(CUmodule *mod, const char *image, char *log, unsigned logsize) {
	CUjit_option opts[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
	void *vals[2] = {log, (void *)(uintptr_t)logsize};
	return cuModuleLoadDataEx(mod, image, 2, opts, vals);
}

static const char *gz_errstring(CUresult r) {
	const char *s = 0;
	if (cuGetErrorString(r, &s) != CUDA_SUCCESS || s == 0) return "unknown error";
	return s;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// maxArgs bounds the parameters of one kernel (the convolutions take up to 25).
const maxArgs = 32

// cuError is a failed driver call, with the driver's name and description of the code.
type cuError struct {
	call string
	code int
	name string
	desc string
}

func (e *cuError) Error() string {
	return fmt.Sprintf("cuda: %s: %s (%d): %s", e.call, e.name, e.code, e.desc)
}

func check(call string, r C.CUresult) error {
	if r == C.CUDA_SUCCESS {
		return nil
	}
	return &cuError{call: call, code: int(r), name: C.GoString(C.gz_errname(r)), desc: C.GoString(C.gz_errstring(r))}
}

// argBlock is the C memory cuLaunchKernel reads the arguments from; only the worker thread
// touches it.
type argBlock struct {
	slots *C.uint64_t
	ptrs  *unsafe.Pointer
	view  []uint64 // slots as a Go slice over the C memory
}

func newArgBlock() *argBlock {
	var slots *C.uint64_t
	var ptrs *unsafe.Pointer
	C.gz_args(maxArgs, &slots, &ptrs)
	return &argBlock{slots: slots, ptrs: ptrs, view: unsafe.Slice((*uint64)(unsafe.Pointer(slots)), maxArgs)}
}

type stream struct{ s C.CUstream }

func newStream() (stream, error) {
	var s C.CUstream
	// A blocking stream (flags 0) also orders against the legacy default stream, which keeps
	// any synchronous driver call correct with respect to queued kernels.
	return stream{s}, check("cuStreamCreate", C.cuStreamCreate(&s, 0))
}

func (s stream) sync() error { return check("cuStreamSynchronize", C.cuStreamSynchronize(s.s)) }

func (s stream) launch(k *kernel, grid, block [3]uint32, shmem uint32, a *argBlock) error {
	return check("cuLaunchKernel", C.cuLaunchKernel(k.f,
		C.uint(grid[0]), C.uint(grid[1]), C.uint(grid[2]),
		C.uint(block[0]), C.uint(block[1]), C.uint(block[2]),
		C.uint(shmem), s.s, a.ptrs, nil))
}

func (s stream) memsetD32(dst uintptr, v uint32, n int64) error {
	return check("cuMemsetD32Async", C.cuMemsetD32Async(C.CUdeviceptr(dst), C.uint(v), C.size_t(n), s.s))
}

func (s stream) copyDtoD(dst, src uintptr, bytes int64) error {
	return check("cuMemcpyDtoDAsync", C.cuMemcpyDtoDAsync(C.CUdeviceptr(dst), C.CUdeviceptr(src), C.size_t(bytes), s.s))
}

// copyHtoD and copyDtoH copy between Go memory and the device and wait for the copy, so the Go
// memory is not referenced after they return (cgo's pointer rules: it holds no Go pointers).
func (s stream) copyHtoD(dst uintptr, src unsafe.Pointer, bytes int64) error {
	if err := check("cuMemcpyHtoDAsync", C.cuMemcpyHtoDAsync(C.CUdeviceptr(dst), src, C.size_t(bytes), s.s)); err != nil {
		return err
	}
	return s.sync()
}

func (s stream) copyDtoH(dst unsafe.Pointer, src uintptr, bytes int64) error {
	if err := check("cuMemcpyDtoHAsync", C.cuMemcpyDtoHAsync(dst, C.CUdeviceptr(src), C.size_t(bytes), s.s)); err != nil {
		return err
	}
	return s.sync()
}

// kernel is one entry point of the embedded PTX.
type kernel struct {
	name string
	f    C.CUfunction
}

// loadModule JIT-compiles one PTX image and returns its entry points by name.
func loadModule(file, image string, names []string) (map[string]*kernel, error) {
	cimg := C.CString(image)
	defer C.free(unsafe.Pointer(cimg))
	const logSize = 8192
	clog := (*C.char)(C.calloc(logSize, 1))
	defer C.free(unsafe.Pointer(clog))
	var mod C.CUmodule
	if r := C.gz_load(&mod, cimg, clog, logSize); r != C.CUDA_SUCCESS {
		err := check("cuModuleLoadDataEx("+file+")", r)
		msg := C.GoString(clog)
		switch r {
		case C.CUDA_ERROR_UNSUPPORTED_PTX_VERSION:
			return nil, fmt.Errorf("%w\nthe NVIDIA driver (CUDA %s) is older than the PTX in this build (CUDA 11.8): update the driver to 520 or newer; JIT log: %s", err, versionString(driverVersion()), msg)
		case C.CUDA_ERROR_NO_BINARY_FOR_GPU, C.CUDA_ERROR_INVALID_PTX:
			return nil, fmt.Errorf("%w\nthe kernels (PTX for compute 8.0, and 7.0 for 7.x GPUs) could not be compiled for this GPU (a PTX set forced with GAZE_PTX_DIR for a newer architecture than the GPU's?); JIT log: %s", err, msg)
		}
		return nil, fmt.Errorf("%w; JIT log: %s", err, msg)
	}
	out := make(map[string]*kernel, len(names))
	for _, n := range names {
		cn := C.CString(n)
		var f C.CUfunction
		r := C.cuModuleGetFunction(&f, mod, cn)
		C.free(unsafe.Pointer(cn))
		if err := check("cuModuleGetFunction("+n+")", r); err != nil {
			return nil, err
		}
		out[n] = &kernel{name: n, f: f}
	}
	return out, nil
}

func versionString(v int) string { return fmt.Sprintf("%d.%d", v/1000, v%1000/10) }

func driverVersion() int {
	var v C.int
	if C.cuDriverGetVersion(&v) != C.CUDA_SUCCESS {
		return 0
	}
	return int(v)
}
