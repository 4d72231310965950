#!/bin/bash
# CPU time (user + system, from /usr/bin/time) of plain training, per-iteration LCA and
# --lca-every 10 on make run's recipe for one epoch, two rounds: robust to the other jobs that
# take the cores, unlike wall time. Run from the repository root after run.sh built the binary.
R=bench/results/cpu-2026-12-04/lca-scale
G=/tmp/gaze-lcascale
W=$(mktemp -d)
for round in 1 2; do
  for what in train step win10; do
    case $what in
      step)  args=(lca train --lca-examples 10000 --no-report) ;;
      win10) args=(lca train --lca-examples 10000 --lca-every 10 --no-report) ;;
      train) args=(train) ;;
    esac
    /usr/bin/time -f "$what round $round: %U s user %S s system %e s wall (%P CPU), load $(cut -d' ' -f1 /proc/loadavg)" \
      nice -n 5 $G "${args[@]}" --model mnist-fc --data mnist --data-dir /work/main/data --epochs 1 --quiet --out $W/$what-$round 2>&1 | tail -1
  done
done > $R/cputime.txt
rm -rf $W
