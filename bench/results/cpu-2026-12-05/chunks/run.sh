#!/bin/bash
# The measurements of this round of issue 18 (the stack and phase forms in per-core chunks, the
# 3×3 Winograd filter transforms written out), one after the other: per-call figures of
# resnet20's stride-2 convolutions and lenet-lca's conv1 (cold: tensors rotated through 64 MiB)
# and of the filter transforms, for the previous main (73d5efb, built into $OLDCPU) and this
# build, alternating, three rounds; the resnet20 step breakdown (bench's TestStepBreakdown) of
# both; the Go benchmark steps of lenet5 and resnet20 and the `gaze bench` steps of lenet-lca,
# lenet5 and resnet20, alternating with the previous main, three rounds each; then
# `gaze bench --peak`, the zoo beside PyTorch (three alternating rounds) and one epoch of make
# run's LCA recipe beside bench/torch/lca_mnist.py. From the repository root:
#   OLD=/path/to/gaze-73d5efb OLDCPU=/path/to/cpu.test-73d5efb OLDBENCH=/path/to/bench.test-73d5efb \
#     bash bench/results/cpu-2026-12-05/chunks/run.sh
set -eu
R=bench/results/cpu-2026-12-05/chunks
make build mnist >/dev/null
go test -c -o /tmp/cpu-new.test ./engine/cpu
go test -c -o /tmp/bench-new.test ./bench
{ date -u; git rev-parse --short HEAD; nproc; grep -m1 'model name' /proc/cpuinfo; grep -m1 -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' '; echo; uptime; } > $R/machine.txt
: > $R/convs.txt
for round in 1 2 3; do
  for side in old new; do
    t=/tmp/cpu-new.test
    if [ $side = old ]; then t=$OLDCPU; fi
    echo "== round $round: $side" >> $R/convs.txt
    $t -test.run '^$' -test.bench 'Conv.*Cold/(resnet20_s2(down|proj)|lenet_conv1)$' -test.benchtime 30x 2>&1 | grep Bench >> $R/convs.txt
  done
done
/tmp/cpu-new.test -test.run '^$' -test.bench 'WinoFilterTransform' 2>&1 | grep Bench > $R/transforms.txt
: > $R/breakdown.txt
for side in old new; do
  t=/tmp/bench-new.test
  if [ $side = old ]; then t=$OLDBENCH; fi
  echo "== resnet20: $side" >> $R/breakdown.txt
  GAZE_BREAKDOWN=resnet20:128:3:32:32 $t -test.run TestStepBreakdown -test.v 2>&1 | grep -v '^=== RUN\|^--- PASS\|^PASS' >> $R/breakdown.txt
done
: > $R/gosteps.txt
for round in 1 2 3; do
  for side in old new; do
    t=/tmp/bench-new.test
    if [ $side = old ]; then t=$OLDBENCH; fi
    echo "== round $round: $side" >> $R/gosteps.txt
    $t -test.run '^$' -test.bench 'TrainStep/(resnet20|lenet5)/avx512' -test.benchtime 15x 2>&1 | grep Bench >> $R/gosteps.txt
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
bin/gaze bench --peak --time 2s > $R/peak-again.txt 2>&1
uptime >> $R/machine.txt
