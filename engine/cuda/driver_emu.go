//go:build cuda && cudaemu

package cuda

// The emulator's driver layer (go test -tags cuda,cudaemu ./engine/cuda): the same functions as
// driver.go and gpu.go, but "device" memory is host memory and a launch runs the host-compiled
// kernels (emu_kernels.cc, kernels/emu.h) block by block with one thread each. It exists so that
// the conformance suite exercises the real kernel sources, the launchers and their argument
// packing on a machine without a GPU; it says nothing about speed or about races.

/*
#cgo CXXFLAGS: -std=c++17 -O1 -DGZ_EMU -Wno-unused-function
#cgo LDFLAGS: -lm -lstdc++
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
int gz_emu_id(const char *name);
void gz_emu_launch(int id, unsigned gx, unsigned gy, unsigned gz, const uint64_t *a);
static void gz_memset32(uintptr_t p, uint32_t v, size_t n) {
	uint32_t *q = (uint32_t *)p;
	for (size_t i = 0; i < n; i++) q[i] = v;
}
static void gz_memmove(uintptr_t dst, uintptr_t src, size_t n) { memmove((void *)dst, (void *)src, n); }
static void gz_to_host(void *dst, uintptr_t src, size_t n) { memcpy(dst, (void *)src, n); }
static void gz_from_host(uintptr_t dst, void *src, size_t n) { memcpy((void *)dst, src, n); }
static uintptr_t gz_alloc(size_t n) {
	void *p = 0;
	if (posix_memalign(&p, 256, n) != 0) return 0;
	return (uintptr_t)p;
}
static void gz_free(uintptr_t p) { free((void *)p); }
*/
import "C"

import (
	"fmt"
	"os"
	"unsafe"
)

const maxArgs = 32

type argBlock struct {
	slots *C.uint64_t
	view  []uint64
}

func newArgBlock() *argBlock {
	s := (*C.uint64_t)(C.calloc(maxArgs, 8))
	return &argBlock{slots: s, view: unsafe.Slice((*uint64)(unsafe.Pointer(s)), maxArgs)}
}

type kernel struct {
	name string
	id   C.int
}

func loadModule(file, image string, names []string) (map[string]*kernel, error) {
	out := make(map[string]*kernel, len(names))
	for _, n := range names {
		cn := C.CString(n)
		id := C.gz_emu_id(cn)
		C.free(unsafe.Pointer(cn))
		if id < 0 {
			return nil, fmt.Errorf("cuda emulator: kernel %s of %s is not in emu_dispatch.cc (run scripts/gen-emu-dispatch.py)", n, file)
		}
		out[n] = &kernel{name: n, id: id}
	}
	return out, nil
}

// stream runs each op at once, or, while capturing, records it (CUDA stream capture: the ops
// become a graph's nodes and nothing runs; graphLaunch then runs them in order). The state is
// behind a pointer so that the value receivers share it.
type stream struct{ st *emuStream }

type emuStream struct {
	capturing   bool
	invalidated error // an op that a capture cannot hold was issued (CUDA invalidates the capture)
	ops         []emuOp
}

// emuOp is one recorded op: a launch (k non-nil, with its argument slots as cuLaunchKernel
// copies them when it is captured), a memset (k nil, src 0) or a device copy (k nil).
type emuOp struct {
	k        *kernel
	grid     [3]uint32
	args     [maxArgs]uint64
	dst, src uintptr
	val      uint32
	n        int64
}

// graphHandle is a recording: its ops, and their argument slots in C memory (the kernels read
// them through a C pointer).
type graphHandle struct {
	ops  []emuOp
	args *C.uint64_t
}

func newStream() (stream, error) { return stream{&emuStream{}}, nil }

func (s stream) sync() error { return s.refuse("cuStreamSynchronize") }

// refuse is what the driver does with a synchronising call on a capturing stream: an error, and
// the capture is invalidated.
func (s stream) refuse(call string) error {
	if !s.st.capturing {
		return nil
	}
	err := fmt.Errorf("cuda emulator: %s on a capturing stream: CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", call)
	if s.st.invalidated == nil {
		s.st.invalidated = err
	}
	return err
}

func (s stream) launch(k *kernel, grid, block [3]uint32, shmem uint32, a *argBlock) error {
	if block[0] < 1 || block[0] > 1024 {
		return fmt.Errorf("cuda emulator: kernel %s launched with %d threads", k.name, block[0])
	}
	if s.st.capturing {
		o := emuOp{k: k, grid: grid}
		copy(o.args[:], a.view)
		s.st.ops = append(s.st.ops, o)
		return nil
	}
	C.gz_emu_launch(k.id, C.uint(grid[0]), C.uint(grid[1]), C.uint(grid[2]), a.slots)
	return nil
}

func (s stream) memsetD32(dst uintptr, v uint32, n int64) error {
	if s.st.capturing {
		s.st.ops = append(s.st.ops, emuOp{dst: dst, val: v, n: n})
		return nil
	}
	C.gz_memset32(C.uintptr_t(dst), C.uint32_t(v), C.size_t(n))
	return nil
}

