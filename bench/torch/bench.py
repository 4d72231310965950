#!/usr/bin/env python3
"""PyTorch twin of gaze's GPU benchmarks: the same workloads, shapes and names as
`gaze bench --device cuda --models resnet20:128`, `gaze bench --lca` and `gaze bench --kernels`
(bench/kernels.go), in float32 with TF32 off, printed as one JSON document.

    python3 bench/torch/bench.py [--quick] > torch.json

Timings use CUDA events around repeated calls after a warm-up (cuDNN autotuning on, which favours
PyTorch); the reported figure is the median over repetitions.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.backends.cudnn.benchmark = True
torch.set_float32_matmul_precision("highest")

DEV = torch.device("cuda")
PROJ_D = 272474  # ResNet-20's parameter count


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.short is None else self.short(x)))


class ResNet(nn.Module):
    """gaze's engine/models.ResNet: 1x1-conv+BN projection shortcuts, no conv bias (272,474 params for n=3)."""

    def __init__(self, n=3, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for s, w in enumerate([16, 32, 64]):
            for b in range(n):
                blocks.append(Block(cin, w, 2 if (b == 0 and s > 0) else 1))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.blocks(x)
        return self.fc(x.mean((2, 3)))


def timeit(f, min_time=1.0, warmup=3):
    """Median milliseconds per call of f, over batches of calls timed with CUDA events."""
    for _ in range(warmup):
        f()
    torch.cuda.synchronize()
    # Calibrate the batch size to about 20 ms.
    t0 = time.perf_counter()
    f()
    torch.cuda.synchronize()
    one = max(time.perf_counter() - t0, 1e-6)
    reps = max(1, min(1000, int(0.02 / one)))
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(times) < 5:
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(reps):
            f()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b) / reps)
    times.sort()
    return times[len(times) // 2]


def resnet_step(min_time):
    torch.manual_seed(0)
    m = ResNet().to(DEV)
    assert sum(p.numel() for p in m.parameters()) == PROJ_D
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(128, 3, 32, 32, device=DEV)
    y = torch.randint(0, 10, (128,), device=DEV)

    def step():
        opt.zero_grad(set_to_none=False)
        F.cross_entropy(m(x), y).backward()
        opt.step()

    ms = timeit(step, min_time)
    return {"model": "resnet20", "batch": 128, "step_ms": ms, "examples_per_s": 128 / ms * 1e3}


def lca_gradient(examples, chunk):
    torch.manual_seed(0)
    m = ResNet().to(DEV)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.momentum = 0.0  # gaze's Model.Gradient never updates running statistics
    m.train()
    stored = min(examples, 2 * chunk)  # cycled, as gaze's bench does; every chunk is uploaded
    xs = torch.randn(stored, 3, 32, 32).pin_memory()
    ys = torch.randint(0, 10, (stored,)).pin_memory()

    def full():
        m.zero_grad(set_to_none=False)
        total = 0.0
        for s in range(0, examples, chunk):
            k = min(chunk, examples - s)
            i0 = s % stored
            x = xs[i0:i0 + k].to(DEV, non_blocking=True)
            y = ys[i0:i0 + k].to(DEV, non_blocking=True)
            loss = F.cross_entropy(m(x), y, reduction="sum") / examples
            loss.backward()
            total += loss.detach()
        return float(total)

    full()  # warm-up
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    full()
    torch.cuda.synchronize()
    s = time.perf_counter() - t0
    return {"model": "resnet20", "examples": examples, "chunk": chunk, "seconds": s, "examples_per_s": examples / s}


def kernels(min_time, quick):
    out = []

    def add(kernel, shape, f, flops=0.0, nbytes=0.0):
        ms = timeit(f, min_time)
        r = {"kernel": kernel, "shape": shape, "ms": ms}
        if flops:
            r["gflop_s"] = flops / ms / 1e6
        if nbytes:
            r["gb_s"] = nbytes / ms / 1e6
        out.append(r)
        print(f"  {kernel:20s} {shape:26s} {ms:9.4f} ms", file=sys.stderr)

    for c, hw in [(16, 32), (32, 16), (64, 8), (64, 32)]:
        x = torch.randn(128, c, hw, hw, device=DEV)
        w = torch.randn(c, c, 3, 3, device=DEV)
        y = F.conv2d(x, w, padding=1)
        dy = torch.randn_like(y)
        flops = 2.0 * 128 * c * hw * hw * c * 9
        io = 4.0 * (x.numel() + w.numel() + y.numel())
        shape = f"n128_c{c}_{hw}x{hw}_k{c}_3x3"
        add("conv_fwd", shape, lambda: F.conv2d(x, w, padding=1), flops, io)
        add("conv_bwd_data", shape, lambda: torch.ops.aten.convolution_backward(
            dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, False, False]), flops, io)
        add("conv_bwd_filter", shape, lambda: torch.ops.aten.convolution_backward(
            dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [False, True, False]), flops, io)
    for n in (512, 2048):
        a, b = torch.randn(n, n, device=DEV), torch.randn(n, n, device=DEV)
        add("gemm_nn", f"{n}x{n}x{n}", lambda: a @ b, 2.0 * n ** 3, 12.0 * n * n)
    for d in (1000, 10000):
        if quick and d > 1000:
            continue
        p = torch.randn(d, PROJ_D, device=DEV)  # stored as gaze stores it: d rows of D
        xd, theta = torch.randn(d, device=DEV), torch.randn(PROJ_D, device=DEV)
        g = torch.randn(PROJ_D, device=DEV)
        shape = f"D{PROJ_D}_d{d}"
        add("proj_dense", shape, lambda: torch.addmv(theta, p.t(), xd), 2.0 * d * PROJ_D, 4.0 * d * PROJ_D)
        add("proj_dense_T", shape, lambda: torch.mv(p, g), 2.0 * d * PROJ_D, 4.0 * d * PROJ_D)
        del p
        torch.cuda.empty_cache()
    n, c, hw = 128, 16, 32
    bn = nn.BatchNorm2d(c).to(DEV)
    x = torch.randn(n, c, hw, hw, device=DEV, requires_grad=True)
    add("batchnorm_train", "n128_c16_32x32", lambda: bn(x), 0, 4.0 * 3 * x.numel())
    yb = bn(x)
    gy = torch.randn_like(yb)
    add("batchnorm_backward", "n128_c16_32x32",
        lambda: torch.autograd.grad(yb, [x], gy, retain_graph=True), 0, 4.0 * 5 * x.numel())
    xr = torch.randn(n, c, hw, hw, device=DEV)
    add("relu", "n128_c16_32x32", lambda: F.relu(xr), 0, 8.0 * xr.numel())
    z = torch.randn(64, 4096, device=DEV, requires_grad=True)
    lab = torch.arange(64, device=DEV) * 61 % 4096
    add("softmax_xent", "n64_k4096",
        lambda: torch.autograd.grad(F.cross_entropy(z, lab), [z]), 0, 8.0 * z.numel())
    th = torch.randn(PROJ_D, device=DEV, requires_grad=True)
    th.grad = torch.randn(PROJ_D, device=DEV)
    sgd = torch.optim.SGD([th], lr=1e-6, momentum=0.9, weight_decay=5e-4)
    add("sgd_step", f"D{PROJ_D}", sgd.step, 0, 20.0 * PROJ_D)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="skip the 10 GB projection and shorten timings")
    ap.add_argument("--min-time", type=float, default=1.0)
    args = ap.parse_args()
    mt = 0.2 if args.quick else args.min_time
    res = {
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cudnn": torch.backends.cudnn.version(),
        "tf32": False,
    }
    print("resnet20 step ...", file=sys.stderr)
    res["resnet20_step"] = resnet_step(mt * 3)
    print("LCA gradient ...", file=sys.stderr)
    res["lca_gradient"] = lca_gradient(10000 if args.quick else 50000, 2500)
    print("kernels ...", file=sys.stderr)
    res["kernels"] = kernels(mt, args.quick)
    json.dump(res, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
