#!/usr/bin/env bash
# The CoordConv protocol (#5) at full length on a GPU machine, JOBS runs at a time (default 1):
# CoordConv classification (lr 0.001 and 0.005, 3 seeds, both splits), the deconv painter's
# lr × fs × m sweep, rendering with both models, regression with both models. One seed per run;
# every run stops (SIGINT, finished epochs kept) at the common deadline SECS (default 300) after
# the start. Keep JOBS at 1: on an H100 eight runs at once (no MPS) each took 13× a solo run's
# time per epoch, slower in total than one after another. Writes $OUT/runs/*, $OUT/table.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-coordconv-sweep-out}
BIN=${GAZE_BIN:-bin/gpu}
DEVICE=${DEVICE:-cuda}
mkdir -p "$OUT/runs"
deadline=$(( $(date +%s) + ${SECS:-300} ))
export OUT BIN DEVICE deadline

jobs() {
	for split in quadrant uniform; do
		for s in 0 1 2; do echo "class-$split-cc-lr0.001-s$s --task classification --split $split --model coordconv --lr 0.001 --epochs 60 --seed $s"; done
	done
	echo "render-uniform-cc-s0 --task rendering --split uniform --model coordconv --epochs 50 --seed 0"
	for split in quadrant uniform; do echo "render-$split-conv-s0 --task rendering --split $split --model conv --epochs 50 --seed 0"; done
	for lr in 0.001 0.002 0.005; do
		for fs in 3 4; do
			for m in 1 2; do echo "class-uniform-conv-lr$lr-fs$fs-m$m --task classification --split uniform --model conv --lr $lr --fs $fs --mul $m --epochs 60 --seed 0"; done
		done
	done
	for fs in 3 4; do
		for m in 1 2; do echo "class-quadrant-conv-lr0.002-fs$fs-m$m --task classification --split quadrant --model conv --lr 0.002 --fs $fs --mul $m --epochs 60 --seed 0"; done
	done
	for split in quadrant uniform; do
		for s in 0 1 2; do echo "class-$split-cc-lr0.005-s$s --task classification --split $split --model coordconv --lr 0.005 --epochs 60 --seed $s"; done
		for s in 0 1 2; do echo "reg-$split-cc-s$s --task regression --split $split --model coordconv --epochs 20 --seed $s"; done
		echo "reg-$split-conv-s0 --task regression --split $split --model conv --epochs 30 --seed 0"
	done
	for s in 1 2; do echo "render-quadrant-cc-s$s --task rendering --split quadrant --model coordconv --epochs 50 --seed $s"; done
}

one() {
	name=$1
	shift
	rem=$(( deadline - $(date +%s) ))
	if [ "$rem" -lt 5 ]; then echo "$name: not started (deadline)"; return 0; fi
	timeout -s INT "$rem" "$BIN/gaze" coordconv run --device "$DEVICE" --seeds 1 "$@" --out "$OUT/runs/$name" > "$OUT/runs/$name.log" 2>&1
	echo "$name: rc $? $(tail -n 1 "$OUT/runs/$name.log")"
}
export -f one
jobs | xargs -P "${JOBS:-1}" -L 1 bash -c 'one $0 "$@"' | tee "$OUT/jobs.txt"
done=$(for f in "$OUT"/runs/*/result.json; do [ -f "$f" ] && dirname "$f"; done)
# shellcheck disable=SC2086 # one folder per line, no spaces in the names above
"$BIN/gaze" coordconv table $done > "$OUT/table.txt" 2>&1
cat "$OUT/table.txt"
