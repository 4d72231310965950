#!/bin/bash
# usage: abgaze.sh OUTDIR ROUNDS bin...   (gaze bench --models resnet20:128 --time 3s under /usr/bin/time -v, in alternation)
out=$1; rounds=$2; shift 2
mkdir -p $out
for r in $(seq 1 $rounds); do
  for b in "$@"; do
    { uptime; /usr/bin/time -v nice -n 10 ./gaze.$b bench --models resnet20:128 --time 3s 2>&1; } > $out/$b-$r.txt
  done
done
