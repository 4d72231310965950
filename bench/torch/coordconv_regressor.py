"""PyTorch counterpart of `gaze coordconv run --task regression --split quadrant --model
coordconv`, an independent check of what gaze's 906-parameter CoordConv regressor does:
AddCoords on the one-hot 64×64 map, 1×1 convs 8, 8, 8, 3×3 convs 8 and 2 (no nonlinearity),
global max pool; MSE to (x, y)/64, Adam (β2 0.99), L2 λ/2·Σw² on weights (λ = 1e-5), He-normal.
Before training it prints how often the max pool's winner lies within 2 pixels of the hot pixel:
where it almost never does, the network starts (and, in our runs, stays) in the constant-output
solution that predicts the mean centre, about 20 px off. Prints one JSON line per epoch.
Usage: /usr/bin/python3 bench/torch/coordconv_regressor.py [SEED] [EPOCHS] [LR] [BATCH] [THREADS]"""
import json, sys, time
import torch, torch.nn as nn, torch.nn.functional as F

arg = lambda i, d, t: t(sys.argv[i]) if len(sys.argv) > i else d
seed, epochs, lr, batch = arg(1, 0, int), arg(2, 10, int), arg(3, 0.01, float), arg(4, 16, int)
torch.set_num_threads(arg(5, 2, int))
torch.manual_seed(seed)

centres = [(x, y) for y in range(4, 60) for x in range(4, 60)]
train = [c for c in centres if not (c[0] >= 33 and c[1] >= 33)]
test = [c for c in centres if c[0] >= 33 and c[1] >= 33]


def tensors(cs):
    x, y = torch.zeros(len(cs), 1, 64, 64), torch.zeros(len(cs), 2)
    for i, (cx, cy) in enumerate(cs):
        x[i, 0, cy, cx] = 1
        y[i] = torch.tensor([cx / 64, cy / 64])
    return x, y


xtr, ytr = tensors(train)
xte, yte = tensors(test)
lin = torch.linspace(-1, 1, 64)
coords = torch.stack([lin.view(1, 64).expand(64, 64), lin.view(64, 1).expand(64, 64)]).unsqueeze(0)


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(3, 8, 1), nn.Conv2d(8, 8, 1), nn.Conv2d(8, 8, 1),
                                    nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 2, 3, padding=1)])
        for c in self.convs:
            nn.init.kaiming_normal_(c.weight, nonlinearity='relu')
            nn.init.zeros_(c.bias)

    def maps(self, x):
        h = torch.cat([x, coords.expand(x.shape[0], 2, 64, 64)], 1)
        for c in self.convs:
            h = c(h)
        return h

    def forward(self, x):
        return self.maps(x).amax(dim=(2, 3))


model = Regressor()
assert sum(p.numel() for p in model.parameters()) == 906
with torch.no_grad():
    win = model.maps(xtr).flatten(2).argmax(2)  # [N, 2] pixel index of each channel's maximum
near = sum(abs(int(p) % 64 - cx) <= 2 and abs(int(p) // 64 - cy) <= 2 for (cx, cy), w in zip(train, win) for p in w)
print(json.dumps({"seed": seed, "init_winner_near_hot_pixel": near / (2 * len(train))}), flush=True)

opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.99))


def distance(x, y):
    with torch.no_grad():
        return (64 * (torch.cat([model(x[i:i + 256]) for i in range(0, len(x), 256)]) - y)).norm(dim=1).mean().item()


for epoch in range(1, epochs + 1):
    t = time.perf_counter()
    perm = torch.randperm(len(train))
    for i in range(0, len(train), batch):
        idx = perm[i:i + batch]
        loss = F.mse_loss(model(xtr[idx]), ytr[idx]) + 0.5e-5 * sum((c.weight ** 2).sum() for c in model.convs)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(json.dumps({"seed": seed, "epoch": epoch, "train_px": distance(xtr, ytr), "test_px": distance(xte, yte),
                      "secs": time.perf_counter() - t}), flush=True)
