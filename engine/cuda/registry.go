//go:build cuda

package cuda

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gazeml/gaze/kernels"
)

// Every kernel the device launches is declared once in Go, as a package variable made by declare
// beside the launchers that use it: engine/cuda/X.go declares the kernels of kernels/X.cu under
// their full names (variants such as the GEMM tiles are written out, not assembled from parts).
// The declarations are the list loading checks the PTX against, so a kernel missing from its
// module (a stale PTX, or a GAZE_PTX_DIR built from other sources) fails Open with its name, and
// TestModulesDeclared fails on a PTX entry point that no Go code declares.

// kernelID is a declared kernel's index into Device.kern.
type kernelID int32

// kernelDecl is one declared kernel: the module (the stem of kernels/<module>.cu and .ptx) and
// the entry point's name.
type kernelDecl struct{ module, name string }

// declared lists every kernel in declaration order; a kernelID indexes it. It has no initialiser,
// so it is ready before the package variables that call declare are initialised.
var declared []kernelDecl

// declare registers kernel name of kernels/<module>.cu and returns its handle.
func declare(module, name string) kernelID {
	declared = append(declared, kernelDecl{module, name})
	return kernelID(len(declared) - 1)
}

// loadKernels loads every declared kernel from the PTX modules (the embedded set for the GPU's
// compute capability, or those in $GAZE_PTX_DIR) into d.kern. It runs on the worker thread, with
// the context current, after openGPU has read the compute capability.
func (d *Device) loadKernels() error {
	set, err := kernels.SetFor(d.ccMaj, d.ccMin)
	if err != nil {
		return fmt.Errorf("cuda: %s: %w", d.name, err)
	}
	d.ptxSet = set
	mods, err := kernels.Modules(set)
	if err != nil {
		return err
	}
	if os.Getenv(kernels.PTXDirEnv) != "" {
		d.ptxSet = "from " + kernels.PTXDirEnv
	}
	// A set built for less than compute 8.0 has no TF32 tensor-core code (precision.go).
	for _, m := range mods {
		if sm, err := strconv.Atoi(strings.TrimPrefix(m.Target, "sm_")); err != nil || sm < 80 {
			d.ptxOld = true
		}
	}
	byName := make(map[string]kernels.Module, len(mods))
	for _, m := range mods {
		byName[m.Name] = m
	}
	where := "the embedded PTX; rebuild it with `make kernels`"
	if dir := os.Getenv(kernels.PTXDirEnv); dir != "" {
		where = fmt.Sprintf("the PTX in %s=%s", kernels.PTXDirEnv, dir)
	}
	// The declared kernels by module, in declaration order.
	var order []string
	ids := map[string][]kernelID{}
	for id, k := range declared {
		if ids[k.module] == nil {
			order = append(order, k.module)
		}
		ids[k.module] = append(ids[k.module], kernelID(id))
	}
	d.kern = make([]*kernel, len(declared))
	for _, module := range order {
		m, ok := byName[module]
		if !ok {
			return fmt.Errorf("cuda: module %s.ptx (kernels/%s.cu) is missing from %s", module, module, where)
		}
		entries := make(map[string]bool, len(m.Entries))
		for _, e := range m.Entries {
			entries[e] = true
		}
		names := make([]string, len(ids[module]))
		for i, id := range ids[module] {
			names[i] = declared[id].name
			if !entries[names[i]] {
				return fmt.Errorf("cuda: kernel %s of kernels/%s.cu is missing from %s", names[i], module, where)
			}
		}
		ks, err := loadModule(module+".ptx", m.PTX, names)
		if err != nil {
			return err
		}
		for i, id := range ids[module] {
			d.kern[id] = ks[names[i]]
		}
	}
	return nil
}
