#!/usr/bin/env python3
"""PyTorch twin of gaze's GPU benchmarks: the same workloads, shapes and names as
`gaze bench --device cuda --models resnet20:128`, `gaze bench --lca` and `gaze bench --kernels`
(bench/kernels.go), in float32 with TF32 off (unless --tf32), printed as one JSON document.

    python3 bench/torch/bench.py [--quick] [--parts step,lca,kernels] [--tf32] > torch.json
    python3 bench/torch/bench.py --device cpu --tiny        # the plumbing, on a machine without a GPU

The ResNet-20 step is timed eagerly and as a CUDA graph (torch.cuda.CUDAGraph over forward,
backward and the optimizer step, static input), the fastest PyTorch offers for a fixed shape.
Timings use CUDA events around repeated calls after a warm-up (cuDNN autotuning on, which
favours PyTorch); the reported figure is the median over repetitions.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.backends.cudnn.benchmark = True

DEV = torch.device("cuda")
PROJ_D = 272474  # ResNet-20's parameter count
TINY = False  # --tiny: small shapes, for checking the script without a GPU


def set_tf32(on):
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on
    torch.set_float32_matmul_precision("high" if on else "highest")


def sync():
    if DEV.type == "cuda":
        torch.cuda.synchronize()


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
    """Median milliseconds per call of f, over batches of calls timed with CUDA events (on the
    CPU, with the wall clock)."""
    for _ in range(warmup):
        f()
    sync()
    # Calibrate the batch size to about 20 ms.
    t0 = time.perf_counter()
    f()
    sync()
    one = max(time.perf_counter() - t0, 1e-6)
    reps = max(1, min(1000, int(0.02 / one)))
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(times) < 5:
        if DEV.type == "cuda":
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            for _ in range(reps):
                f()
            b.record()
            torch.cuda.synchronize()
            times.append(a.elapsed_time(b) / reps)
        else:
            t0 = time.perf_counter()
            for _ in range(reps):
                f()
            times.append((time.perf_counter() - t0) * 1e3 / reps)
    times.sort()
    return times[len(times) // 2]


def resnet_step(min_time, graph=False):
    """ResNet-20's SGD step at batch 128, eager or as one CUDA graph (static input and labels,
    gradients and the optimizer's momentum in the graph's memory), as PyTorch's CUDA graphs
    documentation captures a whole network."""
    torch.manual_seed(0)
    m = ResNet().to(DEV)
    assert sum(p.numel() for p in m.parameters()) == PROJ_D
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    n = 8 if TINY else 128
    x = torch.randn(n, 3, 32, 32, device=DEV)
    y = torch.randint(0, 10, (n,), device=DEV)

    def eager():
        opt.zero_grad(set_to_none=False)
        F.cross_entropy(m(x), y).backward()
        opt.step()

    step = eager
    if graph:
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(m(x), y).backward()
                opt.step()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(g):
            F.cross_entropy(m(x), y).backward()
            opt.step()
        step = g.replay
    ms = timeit(step, min_time)
    return {"model": "resnet20", "batch": n, "graph": graph, "step_ms": ms, "examples_per_s": n / ms * 1e3}


def lca_gradient(examples, chunk):
    torch.manual_seed(0)
    m = ResNet().to(DEV)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.momentum = 0.0  # gaze's Model.Gradient never updates running statistics
    m.train()
    stored = min(examples, 2 * chunk)  # cycled, as gaze's bench does; every chunk is uploaded
    xs = torch.randn(stored, 3, 32, 32)
    ys = torch.randint(0, 10, (stored,))
    if DEV.type == "cuda":
        xs, ys = xs.pin_memory(), ys.pin_memory()

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
    sync()
    t0 = time.perf_counter()
    full()
    sync()
    s = time.perf_counter() - t0
    return {"model": "resnet20", "examples": examples, "chunk": chunk, "seconds": s, "examples_per_s": examples / s}


# ResNet-20's convolutions at batch 128 (bench/kernels.go resnetConvs): (C, HW, K, R, stride).
RESNET_CONVS = [(16, 32, 16, 3, 1), (32, 16, 32, 3, 1), (64, 8, 64, 3, 1), (64, 32, 64, 3, 1),
                (3, 32, 16, 3, 1), (16, 32, 32, 3, 2), (32, 16, 64, 3, 2), (16, 32, 32, 1, 2), (32, 16, 64, 1, 2)]


def conv_shape(c, hw, k, r, stride):
    s = f"n128_c{c}_{hw}x{hw}_k{k}_{r}x{r}"
    return s + (f"_s{stride}" if stride != 1 else "")


def kernels(min_time, quick, only=""):
    out = []
    batch = 4 if TINY else 128

    def add(kernel, shape, f, flops=0.0, nbytes=0.0):
        if only and not any(f and f in kernel + "/" + shape for f in only.split(",")):
            return
        ms = timeit(f, min_time)
        r = {"kernel": kernel, "shape": shape, "ms": ms}
        if flops:
            r["gflop_s"] = flops / ms / 1e6
        if nbytes:
            r["gb_s"] = nbytes / ms / 1e6
        out.append(r)
        print(f"  {kernel:20s} {shape:30s} {ms:9.4f} ms", file=sys.stderr)

    for c, hw, k, r, stride in RESNET_CONVS:
        pad = r // 2
        x = torch.randn(batch, c, hw, hw, device=DEV)
        w = torch.randn(k, c, r, r, device=DEV)
        y = F.conv2d(x, w, stride=stride, padding=pad)
        dy = torch.randn_like(y)
        flops = 2.0 * batch * k * y.shape[2] * y.shape[3] * c * r * r
        io = 4.0 * (x.numel() + w.numel() + y.numel())
        shape = conv_shape(c, hw, k, r, stride)
        st, pd = [stride, stride], [pad, pad]
        add("conv_fwd", shape, lambda: F.conv2d(x, w, stride=stride, padding=pad), flops, io)
        add("conv_bwd_data", shape, lambda: torch.ops.aten.convolution_backward(
            dy, x, w, None, st, pd, [1, 1], False, [0, 0], 1, [True, False, False]), flops, io)
        add("conv_bwd_filter", shape, lambda: torch.ops.aten.convolution_backward(
            dy, x, w, None, st, pd, [1, 1], False, [0, 0], 1, [False, True, False]), flops, io)
    for n in ((64,) if TINY else (512, 2048)):
        a, b = torch.randn(n, n, device=DEV), torch.randn(n, n, device=DEV)
        add("gemm_nn", f"{n}x{n}x{n}", lambda: a @ b, 2.0 * n ** 3, 12.0 * n * n)
    proj_d = 1000 if TINY else PROJ_D
    for d in ((10,) if TINY else (1000, 10000)):
        if quick and d > 1000:
            continue
        p = torch.randn(d, proj_d, device=DEV)  # stored as gaze stores it: d rows of D
        xd, theta = torch.randn(d, device=DEV), torch.randn(proj_d, device=DEV)
        g = torch.randn(proj_d, device=DEV)
        shape = f"D{PROJ_D}_d{d}"
        add("proj_dense", shape, lambda: torch.addmv(theta, p.t(), xd), 2.0 * d * proj_d, 4.0 * d * proj_d)
        add("proj_dense_T", shape, lambda: torch.mv(p, g), 2.0 * d * proj_d, 4.0 * d * proj_d)
        del p
        if DEV.type == "cuda":
            torch.cuda.empty_cache()
    n, c, hw = batch, 16, 32
    bn = nn.BatchNorm2d(c).to(DEV)
    x = torch.randn(n, c, hw, hw, device=DEV, requires_grad=True)
    add("batchnorm_train", "n128_c16_32x32", lambda: bn(x), 0, 4.0 * 3 * x.numel())
    yb = bn(x)
    gy = torch.randn_like(yb)
    add("batchnorm_backward", "n128_c16_32x32",
        lambda: torch.autograd.grad(yb, [x], gy, retain_graph=True), 0, 4.0 * 5 * x.numel())
    res = torch.randn(n, c, hw, hw, device=DEV)
    add("batchnorm_add_relu", "n128_c16_32x32", lambda: F.relu(bn(x) + res), 0, 4.0 * 4 * x.numel())
    yr = F.relu(bn(x))
    add("batchnorm_relu_backward", "n128_c16_32x32",
        lambda: torch.autograd.grad(yr, [x], gy, retain_graph=True), 0, 4.0 * 7 * x.numel())
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
    # grad×delta's bandwidth: the element-wise product (gaze: Mul), into a preallocated output.
    for name, size in ((f"D{PROJ_D}", PROJ_D), ("n16777216", 1 << 24)):
        a, b = torch.randn(size, device=DEV), torch.randn(size, device=DEV)
        o = torch.empty_like(a)
        add("mul", name, lambda: torch.mul(a, b, out=o), 0, 12.0 * size)
    # AddCoords: PyTorch's best equivalent is one concatenation of the input with coordinate
    # channels made once (gaze computes them in the kernel).
    for (n, c, h), name in (((16, 64, 64), "n16_c64_64x64"), ((batch, 3, 32), "n128_c3_32x32")):
        x = torch.randn(n, c, h, h, device=DEV)
        lin = torch.linspace(-1, 1, h, device=DEV)
        coords = torch.stack([lin.view(1, h).expand(h, h), lin.view(h, 1).expand(h, h)]).unsqueeze(0)
        y = torch.empty(n, c + 2, h, h, device=DEV)
        add("addcoords", name, lambda: torch.cat([x, coords.expand(n, -1, -1, -1)], 1, out=y), 0, 4.0 * n * (2 * c + 2) * h * h)
    return out


def main():
    global DEV, TINY
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="skip the 10 GB projection and shorten timings")
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--parts", default="step,lca,kernels", help="comma-separated: step (eager and CUDA graph), lca, kernels")
    ap.add_argument("--lca-examples", type=int, default=0, help="examples of the LCA gradient (default 50,000; 10,000 with --quick)")
    ap.add_argument("--filter", default="", help="only kernels whose kernel/shape contains this (or one of several, comma-separated)")
    ap.add_argument("--tf32", action="store_true", help="TF32 on (cuDNN and matmul) instead of off")
    ap.add_argument("--device", default="cuda", help="cuda, or cpu with --tiny to check the script")
    ap.add_argument("--tiny", action="store_true", help="tiny shapes and times (plumbing checks)")
    args = ap.parse_args()
    DEV, TINY = torch.device(args.device), args.tiny
    set_tf32(args.tf32)
    mt = 0.2 if args.quick else args.min_time
    if TINY:
        mt = 0.01
    parts = set(args.parts.split(","))
    res = {
        "device": torch.cuda.get_device_name(0) if DEV.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "cudnn": torch.backends.cudnn.version(),
        "tf32": args.tf32,
    }
    if "step" in parts:
        print("resnet20 step ...", file=sys.stderr)
        res["resnet20_step"] = resnet_step(mt * 3)
        if DEV.type == "cuda":
            res["resnet20_step_graph"] = resnet_step(mt * 3, graph=True)
    if "lca" in parts:
        print("LCA gradient ...", file=sys.stderr)
        n = args.lca_examples or (10000 if args.quick else 50000)
        res["lca_gradient"] = lca_gradient(64 if TINY else n, 16 if TINY else 2500)
    if "kernels" in parts:
        print("kernels ...", file=sys.stderr)
        res["kernels"] = kernels(mt, args.quick, args.filter)
    json.dump(res, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
