#!/usr/bin/env bash
# Builds, on a machine with Go and the CUDA 11.8 headers (scripts/install-cuda.sh) but no GPU,
# everything scripts/gpu-check.sh runs on a GPU machine that has no Go:
#   bin/gpu/gaze       gaze built with -tags cuda
#   bin/gpu/cuda.test  engine/cuda's tests: conformance suite, CPU-vs-GPU training, bad input, benchmarks
# The binaries link only libc and the driver's libcuda.so.1 (glibc ≥ 2.34 on the GPU machine).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin/gpu
go build -tags cuda -trimpath -ldflags "-s -w" -o bin/gpu/gaze ./cmd/gaze
go test -c -tags cuda -trimpath -ldflags "-s -w" -o bin/gpu/cuda.test ./engine/cuda
ls -la bin/gpu
