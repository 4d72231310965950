#!/usr/bin/env bash
# Every GPU check and benchmark of the CUDA device, in one run: scripts/gpu-issue15.sh (see
# there: the conformance suite in FP32, TF32 and with the compute 7.0 PTX, CPU-against-GPU
# training, CUDA graphs against eager runs, the ResNet-20 step and LCA gradient against PyTorch
# eager and with CUDA graphs, every ResNet-20 convolution and its kernel variants against cuDNN,
# the memory-bound kernels, TF32's effect on LCA, and the side-by-side table), within
# GAZE_GPU_BUDGET_S seconds (default 480).
#
#   scripts/gpu-bundle.sh      # on the build machine: bin/gpu/{gaze,cuda.test,data}
#   scripts/gpu-check.sh       # on the GPU machine, from the repository root; OUT=... for the logs
#   scripts/gpu-check.sh --quick   # a shorter budget (240 s): the first parts only
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--quick" ]; then
	export GAZE_GPU_BUDGET_S=${GAZE_GPU_BUDGET_S:-240}
fi
export OUT=${OUT:-$PWD/gpu-check-out}
exec scripts/gpu-issue15.sh
