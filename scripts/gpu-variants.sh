#!/usr/bin/env bash
# Kernel variants side by side on a GPU machine without Go: one gaze binary (scripts/gpu-bundle.sh),
# several PTX folders (scripts/build-kernels.sh DIR for each variant of kernels/*.cu with the same
# kernel signatures), loaded through GAZE_PTX_DIR. For each variant: the GPU tests (conformance,
# CPU-vs-GPU training and gradient, bad input), then ResNet-20 steps in alternating rounds, the
# LCA gradient and the kernel benchmarks, one PyTorch run, and a side-by-side table per variant.
#
#   scripts/gpu-variants.sh ptx/old ptx/new        # logs and tables under $OUT (default ./gpu-variants-out)
#
# The name "embedded" stands for the PTX built into the binary.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-variants-out}
BIN=${GAZE_BIN:-bin/gpu}
mkdir -p "$OUT"
[ $# -ge 1 ] || { echo "usage: $0 PTXDIR|embedded ..." >&2; exit 2; }
T0=$(date +%s)
el() { echo "[$(($(date +%s) - T0))s] $*" | tee -a "$OUT/log.txt"; }
tag() { basename "$1"; }
with() { # variant, command...
	local v=$1
	shift
	if [ "$v" = embedded ]; then "$@"; else GAZE_PTX_DIR=$v "$@"; fi
}
status=0
for v in "$@"; do
	t=$(tag "$v")
	el "tests, $t"
	with "$v" timeout 120 "$BIN/cuda.test" -test.run 'TestConformance|TestTrainingMatchesCPU|TestGradientMatchesCPU|TestFastDiv|TestBadInput|TestLaunchAllocs' -test.v > "$OUT/tests-$t.log" 2>&1
	rc=$?
	echo "$t: rc $rc, passed $(grep -c -- '--- PASS' "$OUT/tests-$t.log"), failed $(grep -c -- '--- FAIL' "$OUT/tests-$t.log")" | tee -a "$OUT/log.txt"
	grep -- '--- FAIL' "$OUT/tests-$t.log" | head -n 10 | tee -a "$OUT/log.txt"
	[ $rc = 0 ] || status=1
done
el "ResNet-20 training step, batch 128, alternating rounds"
for r in 1 2; do
	for v in "$@"; do
		t=$(tag "$v")
		with "$v" timeout 60 "$BIN/gaze" bench --device cuda --models resnet20:128 --time 2s --json > "$OUT/r20-$t-$r.json" 2>> "$OUT/err.txt"
		echo "round $r $t: $(python3 -c "import json;print(round(json.load(open('$OUT/r20-$t-$r.json'))[0]['step_ms'], 3), 'ms')" 2>&1 | tail -n 1)" | tee -a "$OUT/log.txt"
	done
done
for v in "$@"; do
	t=$(tag "$v")
	mkdir -p "$OUT/cmp-$t"
	cp "$OUT/r20-$t-2.json" "$OUT/cmp-$t/gaze-models.json"
	with "$v" timeout 120 "$BIN/gaze" bench --device cuda --lca --lca-examples 10000 --lca-chunk 2500 --json > "$OUT/cmp-$t/gaze-lca.json" 2>> "$OUT/err.txt"
	with "$v" timeout 300 "$BIN/gaze" bench --device cuda --kernels --time 200ms --json > "$OUT/cmp-$t/gaze-kernels.json" 2>> "$OUT/err.txt"
	el "benchmarks $t done"
done
timeout 300 python3 bench/torch/bench.py --quick > "$OUT/torch.json" 2>> "$OUT/err.txt"
for v in "$@"; do
	t=$(tag "$v")
	cp "$OUT/torch.json" "$OUT/cmp-$t/"
	python3 scripts/gpu-compare.py "$OUT/cmp-$t" > "$OUT/table-$t.md" 2>&1
done
el "done: status $status (0 = every variant passed its tests); tables in $OUT/table-*.md"
exit $status
