#!/bin/bash
# The measurements of Winograd F(2×2, 5×5) (issue 18), one after the other on the quiet machine:
# the FMA peak and stream bandwidth, lenet-lca's step breakdown and its `gaze bench` step for the
# previous main (a454722, built into $OLD) and this build in three alternating rounds, then the
# five zoo models beside PyTorch (three alternating rounds) and one epoch of make run's LCA recipe
# beside bench/torch/lca_mnist.py.
# From the repository root: OLD=/path/to/gaze-a454722 OLDBENCH=/path/to/bench.test-a454722 \
#   bash bench/results/cpu-2026-12-05/wino5/run.sh
set -eu
R=bench/results/cpu-2026-12-05/wino5
make build mnist >/dev/null
go test -c -o /tmp/bench-new.test ./bench
{ date -u; git rev-parse --short HEAD; nproc; grep -m1 'model name' /proc/cpuinfo; grep -m1 -o 'avx512[a-z_]*' /proc/cpuinfo | sort -u | tr '\n' ' '; echo; uptime; } > $R/machine.txt
bin/gaze bench --peak --time 2s > $R/peak.txt 2>&1
: > $R/lenet-lca-ab.txt
: > $R/lenet-lca-step.txt
for round in 1 2 3; do
  for side in old new; do
    b=bin/gaze; t=/tmp/bench-new.test
    if [ $side = old ]; then b=$OLD; t=$OLDBENCH; fi
    echo "== round $round: $side" >> $R/lenet-lca-ab.txt
    $b bench --models lenet-lca:250 --time 3s >> $R/lenet-lca-ab.txt 2>&1
    echo "== round $round: $side" >> $R/lenet-lca-step.txt
    GAZE_BREAKDOWN=lenet-lca:250:1:28:28 $t -test.run TestStepBreakdown -test.v 2>&1 | grep -v '^=== RUN\|^--- PASS\|^PASS' >> $R/lenet-lca-step.txt
  done
done
uptime >> $R/machine.txt
scripts/bench-cpu-torch.py --gaze bin/gaze --rounds 3 --time 3s --json $R/bench-cpu.json --lca-data data --lca-rounds 1 > $R/bench-cpu.md 2> $R/bench-cpu.log
uptime >> $R/machine.txt
