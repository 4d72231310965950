#!/usr/bin/env python3
# Medians (and bests) over rounds of TestStepBreakdown outputs, CPU ms per step, per op row:
#   python3 stepmed.py DIR bin...    (files DIR/bin-*.txt; rows matching conv 3x3/s1, and step)
import sys, glob, statistics, re
d = sys.argv[1]; bins = sys.argv[2:]
rows = {}
loads = {}
for b in bins:
    for f in sorted(glob.glob(f"{d}/{b}-*.txt")):
        for line in open(f):
            if 'load average' in line:
                loads.setdefault(b, []).append(float(line.split('load average:')[1].split(',')[0]))
            name = line[:40].strip(); parts = line[40:].split()
            if len(parts) < 2: continue
            try: wall, cpu = float(parts[0]), float(parts[1])
            except ValueError: continue
            if not (('3x3/s1' in name and '3→16' not in name) or name == 'step'): continue
            rows.setdefault(name, {}).setdefault(b, []).append((cpu, wall))
print("load", {b: (min(v), max(v)) for b, v in loads.items()})
print(f"| op | " + " | ".join(f"{b} CPU med (best)" for b in bins) + " |")
tot = {b: 0.0 for b in bins}
for name in sorted(rows, key=lambda n: (n == 'step', n)):
    cells = []
    for b in bins:
        c = [x[0] for x in rows[name][b]]
        if name != 'step': tot[b] += statistics.median(c)
        cells.append(f"{statistics.median(c):.1f} ({min(c):.1f})")
    print(f"| {name} | " + " | ".join(cells) + " |")
    if name == 'step':
        w = {b: [x[1] for x in rows[name][b]] for b in bins}
        print(f"| step wall | " + " | ".join(f"{statistics.median(w[b]):.1f} ({min(w[b]):.1f})" for b in bins) + " |")
print("3x3/s1 rows, sum of medians:", {b: round(t, 1) for b, t in tot.items()}, "n =", {b: len(rows['step'][b]) for b in bins})
