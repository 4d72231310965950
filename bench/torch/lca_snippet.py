"""The README's recomputation of one iteration's LCA of an mnist-fc run in float64 PyTorch:
/usr/bin/python3 bench/torch/lca_snippet.py RUN DATA_DIR T (prints the relative L1 difference to lca.npy)."""
import csv, gzip, json, sys, numpy as np, torch, torch.nn.functional as F
torch.set_default_dtype(torch.float64)
run, data, t = sys.argv[1], sys.argv[2], int(sys.argv[3])               # RUN (--save-weights --save-lca), IDX folder, t
idx = lambda f: (lambda b: np.frombuffer(b, np.uint8, offset=4 + 4 * b[3]))(gzip.open(f'{data}/{f}-idx{1 + (f[-6:] == "images") * 2}-ubyte.gz').read())
meta, W = json.load(open(f'{run}/meta.json')), np.load(f'{run}/weights.npy', mmap_mode='r')
i = np.load(f'{run}/{meta["lca_indices"]}'); n = int(list(csv.DictReader(open(f'{run}/losses.csv')))[t]['n'])
X, Y = torch.tensor(idx('train-images').reshape(-1, 784)[i] / 255.), torch.tensor(idx('train-labels')[i].astype(np.int64))
def grad(th):                                                           # mnist-fc: Linear, ReLU, Linear, ReLU, Linear
    th, h, P = torch.tensor(th, requires_grad=True), X, meta['params']
    for k in range(0, len(P), 2):
        h = h @ th[P[k]['offset']:][:P[k]['size']].view(P[k]['shape']).T + th[P[k + 1]['offset']:][:P[k + 1]['size']]
        h = F.relu(h) if k + 2 < len(P) else h
    F.cross_entropy(h, Y).backward(); return th.grad.numpy()
a, b = W[t].astype(float), W[t + 1].astype(float); s = np.r_[1, np.tile([4, 2], n // 2)[:-1], 1] / (3 * n)  # Simpson
lca = sum(sk * grad(np.float32(a + k / n * (b - a)).astype(float)) for k, sk in enumerate(s)) * (b - a)
print(abs(lca - np.load(f'{run}/lca.npy', mmap_mode='r')[t]).sum() / abs(lca).sum())
