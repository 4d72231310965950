import sys, glob, re, statistics, collections
d = sys.argv[1]; bins = sys.argv[2:]
rows = collections.OrderedDict()
loads = collections.defaultdict(list)
for b in bins:
    for f in sorted(glob.glob(f"{d}/{b}-*.txt")):
        for line in open(f):
            if 'load average' in line:
                loads[b].append(float(line.split('load average:')[1].split(',')[0]))
            if line.startswith('Benchmark'):
                p = line.split()
                name = re.sub(r'-\d+$', '', p[0].replace('Benchmark', ''))
                cpu = float(p[p.index('cpu-ms/op')-1]); wall = float(p[2])/1e6
                rows.setdefault(name, collections.defaultdict(list))[b].append((cpu, wall))
print("load", {b: (min(v), max(v)) for b, v in loads.items()})
print(f"{'bench':40s} " + " ".join(f"{b+' cpu(med/best) wall(med)':>34s}" for b in bins))
tot = collections.defaultdict(float)
for name, per in rows.items():
    cells = []
    for b in bins:
        v = per[b]; c = [x[0] for x in v]; w = [x[1] for x in v]
        tot[b] += statistics.median(c)
        cells.append(f"{statistics.median(c):8.2f} {min(c):6.2f} {statistics.median(w):8.2f} (n={len(v)})")
    print(f"{name:40s} " + " ".join(f"{c:>34s}" for c in cells))
print("sum of medians (cpu ms)", {b: round(t, 2) for b, t in tot.items()})
