// Package kernels holds gaze's hand-written CUDA kernels: the CUDA C sources (*.cu, one file
// per op family, extern "C" entry points) and the PTX that nvcc makes of them (`make kernels`,
// CUDA 11.8, -arch=compute_80), committed so that building with -tags cuda needs no nvcc. With
// the cuda build tag the package embeds the PTX (embed.go); engine/cuda JIT-loads it through the
// driver and launches the kernels. Without the tag the package is empty.
package kernels
