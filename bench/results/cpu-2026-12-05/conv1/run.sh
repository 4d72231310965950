#!/bin/bash
# The measurements of this round of issue 18 (Sum64 over 32 lanes, the Winograd filter matrices
# packed once per call, the one-channel 5-wide convolution kernels), one after the other:
# per-call figures of the convolutions and batch norm they touch for the previous main (c64dd8a,
# built into $OLD and $OLDCPU) and this build, alternating, three rounds at two threads; the
# lenet-lca and resnet20 step breakdowns (bench's TestStepBreakdown) of this build; the
# `gaze bench` steps of lenet-lca, lenet5 and resnet20 alternating with the previous main, three
# rounds; then the zoo beside PyTorch (three alternating rounds) and one epoch of make run's LCA
# recipe beside bench/torch/lca_mnist.py. From the repository root:
#   OLD=/path/to/gaze-c64dd8a OLDCPU=/path/to/cpu.test-c64dd8a bash bench/results/cpu-2026-12-05/conv1/run.sh
set -eu
R=bench/results/cpu-2026-12-05/conv1
make build mnist >/dev/null
go test -c -o /tmp/cpu-new.test ./engine/cpu
go test -c -o /tmp/bench-new.test ./bench
{ date -u; git rev-parse --short HEAD; nproc; grep -m1 'model name' /proc/cpuinfo; grep -m1 -o 'avx512[a-z_]*' /proc/cpuinfo | sort -u | tr '\n' ' '; echo; uptime; } > $R/machine.txt
: > $R/convs.txt
for round in 1 2 3; do
  for side in old new; do
    t=/tmp/cpu-new.test
    if [ $side = old ]; then t=$OLDCPU; fi
    echo "== round $round: $side" >> $R/convs.txt
    GOMAXPROCS=2 $t -test.run '^$' -test.bench 'Conv.*/(lenet_conv1|resnet20_s2|resnet20_s3)$|BatchNormTrain' -test.benchtime 40x 2>&1 | grep Bench >> $R/convs.txt
  done
done
GOMAXPROCS=2 /tmp/cpu-new.test -test.run '^$' -test.bench 'BiasGrad' -test.benchtime 200x 2>&1 | grep Bench > $R/biasgrad.txt
: > $R/breakdown.txt
for spec in lenet-lca:250:1:28:28 resnet20:128:3:32:32; do
  echo "== $spec" >> $R/breakdown.txt
  GAZE_BREAKDOWN=$spec /tmp/bench-new.test -test.run TestStepBreakdown -test.v 2>&1 | grep -v '^=== RUN\|^--- PASS\|^PASS' >> $R/breakdown.txt
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
