#!/bin/bash
# The measurements of Winograd F(4×4, 3×3) (issue 18), one after the other on the quiet machine:
# per-call figures of resnet20's stride-1 convolutions in both tile sizes (one and two threads),
# resnet20's step breakdown and its `gaze bench` step for the previous main (840a7d9, built into
# $OLD) and this build in three alternating rounds, then the five zoo models beside PyTorch
# (three alternating rounds) and one epoch of make run's LCA recipe beside bench/torch/lca_mnist.py.
# From the repository root: OLD=/path/to/gaze-840a7d9 OLDBENCH=/path/to/bench.test-840a7d9 \
#   bash bench/results/cpu-2026-12-05/wino4/run.sh
set -eu
R=bench/results/cpu-2026-12-05/wino4
make build mnist >/dev/null
go test -c -o /tmp/bench-new.test ./bench
go test -c -o /tmp/cpu-new.test ./engine/cpu
{ date -u; git rev-parse --short HEAD; nproc; grep -m1 'model name' /proc/cpuinfo; grep -m1 -o 'avx512[a-z_]*' /proc/cpuinfo | sort -u | tr '\n' ' '; echo; uptime; } > $R/machine.txt
: > $R/convs.txt
for round in 1 2; do
  for procs in 1 2; do
    for tile in 2 4; do
      echo "== round $round: GOMAXPROCS=$procs GAZE_WINOGRAD=on GAZE_WINOGRAD_TILE=$tile" >> $R/convs.txt
      GOMAXPROCS=$procs GAZE_WINOGRAD=on GAZE_WINOGRAD_TILE=$tile /tmp/cpu-new.test -test.run '^$' \
        -test.bench 'Conv.*/resnet20_s[123]$' -test.benchtime 30x 2>&1 | grep Bench >> $R/convs.txt
    done
    echo "== round $round: GOMAXPROCS=$procs GAZE_WINOGRAD=off (stage 1's previous form)" >> $R/convs.txt
    GOMAXPROCS=$procs GAZE_WINOGRAD=off /tmp/cpu-new.test -test.run '^$' \
      -test.bench 'Conv.*/resnet20_s1$' -test.benchtime 30x 2>&1 | grep Bench >> $R/convs.txt
  done
done
: > $R/resnet20-ab.txt
: > $R/resnet20-step.txt
for round in 1 2 3; do
  for side in old new; do
    b=bin/gaze; t=/tmp/bench-new.test
    if [ $side = old ]; then b=$OLD; t=$OLDBENCH; fi
    echo "== round $round: $side" >> $R/resnet20-ab.txt
    $b bench --models resnet20:128 --time 3s >> $R/resnet20-ab.txt 2>&1
    echo "== round $round: $side" >> $R/resnet20-step.txt
    GAZE_BREAKDOWN=resnet20:128:3:32:32 $t -test.run TestStepBreakdown -test.v 2>&1 | grep -v '^=== RUN\|^--- PASS\|^PASS' >> $R/resnet20-step.txt
  done
done
uptime >> $R/machine.txt
bin/gaze bench --peak --time 2s > $R/peak.txt 2>&1
scripts/bench-cpu-torch.py --gaze bin/gaze --rounds 3 --time 3s --json $R/bench-cpu.json --lca-data data --lca-rounds 1 > $R/bench-cpu.md 2> $R/bench-cpu.log
uptime >> $R/machine.txt
