import numpy as np, json, sys
r = sys.argv[1]
m = json.load(open(r + '/meta.json'))
L = np.load(r + '/lca_layers.npy'); names = m['layers']
T = len(L); h2 = T // 2
print('T', T)
for n in ['conv1', 'fc']:
    i = names.index(n); x = L[:, i]
    print(f'{n}: total {x.sum():+.4f}, iterations 0-{h2-1} {x[:h2].sum():+.4f}, {h2}-{T-1} {x[h2:].sum():+.4f}, iterations where it hurts {(x > 0).sum()} of {T}')
tot = L.sum(0)
print('layers with total > 0 (hurting):', [names[i] for i in np.where(tot > 0)[0]])
print(f'layers with total > 0 over iterations {h2}-{T-1}:', [names[i] for i in np.where(L[h2:].sum(0) > 0)[0]])
conv = [i for i, n in enumerate(names) if n.endswith('conv1') or n.endswith('conv2') or n.endswith('.conv') or n == 'conv1']
bn = [i for i, n in enumerate(names) if n.endswith('bn') or n.endswith('bn1') or n.endswith('bn2')]
print(f"totals: convolutions {tot[conv].sum():+.4f}, batch norm {tot[bn].sum():+.4f}, fc {tot[names.index('fc')]:+.4f}, all {tot.sum():+.4f}")
hc = np.load(r + '/helped_count.npy'); t = np.load(r + '/lca_total.npy')
print(f'parameters: helped in more than half of the iterations {100*(hc > T/2).mean():.1f} %; total LCA < 0 {100*(t < 0).mean():.1f} %, > 0 {100*(t > 0).mean():.1f} %, = 0 {100*(t == 0).mean():.1f} % of {len(t)}')
