#!/usr/bin/env bash
# Issue 15 on a GPU, in one run: every check and benchmark the issue asks for, with the time
# budget of one device call, ending with one side-by-side markdown table. For a machine with an
# NVIDIA GPU (compute 7.0 or newer; the targets are for an H100), its driver, Python with
# PyTorch (CUDA build), and no Go:
#
#   scripts/gpu-bundle.sh              # on the build machine: bin/gpu/{gaze,cuda.test,data/}
#   scripts/gpu-issue15.sh             # on the GPU machine, from the repository root
#   DRY_RUN=1 scripts/gpu-bundle.sh && DRY_RUN=1 PYTHON=/usr/bin/python3 scripts/gpu-issue15.sh
#                                      # here, without a GPU: the same parts with gaze and the
#                                      # tests built for the host emulator (--device cuda,
#                                      # graphs and TF32 included), PyTorch on the CPU, tiny sizes
#
# Environment: OUT (default ./gpu-issue15-out), GAZE_GPU_BUDGET_S (default 480: the whole run,
# table included, fits one 10-minute call with the machine's start), GAZE_BIN (default bin/gpu),
# GAZE_DATA (MNIST; default bin/gpu/data), PYTHON (default python3), PARTS (comma-separated part
# names to run, e.g. PARTS=kernels,kernels-torch to complete a run in the same OUT; default all).
#
# The parts, most important first; each runs only if its estimated time is left in the budget
# (else it is recorded as SKIPPED in parts.txt and its rows read "missing"), under a time limit:
#    1. env          GPU, driver, gaze's device line                           env.txt
#    2. tests-fp32   conformance suite, CPU-vs-GPU training and full-set gradient, CUDA graphs
#                    against eager runs (bit-identical θ), bad input, launch allocations, every
#                    kernel variant through its conformance group               tests-fp32.log
#    3. step         ResNet-20 training step, batch 128: gaze with and without CUDA graphs
#                    (alternating rounds), PyTorch eager and with torch.cuda.CUDAGraph
#    4. lca-grad     ResNet-20 loss + gradient over 50,000 CIFAR-shaped images in chunks of
#                    2,500: gaze with and without graphs, PyTorch
#    5. tests-tf32   the TF32 tests (suite groups at TF32 tolerance, rounding, products)
#    6. kernels      every ResNet-20 convolution (3×3, stem, stride 2, 1×1) fwd / bwd-data /
#                    bwd-filter with every kernel variant, the dense projection (d 1,000 and
#                    10,000), the element-wise product and AddCoords; the same in PyTorch
#    7. tests-sm70   the FP32 tests with the compute 7.0 PTX forced (GAZE_PTX_DIR=kernels/sm70)
#    8. lca-tf32     LCA of MNIST-FC and of ResNet-20 (on MNIST: CIFAR-10 is not fetched here),
#                    --precision fp32 and tf32: conservation error and helped fraction
#    9. tf32-speed   ResNet-20 step with --precision tf32, and PyTorch with TF32 on
#   10. table        table.md (scripts/gpu-issue15-table.py)
# The exit status is 1 when a test suite failed (benchmarks still run), 2 when the bundle is
# missing.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-issue15-out}
BIN=${GAZE_BIN:-bin/gpu}
BUDGET=${GAZE_GPU_BUDGET_S:-480}
DRY=${DRY_RUN:-0}
PY=${PYTHON:-python3}
DATA=${GAZE_DATA:-$BIN/data}
RESERVE=15 # seconds kept for the table
mkdir -p "$OUT"
T0=$(date +%s)
# The driver's JIT cache keeps the SASS of both PTX sets between the processes of the run.
export CUDA_CACHE_MAXSIZE=${CUDA_CACHE_MAXSIZE:-4294967296}

