#!/usr/bin/env python3
"""Summarises interleave.sh's output: per shape, the median step (ms) of each implementation over
the rounds and the median over rounds of the per-round ratios old/numpy and new/numpy.

    python3 summarize.py interleave.tsv
"""
import collections
import statistics
import sys

rows = [l.split("\t") for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
step = collections.defaultdict(dict)  # (shape, impl) -> {round: step ms}
for r, shape, impl, fwd, tr, s in rows:
    step[(shape, impl)][r] = float(s)
shapes = list(dict.fromkeys(s for s, _ in step))
print(f"{'shape':<20} {'rounds':>6} {'old ms':>8} {'new ms':>8} {'numpy ms':>9} {'old/numpy':>10} {'new/numpy':>10} {'new/old':>8}")
for s in shapes:
    o, n, p = step[(s, "old")], step[(s, "new")], step[(s, "numpy")]
    rs = sorted(set(o) & set(n) & set(p))
    med = lambda d: statistics.median(d[r] for r in rs)
    ratio = lambda a, b: statistics.median(a[r] / b[r] for r in rs)
    print(f"{s:<20} {len(rs):>6} {med(o):>8.2f} {med(n):>8.2f} {med(p):>9.2f} {ratio(o, p):>10.2f} {ratio(n, p):>10.2f} {ratio(n, o):>8.2f}")
