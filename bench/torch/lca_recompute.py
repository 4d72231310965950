"""Recompute gaze's per-parameter LCA of a run from its files alone, in float64 PyTorch, and compare.

    /usr/bin/python3 bench/torch/lca_recompute.py RUN DATA_DIR [--iters 0,5,17] [--set train|held_out]

RUN is a `gaze lca train ... --save-weights --save-lca` folder; DATA_DIR holds the IDX files
(MNIST's under their plain names, Fashion-MNIST's in DATA_DIR/fashion-mnist). Nothing of gaze is
used but what it wrote: meta.json (model, parameter table, chunk size, batch-norm mode),
losses.csv (Simpson's n of each iteration), weights.npy (θ_t, θ_{t+1}), lca_indices.npy (or
held_out_indices.npy: indices into the training set in the IDX files' order) and, to compare,
lca.npy. Models: mnist-fc / mlp:... (Linear + ReLU) and resnet-(6n+2) with batch norm in
batch-statistics mode over chunks of lca_batch examples in the set's order (running statistics
are not in weights.npy). Prints, per iteration, the relative L1 difference
Σ|gaze − ref| / Σ|ref| and ΣLCA of both, and a JSON line with the worst.
"""
import argparse, csv, gzip, json, os, sys
import numpy as np, torch, torch.nn.functional as F

torch.set_num_threads(int(os.environ.get('THREADS', '2')))
# DTYPE=float32 computes the reference in float32 instead, to see how far float32 rounding alone
# moves a recomputation.
DT = getattr(torch, os.environ.get('DTYPE', 'float64'))
torch.set_default_dtype(DT)


def idx(path):
    with gzip.open(path) as f:
        b = f.read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


def load_train(meta, data_dir):
    name = meta['data']['name']
    d = data_dir if name == 'mnist' else os.path.join(data_dir, name)
    return idx(os.path.join(d, 'train-images-idx3-ubyte.gz')), idx(os.path.join(d, 'train-labels-idx1-ubyte.gz'))


def mlp(P, x):
    ws = [n for n in P.order if n.endswith('.weight')]
    h = x.reshape(len(x), -1)
    for k, name in enumerate(ws):
        h = h @ P[name].T + P[name[:-len('weight')] + 'bias']
        if k < len(ws) - 1:
            h = F.relu(h)
    return h


def resnet(P, x):
    """CIFAR ResNet-(6n+2) as engine/models builds it, parameters by gaze's names; batch norm
    normalises with the chunk's own (biased) statistics, eps 1e-5."""
    def bn(h, p):
        return F.batch_norm(h, None, None, P[p + '.weight'], P[p + '.bias'], training=True, eps=1e-5)
    h = F.relu(bn(F.conv2d(x, P['conv1.weight'], padding=1), 'bn1'))
    blocks = sorted({k.split('.')[0] + '.' + k.split('.')[1] for k in P if k.startswith('stage')},
                    key=lambda s: (int(s[5:s.index('.')]), int(s.split('block')[1])))
    for b in blocks:
        w1 = P[b + '.conv1.weight']
        stride = 2 if (b + '.shortcut.conv.weight') in P and w1.shape[0] != w1.shape[1] else 1
        m = F.relu(bn(F.conv2d(h, w1, stride=stride, padding=1), b + '.bn1'))
        m = bn(F.conv2d(m, P[b + '.conv2.weight'], padding=1), b + '.bn2')
        s = h
        if (b + '.shortcut.conv.weight') in P:
            s = bn(F.conv2d(h, P[b + '.shortcut.conv.weight'], stride=stride), b + '.shortcut.bn')
        h = F.relu(m + s)
    h = h.mean(dim=(2, 3))
    return h @ P['fc.weight'].T + P['fc.bias']


