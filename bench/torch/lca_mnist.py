"""PyTorch counterpart of `gaze lca train --model mnist-fc --data mnist --lca-examples 10000`:
mnist-fc (784-100-50-10), SGD lr 0.01 momentum 0.9, batch 250, LCA over a fixed 10,000-example
training subset with Simpson n = 2 (g(θ_t) reused from the previous step), full-set gradients in
chunks of 2500. Prints per-epoch seconds and the LCA headline numbers as JSON, for a side-by-side
timing on the same machine. Usage: /usr/bin/python3 bench/torch/lca_mnist.py DATA_DIR [EPOCHS]"""
import gzip, json, sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)

def idx(path):
    with gzip.open(path) as f:
        b = f.read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)

d = sys.argv[1]
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
x = torch.tensor(idx(d + '/train-images-idx3-ubyte.gz'), dtype=torch.float32).view(-1, 784) / 255
y = torch.tensor(idx(d + '/train-labels-idx1-ubyte.gz'), dtype=torch.long)
sub = torch.randperm(len(x))[:10000]
xs, ys = x[sub], y[sub]

model = nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 50), nn.ReLU(), nn.Linear(50, 10))
for m in model:
    if isinstance(m, nn.Linear):
        nn.init.kaiming_normal_(m.weight); nn.init.zeros_(m.bias)
params = list(model.parameters())
opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)

def flat():
    return torch.cat([p.detach().reshape(-1) for p in params])

def setflat(v):
    i = 0
    for p in params:
        p.data.copy_(v[i:i + p.numel()].view_as(p)); i += p.numel()

def fullgrad():
    for p in params:
        p.grad = None
    loss = 0.0
    for c in range(0, 10000, 2500):
        l = F.cross_entropy(model(xs[c:c + 2500]), ys[c:c + 2500], reduction='sum') / 10000
        l.backward(); loss += l.item()
    return loss, torch.cat([p.grad.reshape(-1) for p in params])

res = {'epochs': []}
th0 = flat(); L0, g0 = fullgrad()
errs, helped, dl, slca = [], [], 0.0, 0.0
for ep in range(epochs):
    t = time.perf_counter()
    perm = torch.randperm(len(x))
    for b in range(0, len(x), 250):
        i = perm[b:b + 250]
        setflat(th0)
        opt.zero_grad(); F.cross_entropy(model(x[i]), y[i]).backward(); opt.step()
        th1 = flat()
        setflat((th0 + th1) / 2); _, gm = fullgrad()
        setflat(th1); L1, g1 = fullgrad()
        lca = (g0 + 4 * gm + g1) / 6 * (th1 - th0)
        errs.append(abs(L1 - L0 - lca.sum().item())); helped.append((lca < 0).float().mean().item())
        dl += L1 - L0; slca += lca.sum().item()
        th0, L0, g0 = th1, L1, g1
    res['epochs'].append(time.perf_counter() - t)
res.update(max_error=max(errs), relative_error=abs(dl - slca) / abs(dl), helped=float(np.mean(helped)), torch=torch.__version__)
print(json.dumps(res))
