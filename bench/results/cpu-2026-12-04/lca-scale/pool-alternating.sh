#!/bin/bash
# BenchmarkPoolGradient on 1 (cpu) and 2 (cpu:2) CPU devices, alternating, 6 rounds: under the
# machine's contention a round of one right after a round of the other compares best.
R=bench/results/cpu-2026-12-04/lca-scale
go test -c -o /tmp/lca.test ./lca
cd lca
for round in 1 2 3 4 5 6; do
  for spec in 'cpu$' 'cpu:2$'; do
    nice -n 5 /tmp/lca.test -test.run '^$' -test.bench "BenchmarkPoolGradient/$spec" -test.benchtime 5x | grep Benchmark | sed "s/^/round $round load $(cut -d' ' -f1 /proc/loadavg) /"
  done
done > ../$R/pool_alternating.txt
