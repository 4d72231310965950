#!/bin/sh
# Ablation: the paper's He-normal initialisation with gaze's lr steps (×0.1 after epochs 2, 4, 6),
# 10 seeds per split, 10 epochs: does the schedule alone free the trapped seeds?
out=bench/results/cpu-2026-12-04/coordconv
for split in uniform quadrant; do
  gaze coordconv run --task regression --model coordconv --split $split --recipe paper --lr-milestones 2,4,6 \
    --seeds 10 --epochs 10 --out $out/reg-$split-paper-steps > $out/reg-$split-paper-steps.log 2>&1 &
done
wait