func (s stream) copyDtoD(dst, src uintptr, bytes int64) error {
	if s.st.capturing {
		s.st.ops = append(s.st.ops, emuOp{dst: dst, src: src, n: bytes})
		return nil
	}
	C.gz_memmove(C.uintptr_t(dst), C.uintptr_t(src), C.size_t(bytes))
	return nil
}

func (s stream) copyHtoD(dst uintptr, src unsafe.Pointer, bytes int64) error {
	if err := s.refuse("cuMemcpyHtoDAsync + cuStreamSynchronize"); err != nil {
		return err
	}
	C.gz_from_host(C.uintptr_t(dst), src, C.size_t(bytes))
	return nil
}

func (s stream) copyDtoH(dst unsafe.Pointer, src uintptr, bytes int64) error {
	if err := s.refuse("cuMemcpyDtoHAsync + cuStreamSynchronize"); err != nil {
		return err
	}
	C.gz_to_host(dst, C.uintptr_t(src), C.size_t(bytes))
	return nil
}

func (s stream) beginCapture() error {
	if s.st.capturing {
		return fmt.Errorf("cuda emulator: cuStreamBeginCapture: the stream is already capturing")
	}
	*s.st = emuStream{capturing: true}
	return nil
}

func (s stream) endCapture(keep bool) (graphHandle, error) {
	if !s.st.capturing {
		return graphHandle{}, fmt.Errorf("cuda emulator: cuStreamEndCapture: the stream is not capturing")
	}
	ops, bad := s.st.ops, s.st.invalidated
	*s.st = emuStream{}
	if bad != nil {
		return graphHandle{}, fmt.Errorf("cuda emulator: cuStreamEndCapture: CUDA_ERROR_STREAM_CAPTURE_INVALIDATED (%v)", bad)
	}
	if !keep {
		return graphHandle{}, nil
	}
	h := graphHandle{ops: ops}
	if len(ops) > 0 {
		h.args = (*C.uint64_t)(C.calloc(C.size_t(len(ops)*maxArgs), 8))
		all := unsafe.Slice((*uint64)(unsafe.Pointer(h.args)), len(ops)*maxArgs)
		for i := range ops {
			copy(all[i*maxArgs:], ops[i].args[:])
		}
	}
	return h, nil
}

func (s stream) graphLaunch(h graphHandle) error {
	if s.st.capturing {
		return fmt.Errorf("cuda emulator: cuGraphLaunch on a capturing stream is not emulated")
	}
	for i, o := range h.ops {
		switch {
		case o.k != nil:
			slots := (*C.uint64_t)(unsafe.Add(unsafe.Pointer(h.args), i*maxArgs*8))
			C.gz_emu_launch(o.k.id, C.uint(o.grid[0]), C.uint(o.grid[1]), C.uint(o.grid[2]), slots)
		case o.src == 0:
			C.gz_memset32(C.uintptr_t(o.dst), C.uint32_t(o.val), C.size_t(o.n))
		default:
			C.gz_memmove(C.uintptr_t(o.dst), C.uintptr_t(o.src), C.size_t(o.n))
		}
	}
	return nil
}

func graphDestroy(h graphHandle) {
	if h.args != nil {
		C.free(unsafe.Pointer(h.args))
	}
}

func versionString(v int) string { return fmt.Sprintf("%d.%d", v/1000, v%1000/10) }
func driverVersion() int         { return 11080 }

type context struct{}

func (c *context) destroy() {}

func openGPU(ordinal int, d *Device) (context, error) {
	if ordinal != 0 {
		return context{}, fmt.Errorf("cuda emulator: GPU %d requested, the emulator has one", ordinal)
	}
	d.name, d.ccMaj, d.ccMin, d.sms, d.memTot, d.drv = "host emulator", 8, 0, 4, 8<<30, driverVersion()
	// GAZE_EMU_CC=7.0 makes the emulator report compute capability 7.0 (the sm70 PTX set is then
	// selected, and --precision tf32 refused), for the tests of that path.
	if cc := os.Getenv("GAZE_EMU_CC"); cc != "" {
		if _, err := fmt.Sscanf(cc, "%d.%d", &d.ccMaj, &d.ccMin); err != nil {
			return context{}, fmt.Errorf("cuda emulator: GAZE_EMU_CC=%q is not MAJOR.MINOR", cc)
		}
	}
	return context{}, nil
}

// The emulator's memory limit, so that the out-of-memory path can be exercised.
const emuLimit = 8 << 30

var emuUsed int64

func memAlloc(bytes int64) (uintptr, bool, error) {
	if emuUsed+bytes > emuLimit {
		return 0, true, fmt.Errorf("cuda emulator: out of memory")
	}
	p := C.gz_alloc(C.size_t(bytes))
	if p == 0 {
		return 0, true, fmt.Errorf("cuda emulator: out of memory")
	}
	emuUsed += bytes
	emuSizes[uintptr(p)] = bytes
	return uintptr(p), false, nil
}

var emuSizes = map[uintptr]int64{}

func memFree(p uintptr) {
	emuUsed -= emuSizes[p]
	delete(emuSizes, p)
	C.gz_free(C.uintptr_t(p))
}

func memInfo() (free, total int64, err error) { return emuLimit - emuUsed, emuLimit, nil }
