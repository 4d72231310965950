#!/usr/bin/env bash
# Every GPU check and benchmark of the CUDA device, in one run, on a machine with an NVIDIA GPU
# (compute capability ≥ 8.0), its driver, Python with PyTorch, and no Go:
#
#   scripts/gpu-bundle.sh      # on the build machine: bin/gpu/gaze, bin/gpu/cuda.test
#   scripts/gpu-check.sh       # on the GPU machine, from the repository root
#   scripts/gpu-check.sh --quick   # shorter timings, no 10 GB projection
#
# Steps (logs and JSON under $OUT, default ./gpu-check-out):
#   1. conformance: enginetest.Run on the CUDA device (every kernel vs float64 references,
#      finite-difference gradients, guard cells)                      conformance.log
#   2. cross-device: every zoo model trained a few steps on CPU and GPU, loss curves and θ
#      compared; the full-set (LCA) gradient compared; bad input; launch allocations   crossdevice.log
#   3. Go benchmarks: launch overhead, enginetest kernel benchmarks       gobench.log
#   4. gaze bench --device cuda: ResNet-20 step (batch 128), LCA gradient, per-kernel timings
#   5. bench/torch/bench.py: the same workloads in PyTorch (float32, TF32 off)
#   6. the side-by-side table with ratios                                   table.md
# The exit status is non-zero if a test failed; benchmarks still run.
set -uo pipefail
cd "$(dirname "$0")/.."
quick=""
if [ "${1:-}" = "--quick" ]; then quick="--quick"; fi
OUT=${OUT:-$PWD/gpu-check-out}
mkdir -p "$OUT"
BIN=${GAZE_BIN:-bin/gpu}
status=0
bt=1s
if [ -n "$quick" ]; then bt=300ms; fi
# lim FULL QUICK: a step's time limit; --quick keeps the whole run inside about 9 minutes even if
# a step hangs, so that it fits one call on a lent GPU machine.
lim() { if [ -n "$quick" ]; then echo "$2"; else echo "$1"; fi; }

log() { echo "== $*" | tee -a "$OUT/summary.txt"; }

for f in "$BIN/gaze" "$BIN/cuda.test"; do
	if [ ! -x "$f" ]; then
		echo "gpu-check: $f missing; build it with scripts/gpu-bundle.sh on a machine with Go" >&2
		exit 2
	fi
done
: > "$OUT/summary.txt"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
head -n 12 "$OUT/nvidia-smi.txt"

log "1. conformance suite on cuda"
timeout "$(lim 600 150)" "$BIN/cuda.test" -test.run '^TestConformance$' -test.v > "$OUT/conformance.log" 2>&1
rc=$?
grep -E '^(--- FAIL|FAIL|ok|PASS)' "$OUT/conformance.log" | head -n 40 | tee -a "$OUT/summary.txt"
echo "subtests passed: $(grep -c -- '--- PASS' "$OUT/conformance.log"), failed: $(grep -c -- '--- FAIL' "$OUT/conformance.log")" | tee -a "$OUT/summary.txt"
[ $rc = 0 ] || { status=1; log "conformance FAILED (rc $rc), see conformance.log"; }

log "2. cross-device training, LCA gradient, bad input, launch allocations"
timeout "$(lim 900 120)" "$BIN/cuda.test" -test.run 'TestTrainingMatchesCPU|TestGradientMatchesCPU|TestBadInput|TestLaunchAllocs' -test.v > "$OUT/crossdevice.log" 2>&1
rc=$?
grep -E -- '^(=== RUN|--- |\s+cuda_test.go|FAIL|ok|PASS)' "$OUT/crossdevice.log" | grep -v '=== RUN' | tee -a "$OUT/summary.txt"
[ $rc = 0 ] || { status=1; log "cross-device FAILED (rc $rc), see crossdevice.log"; }

log "3. Go benchmarks (launch overhead, enginetest kernels)"
timeout "$(lim 600 60)" "$BIN/cuda.test" -test.run '^$' -test.bench 'Launch|Kernels' -test.benchtime "$bt" > "$OUT/gobench.log" 2>&1 || true
grep -E '^Benchmark' "$OUT/gobench.log" | tee -a "$OUT/summary.txt"

log "4. gaze bench --device cuda"
timeout "$(lim 300 40)" "$BIN/gaze" bench --device cuda --models resnet20:128 --time 3s --json > "$OUT/gaze-models.json" 2> "$OUT/gaze-models.err" || { status=1; cat "$OUT/gaze-models.err"; }
lcan=50000
if [ -n "$quick" ]; then lcan=10000; fi
timeout "$(lim 600 60)" "$BIN/gaze" bench --device cuda --lca --lca-examples $lcan --lca-chunk 2500 --json > "$OUT/gaze-lca.json" 2> "$OUT/gaze-lca.err" || { status=1; cat "$OUT/gaze-lca.err"; }
timeout "$(lim 900 90)" "$BIN/gaze" bench --device cuda --kernels --time "$bt" --json > "$OUT/gaze-kernels.json" 2> "$OUT/gaze-kernels.err" || { status=1; cat "$OUT/gaze-kernels.err"; }

log "5. PyTorch"
timeout "$(lim 900 120)" python3 bench/torch/bench.py $quick > "$OUT/torch.json" 2> "$OUT/torch.err" || { echo "PyTorch benchmark failed:"; tail -n 20 "$OUT/torch.err"; }

log "6. side by side"
python3 scripts/gpu-compare.py "$OUT" | tee "$OUT/table.md"
log "done: status $status (0 = every test passed); logs in $OUT"
exit $status
