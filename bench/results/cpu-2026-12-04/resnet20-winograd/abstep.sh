#!/bin/bash
# usage: abstep.sh OUTDIR ROUNDS SPEC bin...   (./bench.$bin TestStepBreakdown in alternation, nice -n 10)
out=$1; rounds=$2; spec=$3; shift 3
mkdir -p $out
for r in $(seq 1 $rounds); do
  for b in "$@"; do
    { uptime; GAZE_BREAKDOWN=$spec nice -n 10 ./bench.$b -test.run TestStepBreakdown -test.v 2>&1; } > $out/$b-$r.txt
  done
done
