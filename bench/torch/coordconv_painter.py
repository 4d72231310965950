"""PyTorch counterpart of `gaze coordconv run --task classification --split quadrant --model
coordconv`: the 7,553-parameter CoordConv painter (tile (x, y) over 64×64, AddCoords, 1×1 convs
32, 32, 64, 64 with ReLU, 1×1 conv to 1), softmax cross-entropy over the 4,096 pixels, Adam
(β2 0.99, lr 0.001), batch 16, L2 λ/2·Σw² on the weights with λ = 1e-3, the 2,407 training
centres of the quadrant split. Prints seconds per training epoch (no evaluation) and, after the
last epoch, the train and test accuracy, as JSON, for a side-by-side timing on the same machine;
with SEED, also the accuracies after every epoch (the lock-in epoch to compare with gaze's curves).
DEVICE cuda runs it on the GPU (float32, TF32 off); SEED - means none.
Usage: /usr/bin/python3 bench/torch/coordconv_painter.py [EPOCHS] [THREADS] [SEED] [DEVICE]"""
import json, sys, time
import torch, torch.nn as nn, torch.nn.functional as F

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
seed = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] != "-" else None
dev = torch.device(sys.argv[4] if len(sys.argv) > 4 else "cpu")
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.manual_seed(seed or 0)

centres = [(x, y) for y in range(4, 60) for x in range(4, 60)]
train = torch.tensor([c for c in centres if not (c[0] >= 33 and c[1] >= 33)], dtype=torch.float32)
test = torch.tensor([c for c in centres if c[0] >= 33 and c[1] >= 33], dtype=torch.float32)
assert len(train) == 2407 and len(test) == 729
train, test = train.to(dev), test.to(dev)
label = lambda c: (c[:, 1] * 64 + c[:, 0]).long()

lin = torch.linspace(-1, 1, 64)
coords = torch.stack([lin.view(1, 64).expand(64, 64), lin.view(64, 1).expand(64, 64)]).unsqueeze(0).to(dev)


class Painter(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(a, b, 1) for a, b in [(4, 32), (32, 32), (32, 64), (64, 64), (64, 1)]])
        for c in self.convs:
            nn.init.kaiming_normal_(c.weight, nonlinearity='relu')
            nn.init.zeros_(c.bias)

    def forward(self, xy):
        b = xy.shape[0]
        h = torch.cat([xy.view(b, 2, 1, 1).expand(b, 2, 64, 64), coords.expand(b, 2, 64, 64)], 1)
        for i, c in enumerate(self.convs):
            h = c(h)
            if i < 4:
                h = F.relu(h)
        return h.view(b, 64 * 64)


model = Painter().to(dev)
assert sum(p.numel() for p in model.parameters()) == 7553
opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.99))


def accuracy(c):
    with torch.no_grad():
        return sum((model(c[i:i + 256]).argmax(1) == label(c[i:i + 256])).sum().item() for i in range(0, len(c), 256)) / len(c)


secs = []
for epoch in range(epochs):
    t = time.perf_counter()
    perm = torch.randperm(len(train), device=dev)
    for i in range(0, len(train), 16):
        c = train[perm[i:i + 16]]
        loss = F.cross_entropy(model(c), label(c)) + 0.5e-3 * sum((m.weight ** 2).sum() for m in model.convs)
        opt.zero_grad()
        loss.backward()
        opt.step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    secs.append(time.perf_counter() - t)
    if seed is not None:
        print(json.dumps({"seed": seed, "epoch": epoch + 1, "train_accuracy": accuracy(train),
                          "test_accuracy": accuracy(test), "secs": secs[-1]}), flush=True)
print(json.dumps({"epoch_secs": secs, "train_accuracy": accuracy(train), "test_accuracy": accuracy(test),
                  "threads": torch.get_num_threads(), "torch": torch.__version__,
                  "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"}))
