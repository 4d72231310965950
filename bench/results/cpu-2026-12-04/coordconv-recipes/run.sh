#!/bin/sh
# CoordConv recipes (issue 17), run from the repository root with `go build -o gaze ./cmd/gaze`.
# Each command ran with GOMAXPROCS=1, two or three at a time on the 2-core build machine, in
# this order; the recipe is gaze's (the default) unless --recipe paper is given.
out=bench/results/cpu-2026-12-04/coordconv-recipes
run() { name=$1; shift; GOMAXPROCS=1 ./gaze coordconv run "$@" --out $out/$name >> $out/$name.log 2>&1; }
run render-u-gaze --task rendering --split uniform --seeds 3 --epochs 20 &
# Seed 0 of the quadrant renderer; stopped with SIGTERM during epoch 15, then continued with
# --resume to its 20 epochs (render-q-gaze-resume.log) and stopped again in seed 1's second
# epoch (seeds 1 and 2 ran in their own folder, below).
run render-q-gaze --task rendering --split quadrant --seeds 3 --epochs 20
wait
# Lock-in: every epoch runs (no stop at the first perfect one), five seeds per split and recipe.
run class-uniform-gaze --task classification --split uniform --recipe gaze --seeds 5 --epochs 15 --stop-perfect=false &
run class-quadrant-gaze --task classification --split quadrant --recipe gaze --seeds 5 --epochs 30 --stop-perfect=false &
run render-q-gaze-s1 --task rendering --split quadrant --seed 1 --seeds 2 --epochs 20
wait
# The paper's recipe at its lr 0.005: stopped (SIGTERM) after 3 of 5 seeds for time; the
# quadrant split's paper runs were not made in this round.
run class-uniform-paper --task classification --split uniform --recipe paper --seeds 5 --epochs 30 --stop-perfect=false
