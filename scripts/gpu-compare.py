#!/usr/bin/env python3
"""Prints the side-by-side table of gaze (CUDA device) and PyTorch from the JSON files that
scripts/gpu-check.sh writes into a directory: gaze-models.json, gaze-lca.json,
gaze-kernels.json and torch.json. Markdown, one row per workload, with the issue's targets."""
import json
import os
import sys


def load(d, name):
    try:
        with open(os.path.join(d, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# The targets, by (kernel, shape): the fraction of PyTorch's throughput to reach.
TARGETS = {
    ("conv_fwd", "n128_c16_32x32_k16_3x3"): "≥ 80 % of cuDNN (12 TFLOP/s on H100)",
    ("conv_fwd", "n128_c32_16x16_k32_3x3"): "≥ 80 % of cuDNN (23 TFLOP/s)",
    ("conv_fwd", "n128_c64_8x8_k64_3x3"): "≥ 80 % of cuDNN (22 TFLOP/s)",
    ("conv_fwd", "n128_c64_32x32_k64_3x3"): "≥ 80 % of cuDNN (41 TFLOP/s)",
    ("proj_dense", "D272474_d1000"): "≥ 90 % of addmv (2.65 TB/s)",
    ("proj_dense", "D272474_d10000"): "≥ 90 % of addmv (2.65 TB/s)",
}


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "gpu-check-out"
    gm, gl, gk, tj = (load(d, n) for n in ("gaze-models.json", "gaze-lca.json", "gaze-kernels.json", "torch.json"))
    dev = (tj or {}).get("device", "unknown GPU")
    print(f"GPU: {dev}; PyTorch {(tj or {}).get('torch', '?')}, cuDNN {(tj or {}).get('cudnn', '?')}, TF32 off; gaze: hand-written kernels, no cuDNN/cuBLAS\n")
    print("| workload | gaze | PyTorch | gaze time / PyTorch time | target |")
    print("| --- | ---: | ---: | ---: | --- |")

    def row(name, g, t, unit, target=""):
        ratio = f"{g / t:.2f}×" if g and t else "–"
        gs = f"{g:.3f} {unit}" if g else "missing"
        ts = f"{t:.3f} {unit}" if t else "missing"
        print(f"| {name} | {gs} | {ts} | {ratio} | {target} |")

    g = next((r["step_ms"] for r in (gm or []) if r.get("model") == "resnet20"), None)
    t = (tj or {}).get("resnet20_step", {}).get("step_ms")
    row("ResNet-20 training step, batch 128, SGD momentum", g, t, "ms", "≤ PyTorch (4.69 ms on H100); stretch ≤ 2.3 ms")
    g = (gl or {}).get("seconds")
    t = (tj or {}).get("lca_gradient", {}).get("seconds")
    n = (gl or {}).get("examples", 50000)
    row(f"LCA: ResNet-20 loss+gradient over {n:,} images, chunks of 2,500", g, t, "s", "≤ PyTorch (1.75 s on H100)")
    print()
    print("| kernel | shape | gaze ms | PyTorch ms | time ratio | gaze GFLOP/s | PyTorch GFLOP/s | gaze GB/s | PyTorch GB/s | throughput vs PyTorch | target |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    tk = {(r["kernel"], r["shape"]): r for r in (tj or {}).get("kernels", [])}
    for r in gk or []:
        key = (r["kernel"], r["shape"])
        q = tk.get(key, {})
        gms, tms = r.get("ms"), q.get("ms")
        ratio = f"{gms / tms:.2f}×" if gms and tms else "–"
        pct = f"{100 * tms / gms:.0f} %" if gms and tms else "–"

        def f(v):
            return f"{v:.0f}" if v else ""

        print(f"| {r['kernel']} | {r['shape']} | {gms:.4f} | {tms:.4f} | {ratio} | {f(r.get('gflop_s'))} | {f(q.get('gflop_s'))} | "
              f"{f(r.get('gb_s'))} | {f(q.get('gb_s'))} | {pct} | {TARGETS.get(key, '')} |" if tms else
              f"| {r['kernel']} | {r['shape']} | {gms:.4f} | – | – | {f(r.get('gflop_s'))} | | {f(r.get('gb_s'))} | | – | {TARGETS.get(key, '')} |")
    # The on-the-fly projection against the stored one (gaze only).
    gkd = {(r["kernel"], r["shape"]): r for r in gk or []}
    for dd in ("D272474_d1000", "D272474_d10000"):
        s, o = gkd.get(("proj_dense", dd)), gkd.get(("proj_otf", dd))
        if s and o:
            print(f"\non-the-fly projection {dd}: {o['ms']:.3f} ms vs stored {s['ms']:.3f} ms ({o['ms'] / s['ms']:.1f}× the time, no P in memory)")


if __name__ == "__main__":
    main()