DEV=cuda
if [ "$DRY" = 1 ]; then
	# The emulator runs every kernel one thread at a time: tiny sizes, a small model for the step.
	GAZE=$BIN/gaze-emu TEST=$BIN/cuda-emu.test
	TORCH=(--device cpu --tiny)
	STEP_MODEL=mnist-fc:64 STEP_TIME=200ms LCA_N=8 LCA_CHUNK=4 KTIME=1ms KFILTER=(--filter c3_32x32_k16,mul/D,addcoords/n128)
	PAT_FP32='^(TestConformance|TestBadInput|TestLaunchAllocs|TestFastDiv|TestModulesDeclared|TestGraphReplay|TestGraphStale|TestCaptureRefusesHost)$'
	# ResNet-20 on synthetic 8×8 data with Simpson's n capped at 2: the emulator needs about 20 s
	# per gradient of 10 MNIST-sized examples, and MNIST's 10,000 test images would take hours.
	MNIST_ARGS=(--data mnist --data-dir "$DATA" --held-out 59000 --lca-examples 300 --batch 250)
	RESNET_ARGS=(--data synthetic --synthetic 20x1x8x8 --classes 10 --lca-examples 10 --lca-batch 10 --batch 10 --max-n 2)
	CMD_LIM=900
else
	GAZE=$BIN/gaze TEST=$BIN/cuda.test
	TORCH=()
	STEP_MODEL=resnet20:128 STEP_TIME=2s LCA_N=50000 LCA_CHUNK=2500 KTIME=100ms KFILTER=()
	PAT_FP32='^(TestConformance|TestTrainingMatchesCPU|TestGradientMatchesCPU|TestBadInput|TestLaunchAllocs|TestFastDiv|TestModulesDeclared|TestGraphsMatchEager|TestGradientGraphMatchesEager|TestGraphReplay|TestGraphStale|TestCaptureRefusesHost|TestVariants)$'
	MNIST_ARGS=(--data mnist --data-dir "$DATA" --lca-examples 10000 --batch 250)
	RESNET_ARGS=(--data mnist --data-dir "$DATA" --held-out 50000 --lca-examples 2500 --batch 128)
	CMD_LIM=120 # seconds for one command of a part (one benchmark, one LCA run)
fi
for f in "$GAZE" "$TEST"; do
	# The bundle may travel compressed (gpu-bundle.sh writes both forms).
	if [ -f "$f.gz" ] && { [ ! -x "$f" ] || [ "$f.gz" -nt "$f" ]; }; then
		gunzip -c "$f.gz" > "$f" && chmod +x "$f"
	fi
	if [ ! -x "$f" ]; then
		echo "gpu-issue15: $f missing; build it with ${DRY:+DRY_RUN=$DRY }scripts/gpu-bundle.sh on a machine with Go" >&2
		exit 2
	fi
done

now() { date +%s; }
left() { echo $((BUDGET - RESERVE - ($(now) - T0))); }
log() { echo "[$(($(now) - T0))s] $*" | tee -a "$OUT/summary.txt"; }
if [ -z "${PARTS:-}" ]; then # a run of some parts adds to an earlier run's files
	: > "$OUT/summary.txt"
	: > "$OUT/parts.txt"
fi
echo "$BUDGET" > "$OUT/budget.txt"
status=0
LIM=60

# part NAME EST CAP FUNCTION: runs FUNCTION when EST seconds are left, with LIM = the seconds it
# may take (CAP, or less when the budget is shorter), and records the outcome in parts.txt.
part() {
	local name=$1 est=$2 cap=$3 fn=$4 l t0 rc
	if [ -n "${PARTS:-}" ] && [[ ",$PARTS," != *",$name,"* ]]; then
		return
	fi
	l=$(left)
	if [ "$l" -lt "$est" ]; then
		log "SKIPPED $name: ${l}s left of the budget, it needs about ${est}s"
		echo "$name SKIPPED (${l}s left, needs ${est}s)" >> "$OUT/parts.txt"
		return
	fi
	LIM=$((cap < l ? cap : l))
	log "$name (limit ${LIM}s)"
	t0=$(now)
	"$fn"
	rc=$?
	echo "$name rc=$rc $(($(now) - t0))s" >> "$OUT/parts.txt"
	log "$name done: rc $rc, $(($(now) - t0))s"
}

# lim SECONDS: the time limit of one command of a part, never more than the part's.
lim() { echo $(($1 < LIM ? $1 : LIM)); }
T() { timeout -k 5 "$@"; }

