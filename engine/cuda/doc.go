// Package cuda is gaze's CUDA device (build tag cuda): hand-written kernels (package kernels,
// PTX embedded and JIT-compiled by the driver), no cuDNN or cuBLAS, so a binary links only the
// driver's libcuda.so.1. Without the cuda tag the package is empty and engine.Open("cuda")
// answers that the build has no CUDA support.
package cuda
