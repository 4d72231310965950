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

type stream struct{}

func newStream() (stream, error) { return stream{}, nil }
func (stream) sync() error       { return nil }

func (stream) launch(k *kernel, grid, block [3]uint32, shmem uint32, a *argBlock) error {
	if block[0] < 1 || block[0] > 1024 {
		return fmt.Errorf("cuda emulator: kernel %s launched with %d threads", k.name, block[0])
	}
	C.gz_emu_launch(k.id, C.uint(grid[0]), C.uint(grid[1]), C.uint(grid[2]), a.slots)
	return nil
}

func (stream) memsetD32(dst uintptr, v uint32, n int64) error {
	C.gz_memset32(C.uintptr_t(dst), C.uint32_t(v), C.size_t(n))
	return nil
}

func (stream) copyDtoD(dst, src uintptr, bytes int64) error {
	C.gz_memmove(C.uintptr_t(dst), C.uintptr_t(src), C.size_t(bytes))
	return nil
}

func (stream) copyHtoD(dst uintptr, src unsafe.Pointer, bytes int64) error {
	C.gz_from_host(C.uintptr_t(dst), src, C.size_t(bytes))
	return nil
}

func (stream) copyDtoH(dst unsafe.Pointer, src uintptr, bytes int64) error {
	C.gz_to_host(dst, C.uintptr_t(src), C.size_t(bytes))
	return nil
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
