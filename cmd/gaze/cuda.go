//go:build cuda

package main

// The CUDA build (go build -tags cuda) registers the "cuda" device. Such a binary needs the
// NVIDIA driver's libcuda.so.1 at run time; gorgonia.org/cu initialises the driver when the
// program starts, so a CUDA build of gaze runs only on machines with an NVIDIA GPU and driver
// (build without the tag for CPU-only machines).
import _ "github.com/gazeml/gaze/engine/cuda"
