#!/bin/bash
# The measurements of README's "LCA at scale" paragraphs, in the order they ran. Run from the
# repository root: bash bench/results/cpu-2026-12-04/lca-scale/run.sh (MNIST in /work/main/data).
set -u
R=bench/results/cpu-2026-12-04/lca-scale
go build -o /tmp/gaze-lcascale ./cmd/gaze
G=/tmp/gaze-lcascale
W=$(mktemp -d)
{ date -u; nproc; uptime; } > $R/machine.txt
# 1 and 2 CPU devices for the full-set gradient (BenchmarkPoolGradient: mnist-fc, 10,000
# examples, chunks of 2,500), interleaved by -count.
nice -n 5 go test ./lca -run '^$' -bench 'BenchmarkPoolGradient' -benchtime 5x -count 4 > $R/pool_gradient.txt 2>&1
uptime >> $R/machine.txt
# Window LCA against per-iteration LCA: make run's recipe for one epoch, per iteration, with
# --lca-every 10, and plain training (no LCA), one right after the other, two rounds.
for round in 1 2; do
  for what in step win10 train; do
    case $what in
      step)  args=(lca train --lca-examples 10000 --no-report) ;;
      win10) args=(lca train --lca-examples 10000 --lca-every 10 --no-report) ;;
      train) args=(train) ;;
    esac
    start=$(date +%s.%N)
    nice -n 5 $G "${args[@]}" --model mnist-fc --data mnist --data-dir /work/main/data --epochs 1 --out $W/$what-$round > $R/$what-$round.log 2>&1
    end=$(date +%s.%N)
    echo "$what round $round: $(echo "$end - $start" | bc) s wall, load $(cut -d' ' -f1 /proc/loadavg)" >> $R/wall.txt
  done
  cp $W/step-$round/losses.csv $R/losses-step-$round.csv
  cp $W/win10-$round/losses.csv $R/losses-win10-$round.csv
done
uptime >> $R/machine.txt
rm -rf $W
