//go:build cuda && !cudaemu

package cuda

import (
	"errors"
	"fmt"

	_ "github.com/gazeml/gaze/engine/cuda/internal/preflight" // before cu's init: a clear no-GPU message
	"gorgonia.org/cu"
)

// The device and memory calls, through gorgonia.org/cu. They run on the worker thread.

type context struct{ c cu.CUContext }

func (c *context) destroy() { c.c.Destroy() }

// openGPU checks GPU ordinal, fills d's description and creates a context current on the
// calling (locked) thread.
func openGPU(ordinal int, d *Device) (context, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return context{}, fmt.Errorf("cuda: no usable NVIDIA driver: %v", err)
	}
	if n == 0 {
		return context{}, errors.New("cuda: no CUDA GPU found (cuDeviceGetCount returned 0); use --device cpu")
	}
	if ordinal < 0 || ordinal >= n {
		return context{}, fmt.Errorf("cuda: GPU %d requested, this machine has %d (0 to %d)", ordinal, n, n-1)
	}
	dev, err := cu.GetDevice(ordinal)
	if err != nil {
		return context{}, fmt.Errorf("cuda: GPU %d: %v", ordinal, err)
	}
	d.drv = driverVersion()
	if d.name, err = dev.Name(); err != nil {
		return context{}, fmt.Errorf("cuda: GPU %d: %v", ordinal, err)
	}
	if d.ccMaj, d.ccMin, err = dev.ComputeCapability(); err != nil {
		return context{}, fmt.Errorf("cuda: GPU %d: %v", ordinal, err)
	}
	if d.ccMaj < 7 {
		return context{}, fmt.Errorf("cuda: %s has compute capability %d.%d; gaze's kernels are built for 7.0 and newer (V100, T4, A100, H100 and later)", d.name, d.ccMaj, d.ccMin)
	}
	if d.sms, err = dev.Attribute(cu.MultiprocessorCount); err != nil {
		return context{}, fmt.Errorf("cuda: GPU %d: %v", ordinal, err)
	}
	if d.memTot, err = dev.TotalMem(); err != nil {
		return context{}, fmt.Errorf("cuda: GPU %d: %v", ordinal, err)
	}
	// cuCtxCreate makes the context current on this (locked) thread. SchedAuto spins while
	// waiting for the GPU when the machine has spare cores: the lowest latency for Sync.
	c, err := dev.MakeContext(cu.SchedAuto)
	if err != nil {
		return context{}, fmt.Errorf("cuda: creating a context on %s: %v", d.name, err)
	}
	return context{c}, nil
}

// memAlloc is cuMemAlloc; oom reports CUDA_ERROR_OUT_OF_MEMORY.
func memAlloc(bytes int64) (p uintptr, oom bool, err error) {
	dp, err := cu.MemAlloc(bytes)
	if err != nil {
		return 0, errors.Is(err, cu.OutOfMemory), err
	}
	return uintptr(dp), false, nil
}

func memFree(p uintptr) { cu.MemFree(cu.DevicePtr(p)) }

func memInfo() (free, total int64, err error) { return cu.MemInfo() }
