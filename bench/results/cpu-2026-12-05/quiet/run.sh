#!/bin/bash
# The quiet-machine measurements of the 2026-12-05 stop (issue 18), one after the other with
# nothing else running: the FMA peak and stream bandwidth, the five zoo models beside PyTorch (two
# alternating rounds), then resnet20's step for the previous main (f141fde, the Winograd merge;
# built into $OLD) and this build, three alternating rounds.
# From the repository root: OLD=/path/to/gaze-f141fde bash bench/results/cpu-2026-12-05/quiet/run.sh
set -eu
R=bench/results/cpu-2026-12-05/quiet
make build >/dev/null
{ date -u; git rev-parse --short HEAD; nproc; grep -m1 'model name' /proc/cpuinfo; grep -m1 -o 'avx512[a-z_]*' /proc/cpuinfo | sort -u | tr '\n' ' '; echo; uptime; } > $R/machine.txt
bin/gaze bench --peak --time 2s > $R/peak.txt 2>&1
scripts/bench-cpu-torch.py --gaze bin/gaze --rounds 2 --time 3s --json $R/bench-cpu.json > $R/bench-cpu.md 2> $R/bench-cpu.log
uptime >> $R/machine.txt
: > $R/resnet20-ab.txt
for round in 1 2 3; do
  for b in "$OLD" bin/gaze; do
    echo "== round $round: $b" >> $R/resnet20-ab.txt
    $b bench --models resnet20:128 --time 3s >> $R/resnet20-ab.txt 2>&1
  done
done
uptime >> $R/machine.txt
# A second run of the comparison with three rounds (PyTorch's resnet20 step ranged 161–371 ms
# within the first): bench-cpu-3.md.
scripts/bench-cpu-torch.py --gaze bin/gaze --rounds 3 --time 3s --json $R/bench-cpu-3.json > $R/bench-cpu-3.md 2> $R/bench-cpu-3.log
uptime >> $R/machine.txt