# tests LOG PATTERN: a test run whose pass/fail counts go to the summary and the exit status.
tests() {
	local logf=$1 pat=$2
	shift 2
	T "$LIM" "$@" "$TEST" -test.run "$pat" -test.v > "$OUT/$logf" 2>&1
	local rc=$?
	echo "$logf: rc $rc, passed $(grep -c -- '--- PASS' "$OUT/$logf"), failed $(grep -c -- '--- FAIL' "$OUT/$logf"), skipped $(grep -c -- '--- SKIP' "$OUT/$logf")" | tee -a "$OUT/summary.txt"
	grep -- '--- FAIL' "$OUT/$logf" | head -n 10 | tee -a "$OUT/summary.txt"
	if [ $rc != 0 ]; then status=1; fi
	return $rc
}

p_env() {
	{
		if [ "$DRY" = 1 ]; then
			echo "DRY RUN on $(hostname): gaze and the CUDA tests on the host emulator, PyTorch on the CPU; the numbers mean nothing"
		else
			nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 | sed 's/^/GPU: /'
		fi
		# The first process JIT-compiles the PTX set (the driver caches it for the later ones).
		echo "gaze: $(T "$(lim 180)" "$GAZE" devices 2>&1 | tr '\n' ' ')"
		echo "bundle: $(cat "$BIN/BUILD" 2>/dev/null || echo 'no bin/gpu/BUILD')"
	} > "$OUT/env.txt" 2>&1
	nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
	cat "$OUT/env.txt"
}

p_tests_fp32() { tests tests-fp32.log "$PAT_FP32"; }
p_tests_tf32() { tests tests-tf32.log 'TF32'; }
p_tests_sm70() { GAZE_PTX_DIR=kernels/sm70 tests tests-sm70.log "$PAT_FP32"; }

p_step() {
	local r
	for r in 1 2; do
		GAZE_CUDA_GRAPHS=1 T "$(lim "$CMD_LIM")" "$GAZE" bench --device "$DEV" --models "$STEP_MODEL" --time "$STEP_TIME" --json > "$OUT/step-graphs-$r.json" 2>> "$OUT/step.log"
		GAZE_CUDA_GRAPHS=0 T "$(lim "$CMD_LIM")" "$GAZE" bench --device "$DEV" --models "$STEP_MODEL" --time "$STEP_TIME" --json > "$OUT/step-eager-$r.json" 2>> "$OUT/step.log"
		echo "round $r: graphs $(grep -o '"step_ms": [0-9.]*' "$OUT/step-graphs-$r.json") (used: $(grep -o '"graphs": [a-z]*' "$OUT/step-graphs-$r.json")), without $(grep -o '"step_ms": [0-9.]*' "$OUT/step-eager-$r.json")" | tee -a "$OUT/summary.txt"
	done
}

p_step_torch() { T "$LIM" "$PY" bench/torch/bench.py --parts step --quick "${TORCH[@]}" > "$OUT/torch-step.json" 2> "$OUT/torch-step.log"; }

p_lca_grad() {
	GAZE_CUDA_GRAPHS=1 T "$(lim "$CMD_LIM")" "$GAZE" bench --device "$DEV" --lca --lca-examples "$LCA_N" --lca-chunk "$LCA_CHUNK" --json > "$OUT/lca-grad-graphs.json" 2>> "$OUT/lca-grad.log"
	GAZE_CUDA_GRAPHS=0 T "$(lim "$CMD_LIM")" "$GAZE" bench --device "$DEV" --lca --lca-examples "$LCA_N" --lca-chunk "$LCA_CHUNK" --json > "$OUT/lca-grad-eager.json" 2>> "$OUT/lca-grad.log"
	grep -h '"seconds"' "$OUT"/lca-grad-*.json | tee -a "$OUT/summary.txt"
}

p_lca_grad_torch() {
	local n=(--lca-examples "$LCA_N")
	T "$LIM" "$PY" bench/torch/bench.py --parts lca "${n[@]}" "${TORCH[@]}" > "$OUT/torch-lca.json" 2> "$OUT/torch-lca.log"
}

p_kernels() {
	T "$LIM" "$GAZE" bench --device "$DEV" --kernels --variants --time "$KTIME" "${KFILTER[@]}" --json > "$OUT/kernels.json" 2> "$OUT/kernels.log"
}

