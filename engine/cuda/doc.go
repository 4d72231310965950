// Package cuda is gaze's CUDA device (build tag cuda): hand-written kernels (package kernels,
// PTX embedded and JIT-compiled by the driver), no cuDNN or cuBLAS, so a binary links only the
// driver's libcuda.so.1. Without the cuda tag the package is empty and engine.Open("cuda")
// answers that the build has no CUDA support.
//
// The Device holds only the computation and trusts its arguments beyond what it alone can judge
// (its buffers' type, the kernels' 32-bit sizes, grid limits): engine.Open("cuda") returns it
// behind engine's argument-checking layer (engine.Checked), which validates every call's shapes
// and lengths first. Open returns the raw device, for Close and MemInfo.
package cuda
