#!/bin/bash
# The measurements of the plane-row kernel and the parallel filter transforms (issue 18), one after
# the other: per-call figures of resnet20's stride-1 3×3 convolutions and lenet-lca's 5×5 20→40
# for the previous main (c93027e, built into $OLD and $OLDCPU) and this build, alternating, four
# rounds at two threads; resnet20's and lenet-lca's `gaze bench` steps alternating, three rounds;
# then the zoo beside PyTorch (three alternating rounds) and one epoch of make run's LCA recipe
# beside bench/torch/lca_mnist.py. From the repository root:
#   OLD=/path/to/gaze-c93027e OLDCPU=/path/to/cpu.test-c93027e bash bench/results/cpu-2026-12-05/rows/run.sh
set -eu
R=bench/results/cpu-2026-12-05/rows
make build mnist >/dev/null
go test -c -o /tmp/cpu-new.test ./engine/cpu
{ date -u; git rev-parse --short HEAD; nproc; grep -m1 'model name' /proc/cpuinfo; grep -m1 -o 'avx512[a-z_]*' /proc/cpuinfo | sort -u | tr '\n' ' '; echo; uptime; } > $R/machine.txt
: > $R/convs.txt
for round in 1 2 3 4; do
  for side in old new; do
    t=/tmp/cpu-new.test
    if [ $side = old ]; then t=$OLDCPU; fi
    echo "== round $round: $side" >> $R/convs.txt
    GOMAXPROCS=2 $t -test.run '^$' -test.bench 'Conv.*/(resnet20_s[123]|lenet_conv2)$' -test.benchtime 40x 2>&1 | grep Bench >> $R/convs.txt
  done
done
: > $R/steps.txt
for round in 1 2 3; do
  for side in old new; do
    b=bin/gaze
    if [ $side = old ]; then b=$OLD; fi
    echo "== round $round: $side" >> $R/steps.txt
    $b bench --models resnet20:128,lenet-lca:250 --time 3s >> $R/steps.txt 2>&1
  done
done
uptime >> $R/machine.txt
bin/gaze bench --peak --time 2s > $R/peak.txt 2>&1
scripts/bench-cpu-torch.py --gaze bin/gaze --rounds 3 --time 3s --json $R/bench-cpu.json --lca-data data --lca-rounds 1 > $R/bench-cpu.md 2> $R/bench-cpu.log
uptime >> $R/machine.txt
