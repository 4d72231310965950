#!/bin/sh
# CoordConv renderer candidate 2 (run from the repository root): the authors' logged 1×1 rendering
# convolutions (--render-fs 1) with the intermediate centre loss (--interm 1), softmax gain 1,
# lr steps ×0.1 after epochs 20 and 35.
out=bench/results/cpu-2026-12-04/coordconv
for run in "uniform 0" "quadrant 0"; do
  set -- $run
  gaze coordconv run --task rendering --model coordconv --split $1 --seed $2 --seeds 1 \
    --interm 1 --render-fs 1 --lr-milestones 20,35 --epochs 50 \
    --out $out/render-$1-s$2-fs1 > $out/render-$1-s$2-fs1.log 2>&1 &
done
wait