class P(dict):
    """Parameters by name (views of one θ vector, by meta.json's table), in arena order."""
    def __init__(self, meta, theta):
        super().__init__()
        self.order = []
        for p in meta['params']:
            t = theta[p['offset']:p['offset'] + p['size']].view(p['shape'])
            self[p['name']] = t
            self.order.append(p['name'])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('run'); ap.add_argument('data_dir')
    ap.add_argument('--iters', default='0,1,2')
    ap.add_argument('--set', default='train', choices=['train', 'held_out'])
    a = ap.parse_args()
    meta = json.load(open(os.path.join(a.run, 'meta.json')))
    integ = meta['integrator']
    if integ.get('include_l2') or integ.get('first_order'):
        sys.exit('runs with --include-l2 or --first-order are not covered')
    model = meta['model']
    if model == 'mnist-fc' or model.startswith('mlp:'):
        net = mlp
    elif model.startswith('resnet'):
        if not integ['bn_batch_stats']:
            sys.exit('running statistics are not in weights.npy: recompute runs in batch-statistics mode')
        net = resnet
    else:
        sys.exit(f'model {model}: only mnist-fc, mlp:... and resnet-(6n+2) are rebuilt here')
    # (A per-class run cuts its set into class-pure chunks; without batch norm the chunks do not
    # change the mean gradient, and per-class LCA with batch statistics is refused by gaze.)
    pix, labels = load_train(meta, a.data_dir)
    sub = '' if a.set == 'train' else meta['held_out_lca']['dir']
    ind = np.load(os.path.join(a.run, meta['lca_indices'] if a.set == 'train' else meta['held_out_indices']))
    x = torch.tensor(pix[ind], dtype=DT).unsqueeze(1) / 255  # N × 1 × 28 × 28
    y = torch.tensor(labels[ind].astype(np.int64))
    N, chunk = len(ind), integ['lca_batch']
    W = np.load(os.path.join(a.run, 'weights.npy'), mmap_mode='r')
    full = np.load(os.path.join(a.run, 'lca.npy'), mmap_mode='r')  # the LCA set's (T × D, float32)
    rows = list(csv.DictReader(open(os.path.join(a.run, sub, 'losses.csv'))))

    def grad(theta):
        th = torch.tensor(theta, dtype=DT, requires_grad=True)
        Pm = P(meta, th)
        loss = 0.0
        for c in range(0, N, chunk):
            l = F.cross_entropy(net(Pm, x[c:c + chunk]), y[c:c + chunk], reduction='sum') / N
            l.backward()
            loss += l.item()
        return th.grad.numpy().astype(np.float64)

    worst = 0.0
    for t in [int(s) for s in a.iters.split(',')]:
        n = int(rows[t]['n'])
        th0, th1 = W[t].astype(np.float64), W[t + 1].astype(np.float64)
        w = np.r_[1, np.tile([4, 2], n // 2)[:-1], 1] / (3 * n)  # Simpson: 1 4 2 4 … 4 1
        gbar = sum(wk * grad(np.float32(th0 + k / n * (th1 - th0)).astype(np.float64)) for k, wk in enumerate(w))
        ref = gbar * (th1 - th0)
        if a.set == 'train':
            got = full[t].astype(np.float64)
            rel = np.abs(got - ref).sum() / np.abs(ref).sum()
            worst = max(worst, rel)
            print(f'iteration {t}: n = {n}, relative L1 {rel:.3g}, ΣLCA gaze {got.sum():.9g}, {DT} torch {ref.sum():.9g}')
        else:  # the held-out split's per-layer sums (lca.npy is the LCA set's)
            L = np.load(os.path.join(a.run, sub, 'lca_layers.npy'))[t]
            refl = [sum(ref[p['offset']:p['offset'] + p['size']].sum() for p in meta['params'] if p['layer'] == l) for l in meta['layers']]
            rel = np.abs(L - refl).sum() / np.abs(refl).sum()
            worst = max(worst, rel)
            print(f'iteration {t}: n = {n}, per-layer relative L1 {rel:.3g}')
    print(json.dumps({'run': a.run, 'model': model, 'set': a.set, 'iterations': a.iters, 'worst_relative_l1': worst}))


if __name__ == '__main__':
    main()
