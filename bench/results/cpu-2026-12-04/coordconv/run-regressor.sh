#!/bin/sh
# The CoordConv regressor, 10 seeds per split and recipe, 10 epochs each (run from the
# repository root; two runs at a time on the shared 2-core machine).
set -e
out=bench/results/cpu-2026-12-04/coordconv
for split in uniform quadrant; do
  for recipe in paper gaze; do
    gaze coordconv run --task regression --model coordconv --split $split --recipe $recipe \
      --seeds 10 --epochs 10 --out $out/reg-$split-$recipe > $out/reg-$split-$recipe.log 2>&1 &
  done
  wait
done
