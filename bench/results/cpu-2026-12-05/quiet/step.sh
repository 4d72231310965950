#!/bin/bash
# resnet20's step breakdown (bench's TestStepBreakdown: wall and CPU ms per op and shape, five
# steps) for the previous main and this build, alternating. $OLD_TEST: the bench test binary of
# f141fde with this build's breakdown_test.go (go test -c -o … ./bench at that commit).
# From the repository root: OLD_TEST=… bash bench/results/cpu-2026-12-05/quiet/step.sh
set -eu
R=bench/results/cpu-2026-12-05/quiet
go test -c -o /tmp/bench.new ./bench
for round in 1 2; do
  for b in old new; do
    bin=$OLD_TEST; [ $b = new ] && bin=/tmp/bench.new
    { uptime; GAZE_BREAKDOWN=resnet20:128:3:32:32 $bin -test.run TestStepBreakdown -test.v 2>&1; } > $R/step-$b-$round.txt
  done
done
