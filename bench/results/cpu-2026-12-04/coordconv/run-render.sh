#!/bin/sh
# CoordConv renderer candidates (run from the repository root): the intermediate centre loss
# (--interm 1), a softmax gain of 4096 (temperature 1/4096: the sharpened map is the one-hot of the
# painter's maximum) and lr steps ×0.1 after epochs 20 and 35.
out=bench/results/cpu-2026-12-04/coordconv
for run in "uniform 0" "quadrant 0" "quadrant 1"; do
  set -- $run
  gaze coordconv run --task rendering --model coordconv --split $1 --seed $2 --seeds 1 \
    --interm 1 --softmax-gain 4096 --lr-milestones 20,35 --epochs 50 \
    --out $out/render-$1-s$2-gain4096 > $out/render-$1-s$2-gain4096.log 2>&1 &
done
wait
