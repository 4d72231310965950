#!/bin/bash
# usage: ab.sh OUTDIR ROUNDS CPU BENCHREGEX bin...
out=$1; rounds=$2; cpu=$3; re=$4; shift 4
mkdir -p $out
for r in $(seq 1 $rounds); do
  for b in "$@"; do
    { uptime; nice -n 5 ./cpu.$b -test.cpu $cpu -test.run '^$' -test.bench "$re" -test.benchtime 20x 2>&1 | grep Bench; } > $out/$b-$r.txt
  done
done