p_kernels_torch() {
	T "$LIM" "$PY" bench/torch/bench.py --parts kernels --min-time 0.3 "${KFILTER[@]}" "${TORCH[@]}" > "$OUT/torch-kernels.json" 2> "$OUT/torch-kernels.log"
}

# lcarun RECIPE PRECISION ARGS...: one LCA run into lca-RECIPE-PRECISION (a fresh folder).
lcarun() {
	local recipe=$1 p=$2
	shift 2
	local dir="$OUT/lca-$recipe-$p"
	rm -rf "$dir"
	T "$(lim "$CMD_LIM")" "$GAZE" lca train --device "$DEV" --precision "$p" --epochs 1 --seed 1 \
		--quiet --no-report --out "$dir" "$@" > "$OUT/lca-$recipe-$p.log" 2>&1
	echo "lca $recipe $p: rc $?, $(($(wc -l < "$dir/losses.csv" 2>/dev/null || echo 1) - 1)) iterations" | tee -a "$OUT/summary.txt"
}

p_lca_mnist() {
	echo "MNIST-FC (784-100-50-10), SGD 0.01 momentum 0.9, 1 epoch, ${MNIST_ARGS[*]}" > "$OUT/lca-mnist-fc.txt"
	lcarun mnist-fc fp32 --model mnist-fc "${MNIST_ARGS[@]}"
	lcarun mnist-fc tf32 --model mnist-fc "${MNIST_ARGS[@]}"
}

p_lca_resnet() {
	echo "ResNet-20 (CIFAR-10 is not on the machine), SGD 0.05 momentum 0.9, 1 epoch, ${RESNET_ARGS[*]}" > "$OUT/lca-resnet20.txt"
	lcarun resnet20 fp32 --model resnet20 --lr 0.05 "${RESNET_ARGS[@]}"
	lcarun resnet20 tf32 --model resnet20 --lr 0.05 "${RESNET_ARGS[@]}"
}

p_tf32_speed() {
	T "$(lim "$CMD_LIM")" "$GAZE" bench --device "$DEV" --precision tf32 --models "$STEP_MODEL" --time "$STEP_TIME" --json > "$OUT/step-tf32-1.json" 2> "$OUT/tf32-speed.log"
	T "$(lim "$CMD_LIM")" "$PY" bench/torch/bench.py --parts step --quick --tf32 "${TORCH[@]}" > "$OUT/torch-step-tf32.json" 2>> "$OUT/tf32-speed.log"
}

if [ "$DRY" = 1 ]; then
	# The emulator and the CPU are slower than the GPU by orders of magnitude: estimates and caps
	# for the dry run (a check of the plumbing, not of the numbers).
	part env 5 60 p_env
	part tests-fp32 30 600 p_tests_fp32
	part step 20 300 p_step
	part step-torch 20 300 p_step_torch
	part lca-grad 20 300 p_lca_grad
	part lca-grad-torch 10 300 p_lca_grad_torch
	part tests-tf32 30 600 p_tests_tf32
	part kernels 20 900 p_kernels
	part kernels-torch 20 300 p_kernels_torch
	part tests-sm70 30 600 p_tests_sm70
	part lca-mnist 20 1200 p_lca_mnist
	part lca-resnet 20 1800 p_lca_resnet
	part tf32-speed 20 600 p_tf32_speed
else
	part env 5 200 p_env
	part tests-fp32 60 150 p_tests_fp32
	part step 25 100 p_step
	part step-torch 25 90 p_step_torch
	part lca-grad 20 120 p_lca_grad
	part lca-grad-torch 15 90 p_lca_grad_torch
	part tests-tf32 15 90 p_tests_tf32
	part kernels 60 150 p_kernels
	part kernels-torch 35 120 p_kernels_torch
	part tests-sm70 50 150 p_tests_sm70
	part lca-mnist 25 120 p_lca_mnist
	part lca-resnet 40 150 p_lca_resnet
	part tf32-speed 25 90 p_tf32_speed
fi

log "table"
"$PY" scripts/gpu-issue15-table.py "$OUT" > "$OUT/table.md" 2> "$OUT/table.log" || { status=1; cat "$OUT/table.log"; }
cat "$OUT/table.md"
log "done: status $status (0 = every test suite that ran passed); table, logs and JSON in $OUT"
exit $status
