#!/bin/bash
# Window LCA against per-iteration LCA with the paper's LCA set, the whole training split
# (--lca-examples 0: 60,000 examples), mnist-fc on make run's recipe for one epoch (240 iterations),
# K = 10. Rounds in ABBA order (window, per-iteration, per-iteration, window, ...) so that a load
# that drifts over the run does not favour one side. From the repository root, MNIST in $GAZE_DATA
# (default data), the binary in $GAZE (default bin/gaze, built by make build):
#   bash bench/results/cpu-2026-12-04/lca-scale/fullsplit/run.sh [ROUNDS]
set -eu
R=bench/results/cpu-2026-12-04/lca-scale/fullsplit
D=${GAZE_DATA:-data}
G=${GAZE:-bin/gaze}
ROUNDS=${1:-2}
W=$(mktemp -d)
trap 'rm -rf $W' EXIT
: > $R/times.txt
TIMEFORMAT='%R %U %S'
one() { # $1 = step|win10, $2 = round
  local args=(lca train --lca-examples 0 --no-report --quiet --model mnist-fc --data mnist --data-dir $D --epochs 1)
  [ $1 = win10 ] && args+=(--lca-every 10)
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  local t; t=$( { time $G "${args[@]}" --out $W/$1-$2 > $R/$1-$2.log 2>&1; } 2>&1 )
  set -- $1 $2 $t
  echo "$1 round $2: wall $3 s, cpu $(echo "$4 + $5" | bc) s, load before $load; $(grep -o 'training with LCA took [0-9.]* s' $R/$1-$2.log)" >> $R/times.txt
  cp $W/$1-$2/losses.csv $R/losses-$1-$2.csv
}
for round in $(seq 1 $ROUNDS); do
  if [ $((round % 2)) = 1 ]; then one win10 $round; one step $round; else one step $round; one win10 $round; fi
done
python3 - $R $ROUNDS >> $R/times.txt <<'PY'
import csv, sys
R, rounds = sys.argv[1], int(sys.argv[2])
for r in range(1, rounds + 1):
    for what in ("win10", "step"):
        rows = list(csv.DictReader(open(f"{R}/losses-{what}-{r}.csv")))
        err = max(abs(float(x["error"])) for x in rows)
        ev = sum(int(x["evaluations"]) for x in rows)
        dl = sum(float(x["delta_loss"]) for x in rows)
        ls = sum(float(x["lca_sum"]) for x in rows)
        print(f"{what} round {r}: {len(rows)} rows, largest |dL - sum LCA| {err:.3g}, {ev} evaluations, "
              f"dL {dl:.6f}, sum LCA {ls:.6f}")
PY
cat $R/times.txt
