#!/bin/bash
# The quiet-machine measurements at the end of the 2026-12-04 evening stop, one after the other
# with nothing else running: the dense projection against numpy and PyTorch (issue 16), then the
# five zoo models' training steps against PyTorch (issue 18), two alternating rounds.
# From the repository root: bash bench/results/cpu-2026-12-04/quiet2/run.sh
set -eu
R=bench/results/cpu-2026-12-04/quiet2
make build >/dev/null
{ date -u; nproc; grep -m1 'model name' /proc/cpuinfo; uptime; } > $R/machine.txt
make bench-projection BENCH_TIME=2 > $R/bench-projection.txt 2>&1
uptime >> $R/machine.txt
bin/gaze bench --peak --time 2s > $R/peak.txt 2>&1
scripts/bench-cpu-torch.py --gaze bin/gaze --rounds 2 --time 3s --json $R/bench-cpu.json > $R/bench-cpu.md 2> $R/bench-cpu.log
uptime >> $R/machine.txt
