#!/usr/bin/env bash
# Builds, on a machine with Go and the CUDA 11.8 headers (scripts/install-cuda.sh) but no GPU,
# everything scripts/gpu-issue15.sh (and scripts/gpu-check.sh, which runs it) needs on a GPU
# machine that has no Go:
#   bin/gpu/gaze       gaze built with -tags cuda (both PTX sets embedded)
#   bin/gpu/cuda.test  engine/cuda's tests: conformance (FP32, TF32), CPU-vs-GPU training, CUDA
#                      graphs, variants, bad input, benchmarks
#   bin/gpu/data/      MNIST (the IDX files, through the Go module proxy) for the LCA runs
#   bin/gpu/BUILD      the commit and build time
#   bin/gpu/gaze.gz, bin/gpu/cuda.test.gz   the two binaries compressed (about 17 MB with the
#                      data about 29 MB: small enough to carry to a lent GPU machine);
#                      scripts/gpu-issue15.sh unpacks them when the binaries are missing
# With DRY_RUN=1 also, for the script's dry run here (no GPU, no libcuda.so.1 needed):
#   bin/gpu/gaze-emu       gaze whose cuda device is the host emulator (-tags cuda,cudaemu)
#   bin/gpu/cuda-emu.test  engine/cuda's tests on the host emulator
# The CUDA binaries link only libc and the driver's libcuda.so.1 (glibc ≥ 2.34 on the GPU
# machine). Carry bin/gpu (and the repository, for kernels/sm70 and the scripts) to the GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin/gpu
go build -tags cuda -trimpath -ldflags "-s -w" -o bin/gpu/gaze ./cmd/gaze
go test -c -tags cuda -trimpath -ldflags "-s -w" -o bin/gpu/cuda.test ./engine/cuda
if [ ! -f bin/gpu/data/train-images-idx3-ubyte.gz ]; then
	GAZE_DATA=bin/gpu/data go run ./cmd/gaze data mnist
fi
if [ "${DRY_RUN:-0}" = 1 ]; then
	export CGO_CXXFLAGS="-O1 -DGZ_KERNELS=$(cat kernels/*.cu kernels/*.cuh kernels/emu.h | sha1sum | cut -c1-16)"
	go build -tags cuda,cudaemu -trimpath -o bin/gpu/gaze-emu ./cmd/gaze
	go test -c -tags cuda,cudaemu -trimpath -o bin/gpu/cuda-emu.test ./engine/cuda
fi
echo "$(git describe --always --dirty 2>/dev/null || echo unknown) built $(date -u +%Y-%m-%dT%H:%M:%SZ)" > bin/gpu/BUILD
gzip -9 -k -f bin/gpu/gaze bin/gpu/cuda.test
ls -la bin/gpu bin/gpu/data
du -sh bin/gpu
