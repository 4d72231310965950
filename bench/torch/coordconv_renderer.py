"""Independent PyTorch check of `gaze coordconv run --task rendering --model coordconv`: the
CoordConv renderer as the issue specifies it (the 7,553-parameter CoordConv painter, a spatial
softmax over its 64×64 map, 3×3 "same" convolutions with 8, 8, 16, 16 channels and ReLU, a 3×3
convolution to one channel; 11,850 parameters), per-pixel sigmoid cross-entropy against the 9×9
square, Adam (β2 0.99), batch 16, L2 λ/2·Σw² on the weights with λ = 1e-3, He-normal
initialisation. Prints, per epoch, the training loss and the mean IOU of the output thresholded
at 0.5 on the train and test sets (quadrant or uniform split), as JSON lines. INTERM > 0 adds
INTERM × the softmax cross-entropy of the painter's logits against the one-hot centre (the
intermediate loss of the authors' code, their -interm softmax), which gaze does not have.
Usage: /usr/bin/python3 bench/torch/coordconv_renderer.py [EPOCHS] [LR] [SEED] [SPLIT] [THREADS] [INTERM]"""
import json, sys, time
import torch, torch.nn as nn, torch.nn.functional as F

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
lr = float(sys.argv[2]) if len(sys.argv) > 2 else 0.005
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
split = sys.argv[4] if len(sys.argv) > 4 else "quadrant"
torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 2)
interm = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
torch.manual_seed(seed)

centres = torch.tensor([(x, y) for y in range(4, 60) for x in range(4, 60)], dtype=torch.float32)
if split == "quadrant":
    held = (centres[:, 0] >= 33) & (centres[:, 1] >= 33)
    train, test = centres[~held], centres[held]
    assert len(train) == 2407 and len(test) == 729
else:  # a seeded 80/20 split (not gaze's permutation; the same sizes)
    perm = torch.randperm(len(centres), generator=torch.Generator().manual_seed(seed))
    ntest = len(centres) // 5
    train, test = centres[perm[ntest:]], centres[perm[:ntest]]

ii = torch.arange(64).view(64, 1).float()
jj = torch.arange(64).view(1, 64).float()


def squares(c):  # the 9×9 squares centred at c (x = column, y = row): [B, 1, 64, 64]
    x, y = c[:, 0].view(-1, 1, 1), c[:, 1].view(-1, 1, 1)
    return (((jj - x).abs() <= 4) & ((ii - y).abs() <= 4)).float().unsqueeze(1)


lin = torch.linspace(-1, 1, 64)
coords = torch.stack([lin.view(1, 64).expand(64, 64), lin.view(64, 1).expand(64, 64)]).unsqueeze(0)


class Renderer(nn.Module):
    def __init__(self):
        super().__init__()
        self.paint = nn.ModuleList([nn.Conv2d(a, b, 1) for a, b in [(4, 32), (32, 32), (32, 64), (64, 64), (64, 1)]])
        self.render = nn.ModuleList([nn.Conv2d(a, b, 3, padding=1) for a, b in [(1, 8), (8, 8), (8, 16), (16, 16), (16, 1)]])
        for c in list(self.paint) + list(self.render):
            nn.init.kaiming_normal_(c.weight, nonlinearity='relu')
            nn.init.zeros_(c.bias)

    def forward(self, xy, logits=False):
        b = xy.shape[0]
        h = torch.cat([xy.view(b, 2, 1, 1).expand(b, 2, 64, 64), coords.expand(b, 2, 64, 64)], 1)
        for i, c in enumerate(self.paint):
            h = c(h)
            if i < 4:
                h = F.relu(h)
        z = h.view(b, 64 * 64)
        h = F.softmax(z, 1).view(b, 1, 64, 64)  # the spatial softmax ("sharpen")
        for i, c in enumerate(self.render):
            h = c(h)
            if i < 4:
                h = F.relu(h)
        return (h, z) if logits else h


model = Renderer()
assert sum(p.numel() for p in model.parameters()) == 11850
opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.99))
convs = list(model.paint) + list(model.render)


def iou(c):
    with torch.no_grad():
        s = 0.0
        for i in range(0, len(c), 256):
            out, sq = model(c[i:i + 256]) > 0, squares(c[i:i + 256]) > 0
            inter = (out & sq).flatten(1).sum(1).float()
            union = (out | sq).flatten(1).sum(1).float()
            s += (inter / union).sum().item()
        return s / len(c)


for epoch in range(epochs):
    t = time.perf_counter()
    perm = torch.randperm(len(train))
    tot = 0.0
    for i in range(0, len(train), 16):
        c = train[perm[i:i + 16]]
        out, z = model(c, logits=True)
        loss = F.binary_cross_entropy_with_logits(out, squares(c))
        tot += loss.item() * len(c)
        if interm > 0:
            loss = loss + interm * F.cross_entropy(z, (c[:, 1] * 64 + c[:, 0]).long())
        loss = loss + 0.5e-3 * sum((m.weight ** 2).sum() for m in convs)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(json.dumps({"epoch": epoch + 1, "train_loss": tot / len(train), "train_iou": iou(train),
                      "test_iou": iou(test), "secs": time.perf_counter() - t, "lr": lr, "seed": seed,
                      "split": split, "interm": interm}), flush=True)
