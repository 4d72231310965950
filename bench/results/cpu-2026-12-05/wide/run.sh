#!/bin/bash
# The measurements of this round of issue 18 (shifted products storing their last columns and
# rows in place, Winograd images sharing their padding, PhaseRows prefetching, batch norm's
# passes a block of channels per call), one after the other: per-call figures of lenet-lca's
# conv2 (warm), resnet20's stride-1 convolutions and its fused batch norms (cold: tensors rotated
# through 64–96 MiB) for the previous main (dc2048b, built into $OLD and $OLDCPU, its
# engine/cpu/bench_test.go replaced by this one's for the cold benchmarks) and this build,
# alternating, three rounds at two threads; the lenet-lca and resnet20 step breakdowns (bench's
# TestStepBreakdown) of this build; the `gaze bench` steps of lenet-lca, lenet5 and resnet20
# alternating with the previous main, three rounds; then the zoo beside PyTorch (three
# alternating rounds) and one epoch of make run's LCA recipe beside bench/torch/lca_mnist.py.
# From the repository root:
#   OLD=/path/to/gaze-dc2048b OLDCPU=/path/to/cpu.test-dc2048b bash bench/results/cpu-2026-12-05/wide/run.sh
set -eu
R=bench/results/cpu-2026-12-05/wide
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
    GOMAXPROCS=2 $t -test.run '^$' -test.bench 'Conv(Forward|BackwardData|BackwardFilter)/lenet_conv2$|Conv.*Cold/resnet20_s[123]$|BatchNormReLUCold/s./(fwd|bwd)/fused' -test.benchtime 40x 2>&1 | grep Bench >> $R/convs.txt
  done
done
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
