#!/bin/bash
# usage: ab.sh OUTDIR ROUNDS CPU BENCHREGEX bin...   (runs ./cpu.$bin in alternation, nice -n 10)
out=$1; rounds=$2; cpu=$3; re=$4; shift 4
mkdir -p $out
for r in $(seq 1 $rounds); do
  for b in "$@"; do
    { uptime; nice -n 10 ./cpu.$b -test.cpu $cpu -test.run '^$' -test.bench "$re" -test.benchtime 40x 2>&1 | grep Bench; } > $out/$b-$r.txt
  done
done
