#!/bin/sh
# Alternates, shape by shape and round by round, the dense projection's step (forward + transpose)
# in gaze before this branch (GAZE_OLD), gaze after it (GAZE_NEW) and numpy, so that on a shared
# machine the three see the same load; the order of the three rotates every round. Prints one
# line per measurement: round shape impl fwd_ms transpose_ms step_ms.
#
#	GAZE_OLD=/tmp/gaze-old GAZE_NEW=/tmp/gaze-new sh interleave.sh ROUNDS [FIRST] >> interleave.tsv
#
# (run from the repository root; FIRST numbers the first round, 1 by default, so that later
# batches append to the same file; SHAPES, a space-separated list, replaces the five shapes).
set -eu
rounds=${1:-3}
first=${2:-1}
py="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/torch/projection_cpu.py"
for r in $(seq "$first" $((first + rounds - 1))); do
	for s in ${SHAPES:-mnist-fc-200/d500 mnist-fc-200/d750 mnist-fc-200/d1000 lenet5/d300 lenet5/d1000}; do
		case $(( r % 3 )) in
		0) order="old new numpy" ;;
		1) order="new numpy old" ;;
		2) order="numpy old new" ;;
		esac
		for impl in $order; do
			case $impl in
			old) line=$($GAZE_OLD bench --projection --proj-kinds dense --stream-mb 0 --time 1s --filter "$s" | grep -E '^dense +(mnist|lenet)') ;;
			new) line=$($GAZE_NEW bench --projection --proj-kinds dense --stream-mb 0 --time 1s --filter "$s" | grep -E '^dense +(mnist|lenet)') ;;
			numpy) line=$($py --impls numpy --stream-mb 0 --time 1 --filter "$s" | grep -E '^numpy +(mnist|lenet)') ;;
			esac
			echo "$line" | awk -v r="$r" -v s="$s" -v i="$impl" '{print r "\t" s "\t" i "\t" $5 "\t" $6 "\t" $7}'
		done
	done
done
