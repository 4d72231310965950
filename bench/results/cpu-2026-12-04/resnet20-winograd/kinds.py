#!/usr/bin/env python3
# Medians over rounds of TestStepBreakdown outputs, CPU ms per step by kind of op:
#   python3 kinds.py "ab1-main-*.txt" "ab1-fused-*.txt"
# (one column per glob; the last lines give the step CPU and wall median and best).
import sys,re,statistics,glob
def kinds(f):
    d={}
    for line in open(f):
        m=re.match(r'^(\S.*?)\s{2,}.*?([\d.]+)\s+([\d.]+)(\s+\d+)?$',line.rstrip())
        if not m: continue
        name=line[:36].strip(); parts=line[36:].split()
        if len(parts)<2: continue
        try: wall,cpu=float(parts[0]),float(parts[1])
        except: continue
        if name.startswith('conv'):
            k=' '.join(name.split()[:2])+' '+name.split()[2]
            if '3x3/s1' in name and '3→16' not in name: k=name.split()[0]+' '+name.split()[1]+' 3x3/s1'
            elif '3→16' in name: k=name.split()[0]+' '+name.split()[1]+' stem'
            else: k=name.split()[0]+' '+name.split()[1]+' '+name.split()[2]
        elif name.startswith('step') or name.startswith('other'): k=name
        else: k=re.sub(r'\s+[\d×]+$','',name).strip()
        d.setdefault(k,[0,0]); d[k][0]+=wall; d[k][1]+=cpu
    return d
groups=sys.argv[1:]
res={}
for g in groups:
    fs=sorted(glob.glob(g))
    ds=[kinds(f) for f in fs]
    keys=set().union(*ds)
    res[g]={k:(statistics.median([d.get(k,[0,0])[1] for d in ds]), min(d.get(k,[0,0])[1] for d in ds), statistics.median([d.get(k,[0,0])[0] for d in ds]), min(d.get(k,[0,0])[0] for d in ds)) for k in keys}
allk=sorted(set().union(*[set(r) for r in res.values()]))
print('| kind | '+' | '.join(groups)+' |')
for k in allk:
    print('| %s | %s |'%(k,' | '.join('%.1f'%res[g].get(k,(0,))[0] for g in groups)))
for g in groups:
    r=res[g]; print(g,'step CPU median %.1f best %.1f; wall median %.1f best %.1f'%r['step'])
