#!/bin/bash
# The quiet-machine measurements of this stop, one after the other with nothing else running
# (the background intdim sweep SIGSTOPped): the CPU side-by-side against PyTorch (issue 18),
# window against per-iteration LCA (issue 14) and per-class against plain LCA (issue 13).
# From the repository root, MNIST in $GAZE_DATA (default data):
#   bash bench/results/cpu-2026-12-04/quiet/run.sh
set -eu
R=bench/results/cpu-2026-12-04/quiet
D=${GAZE_DATA:-data}
make build mnist >/dev/null
G=bin/gaze
W=$(mktemp -d)
trap 'rm -rf $W' EXIT
{ date -u; nproc; grep -m1 'model name' /proc/cpuinfo; grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^avx512(f|bw|vl|dq|cd|vnni|_bf16)$' | tr '\n' ' '; echo; uptime; } > $R/machine.txt
env | grep -E '^OPENBLAS_' >> $R/machine.txt || true
# the FP32 peak and stream bandwidth, and each model step as a fraction of that peak
$G bench --peak --time 2s > $R/peak.txt 2>&1
# 1. gaze beside PyTorch: training steps of the five zoo models, then one epoch of make run's LCA recipe.
scripts/bench-cpu-torch.py --gaze $G --rounds 3 --time 3s --json $R/bench-cpu.json --lca-data $D > $R/bench-cpu.md 2> $R/bench-cpu.log
# 2 and 3. make run's recipe for one epoch: per-iteration LCA, --lca-every 10, plain training,
# and per-class LCA, one right after the other, two rounds; wall and CPU seconds from bash's time.
TIMEFORMAT='%R %U %S'
for round in 1 2; do
  for what in step win10 classes train; do
    case $what in
      step)    args=(lca train --lca-examples 10000 --no-report) ;;
      win10)   args=(lca train --lca-examples 10000 --lca-every 10 --no-report) ;;
      classes) args=(lca train --lca-examples 10000 --per-class --no-report) ;;
      train)   args=(train) ;;
    esac
    t=$( { time $G "${args[@]}" --model mnist-fc --data mnist --data-dir $D --epochs 1 --out $W/$what-$round > $R/$what-$round.log 2>&1; } 2>&1 )
    set -- $t
    echo "$what round $round: wall $1 s, cpu $(echo "$2 + $3" | bc) s; $(grep -o 'training with LCA took [0-9.]* s' $R/$what-$round.log || true)" >> $R/times.txt
  done
  for what in step win10 classes; do cp $W/$what-$round/losses.csv $R/losses-$what-$round.csv; done
done
uptime >> $R/machine.txt
