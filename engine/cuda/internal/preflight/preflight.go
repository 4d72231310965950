//go:build cuda

// Package preflight checks, before gorgonia.org/cu's package initialisation does, that the CUDA
// driver can start. cu's init calls cuInit and, when that fails, prints a terse code and exits;
// this package is initialised first (Go initialises independent packages in import-path order,
// and github.com/… sorts before gorgonia.org/…), so a CUDA build started on a machine without a
// GPU says what is wrong and what to do instead.
package preflight

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>
static const char *gz_pf_name(CUresult r) {
	const char *s = 0;
	if (cuGetErrorName(r, &s) != CUDA_SUCCESS || s == 0) return "CUDA_ERROR_UNKNOWN";
	return s;
}
static const char *gz_pf_desc(CUresult r) {
	const char *s = 0;
	if (cuGetErrorString(r, &s) != CUDA_SUCCESS || s == 0) return "unknown error";
	return s;
}
*/
import "C"

import (
	"fmt"
	"os"
)

func init() {
	r := C.cuInit(0)
	if r == C.CUDA_SUCCESS {
		return
	}
	fmt.Fprintf(os.Stderr, "gaze: this is the CUDA build of gaze (built with -tags cuda) and needs an NVIDIA GPU with its driver,\n"+
		"but the driver did not start: cuInit: %s (%d): %s.\n"+
		"In Docker, run with --gpus all (NVIDIA container toolkit); on a machine without a GPU, use a gaze built without -tags cuda (--device cpu).\n",
		C.GoString(C.gz_pf_name(r)), int(r), C.GoString(C.gz_pf_desc(r)))
	os.Exit(1)
}
