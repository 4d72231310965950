#!/usr/bin/env bash
# Compiles kernels/*.cu to PTX with CUDA 11.8's nvcc, for two virtual architectures, which the
# driver JIT-compiles for the GPU at hand:
#   compute_80 -> DIR/*.ptx        A100, H100 and newer (TF32 tensor cores, --precision tf32)
#   compute_70 -> DIR/sm70/*.ptx   V100 (7.0), T4 (7.5) and other 7.x GPUs
# engine/cuda loads the set that matches the GPU's compute capability (GAZE_PTX_DIR=DIR/sm70
# forces the 7.0 set on a newer GPU).
#   scripts/build-kernels.sh            rewrite the committed kernels/*.ptx and kernels/sm70/*.ptx
#   scripts/build-kernels.sh DIR        write them to DIR and DIR/sm70 instead (make kernels-check diffs DIR)
# Flags: -O3; no --use_fast_math (the float64 exp/log/sincos of the losses and the random
# projections must stay accurate); no -lineinfo (it would embed this machine's paths).
# The modules compile in parallel (two at a time by default, NVCC_JOBS to change it).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-kernels}
NVCC=${NVCC:-nvcc}
JOBS=${NVCC_JOBS:-2}
if ! command -v "$NVCC" >/dev/null 2>&1; then
	echo "build-kernels: nvcc not found; run scripts/install-cuda.sh (Debian 12, CUDA 11.8)" >&2
	exit 1
fi
mkdir -p "$out" "$out/sm70"
jobs=()
for src in kernels/*.cu; do
	name=$(basename "$src" .cu)
	jobs+=("-arch=compute_80 -o $out/$name.ptx $src" "-arch=compute_70 -o $out/sm70/$name.ptx $src")
done
printf '%s\n' "${jobs[@]}" | xargs -P "$JOBS" -I{} sh -c "\"$NVCC\" -ptx -O3 -std=c++17 {}"
# Every module must exist in both sets, and nothing else.
for f in "$out"/*.ptx "$out"/sm70/*.ptx; do
	n=$(basename "$f" .ptx)
	[ -f "kernels/$n.cu" ] || { echo "build-kernels: $f has no source kernels/$n.cu (stale file?)" >&2; exit 1; }
done
echo "build-kernels: $(ls kernels/*.cu | wc -l) modules -> $out/ (compute_80), $out/sm70/ (compute_70) ($("$NVCC" --version | tail -n 1))"
# The emulator's dispatch table (engine/cuda/emu_dispatch.cc) follows the committed PTX.
if [ "$out" = kernels ]; then
	python3 scripts/gen-emu-dispatch.py
fi
