#!/usr/bin/env bash
# Compiles kernels/*.cu to PTX (CUDA 11.8's nvcc, virtual architecture compute_80: the driver
# JIT-compiles it for A100, H100 and newer GPUs) into the given directory (default kernels/).
#   scripts/build-kernels.sh            rewrite the committed kernels/*.ptx
#   scripts/build-kernels.sh DIR        write them to DIR instead (make kernels-check diffs DIR)
# Flags: -O3; no --use_fast_math (the float64 exp/log/sincos of the losses and the random
# projections must stay accurate); no -lineinfo (it would embed this machine's paths).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-kernels}
NVCC=${NVCC:-nvcc}
if ! command -v "$NVCC" >/dev/null 2>&1; then
	echo "build-kernels: nvcc not found; run scripts/install-cuda.sh (Debian 12, CUDA 11.8)" >&2
	exit 1
fi
mkdir -p "$out"
for src in kernels/*.cu; do
	name=$(basename "$src" .cu)
	"$NVCC" -arch=compute_80 -ptx -O3 -std=c++17 -o "$out/$name.ptx" "$src"
done
echo "build-kernels: $(ls kernels/*.cu | wc -l) modules -> $out/ ($("$NVCC" --version | tail -n 1))"
# The emulator's dispatch table (engine/cuda/emu_dispatch.cc) follows the committed PTX.
if [ "$out" = kernels ]; then
	python3 scripts/gen-emu-dispatch.py
fi
