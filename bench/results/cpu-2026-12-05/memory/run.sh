#!/bin/bash
# The measurements of this round of issue 18 (batch norm's passes split by images with one-pass
# statistics, residual blocks adding their two gradients in the convolution's store), one after
# the other: per-call figures of resnet20's fused batch norms (cold: tensors rotated through
# 96 MiB) for the previous main (1b6d6f5, built into $OLD and $OLDCPU) and this build,
# alternating, three rounds at two threads; the resnet20 and lenet-lca step breakdowns (bench's
# TestStepBreakdown) of both; the `gaze bench` steps of lenet-lca, lenet5 and resnet20
# alternating with the previous main, three rounds; then the zoo beside PyTorch (three
# alternating rounds) and one epoch of make run's LCA recipe beside bench/torch/lca_mnist.py.
# From the repository root:
#   OLD=/path/to/gaze-1b6d6f5 OLDCPU=/path/to/cpu.test-1b6d6f5 OLDBENCH=/path/to/bench.test-1b6d6f5 \
#     bash bench/results/cpu-2026-12-05/memory/run.sh
set -eu
R=bench/results/cpu-2026-12-05/memory
make build mnist >/dev/null
go test -c -o /tmp/cpu-new.test ./engine/cpu
go test -c -o /tmp/bench-new.test ./bench
{ date -u; git rev-parse --short HEAD; nproc; grep -m1 'model name' /proc/cpuinfo; grep -m1 -o 'avx512[a-z_]*' /proc/cpuinfo | sort -u | tr '\n' ' '; echo; uptime; } > $R/machine.txt
: > $R/bn.txt
for round in 1 2 3; do
  for side in old new; do
    t=/tmp/cpu-new.test
    if [ $side = old ]; then t=$OLDCPU; fi
    echo "== round $round: $side" >> $R/bn.txt
    GOMAXPROCS=2 $t -test.run '^$' -test.bench 'BatchNormReLUCold/s./(fwd|bwd)/fused' -test.benchtime 400x 2>&1 | grep Bench >> $R/bn.txt
  done
done
: > $R/breakdown.txt
for spec in resnet20:128:3:32:32 lenet-lca:250:1:28:28; do
  for side in old new; do
    t=/tmp/bench-new.test
    if [ $side = old ]; then t=$OLDBENCH; fi
    echo "== $spec: $side" >> $R/breakdown.txt
    GAZE_BREAKDOWN=$spec $t -test.run TestStepBreakdown -test.v 2>&1 | grep -v '^=== RUN\|^--- PASS\|^PASS' >> $R/breakdown.txt
  done
done
: > $R/steps.txt
for round in 1 2 3; do
  for side in old new; do
    b=bin/gaze
    if [ $side = old ]; then b=$OLD; fi
    echo "== round $round: $side" >> $R/steps.txt
    $b bench --models lenet-lca:250,lenet5:128,resnet20:128 --time 3s >> $R/steps.txt 2>&1
  done
done
uptime >> $R/machine.txt
bin/gaze bench --peak --time 2s > $R/peak.txt 2>&1
scripts/bench-cpu-torch.py --gaze bin/gaze --rounds 3 --time 3s --json $R/bench-cpu.json --lca-data data --lca-rounds 1 > $R/bench-cpu.md 2> $R/bench-cpu.log
uptime >> $R/machine.txt
