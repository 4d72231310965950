#!/bin/bash
# The sparse and Fastfood products before and after this stop's kernels (FWHT, SpMV, Gather on
# AVX-512), and the dense product at 199,210 x 500 against numpy, alternated in one run.
# Usage, from the repository root: bash bench/results/cpu-2026-12-04/projection-3/run.sh OLD NEW
# where OLD is a gaze binary built from main before them (7790f00) and NEW one from after.
set -eu
OLD=$1 NEW=$2
R=bench/results/cpu-2026-12-04/projection-3
{ date -u; nproc; grep -m1 'model name' /proc/cpuinfo; uptime; } > $R/machine.txt
: > $R/sparse-fastfood.txt
for round in 1 2; do
	for t in 2 1; do
		for b in OLD NEW; do
			echo "== round $round, GOMAXPROCS=$t, $b" >> $R/sparse-fastfood.txt
			GOMAXPROCS=$t ${!b} bench --projection --proj-kinds sparse,fastfood --stream-mb 0 --time 2s >> $R/sparse-fastfood.txt 2>&1
		done
	done
done
: > $R/fc200-d500-alternating.txt
for round in 1 2 3 4 5; do
	uptime >> $R/fc200-d500-alternating.txt
	$NEW bench --projection --proj-kinds dense --filter mnist-fc-200/d500 --stream-mb 0 --time 2s >> $R/fc200-d500-alternating.txt 2>&1
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch/projection_cpu.py --impls numpy \
		--filter mnist-fc-200/d500 --stream-mb 0 --time 2 >> $R/fc200-d500-alternating.txt 2>&1
done
go test ./engine/cpu -run '^$' -bench FWHT -benchtime 300x -count 3 > $R/bench-fwht.txt 2>&1
uptime >> $R/machine.txt
