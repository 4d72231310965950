#!/usr/bin/env python3
# gaze bench under /usr/bin/time -v: medians (bests) of user+sys CPU s, wall s and ms/step:
#   python3 gazemed.py DIR bin...
import sys, glob, statistics
d = sys.argv[1]; bins = sys.argv[2:]
for b in bins:
    cpu, wall, ms, load = [], [], [], []
    for f in sorted(glob.glob(f"{d}/{b}-*.txt")):
        u = s = 0.0
        for line in open(f):
            if 'load average' in line: load.append(float(line.split('load average:')[1].split(',')[0]))
            if 'User time' in line: u = float(line.split(':')[1])
            if 'System time' in line: s = float(line.split(':')[1])
            if 'Elapsed (wall' in line:
                t = line.split('): ')[1].strip().split(':'); wall.append(float(t[-1]) + 60 * float(t[-2]))
            if line.startswith('resnet20'): ms.append(float(line.split()[5]))
        cpu.append(u + s)
    print(f"{b}: n={len(cpu)} load {min(load)}–{max(load)}; CPU s (user+sys) median {statistics.median(cpu):.2f} best {min(cpu):.2f}; "
          f"wall s median {statistics.median(wall):.2f}; ms/step median {statistics.median(ms):.1f} best {min(ms):.1f}")
