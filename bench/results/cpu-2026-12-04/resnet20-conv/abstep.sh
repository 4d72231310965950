#!/bin/bash
# usage: abstep.sh OUTDIR ROUNDS SPEC bin...
out=$1; rounds=$2; spec=$3; shift 3
mkdir -p $out
for r in $(seq 1 $rounds); do
  for b in "$@"; do
    { uptime; GAZE_BREAKDOWN=$spec nice -n 5 ./bench.$b -test.run TestStepBreakdown 2>&1; } > $out/$b-$r.txt
  done
done
