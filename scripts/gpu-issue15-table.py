#!/usr/bin/env python3
"""The side-by-side table of scripts/gpu-issue15.sh: reads the logs and JSON files it leaves in
a directory and prints one markdown document, each row with the issue's target in the last
column. Missing parts (skipped for the time budget, or failed) show as "missing".

    python3 scripts/gpu-issue15-table.py OUT > OUT/table.md
"""
import csv
import glob
import json
import os
import re
import statistics
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "gpu-issue15-out"


def load(name):
    try:
        with open(os.path.join(OUT, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def text(name):
    try:
        with open(os.path.join(OUT, name)) as f:
            return f.read()
    except OSError:
        return ""


def fmt(v, unit="", digits=3):
    if v is None:
        return "missing"
    return f"{v:.{digits}f}{(' ' + unit) if unit else ''}"


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "–"


def verdict(ok):
    return "–" if ok is None else ("**yes**" if ok else "no")


def median_of(files, key):
    vals = []
    for f in files:
        d = load(f)
        if isinstance(d, list):
            d = d[0] if d else None
        if d and d.get(key):
            vals.append(d[key])
    return statistics.median(vals) if vals else None


def step_ms(pattern):
    return median_of(sorted(os.path.basename(p) for p in glob.glob(os.path.join(OUT, pattern))), "step_ms")


def used_graphs(pattern):
    files = glob.glob(os.path.join(OUT, pattern))
    flags = []
    for f in files:
        d = load(os.path.basename(f))
        if isinstance(d, list) and d:
            flags.append(bool(d[0].get("graphs")))
    return all(flags) if flags else None


def tests(name):
    log = text(name)
    if not log:
        return None
    passed = len(re.findall(r"^\s*--- PASS", log, re.M))
    failed = len(re.findall(r"^\s*--- FAIL", log, re.M))
    skipped = len(re.findall(r"^\s*--- SKIP", log, re.M))
    ok = "FAIL" not in re.findall(r"^(FAIL|PASS|ok)\b", log, re.M) and re.search(r"^PASS$", log, re.M) is not None
    first = re.findall(r"^\s*--- FAIL: (\S+)", log, re.M)[:8]
    return passed, failed, skipped, ok, first


def lca_summary(run):
    path = os.path.join(OUT, run, "losses.csv")
    try:
        rows = list(csv.DictReader(open(path)))
    except OSError:
        return None
    if not rows:
        return None
    err = [abs(float(r["error"])) for r in rows]
    dl = [abs(float(r["delta_loss"])) for r in rows]
    helped = [float(r["helped_fraction"]) for r in rows]
    evals = [float(r["evaluations"]) for r in rows]
    res = load(os.path.join(run, "result.json")) or {}
    return {"iters": len(rows), "mean_err": statistics.fmean(err), "max_err": max(err),
            "rel_err": sum(err) / max(sum(dl), 1e-30), "helped": statistics.fmean(helped),
            "evals": statistics.fmean(evals), "test_acc": res.get("test_acc")}


def main():
    env = text("env.txt").strip().splitlines()
    torch_step = load("torch-step.json") or {}
    print("# Issue 15 on the GPU: gaze against PyTorch, side by side\n")
    for line in env[:6]:
        print(f"- {line}")
    print(f"- PyTorch {torch_step.get('torch', '?')}, cuDNN {torch_step.get('cudnn', '?')}; float32, TF32 off unless a row says TF32")
    print(f"- parts run: see parts.txt (budget {text('budget.txt').strip() or '?'} s)\n")

    print("## Correctness\n")
    print("| suite | passed | failed | skipped | result | target |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    for name, what in (("tests-fp32.log", "conformance, CPU-vs-GPU training and gradient, CUDA graphs vs eager, bad input (FP32)"),
                       ("tests-tf32.log", "TF32: suite groups at TF32 tolerance, rounding, products, convolutions"),
                       ("tests-sm70.log", "compute 7.0 PTX forced (GAZE_PTX_DIR=kernels/sm70): conformance, training, graphs")):
        t = tests(name)
        if t is None:
            print(f"| {what} | missing | | | | all pass |")
        else:
            p, f, s, ok, first = t
            extra = f" (first failures: {', '.join(first)})" if first else ""
            print(f"| {what} | {p} | {f} | {s} | {'pass' if ok else 'FAIL'}{extra} | all pass |")
    print()

    print("## Training step and LCA gradient\n")
    first = load("step-graphs-1.json")
    if isinstance(first, list) and first and (first[0].get("model"), first[0].get("batch")) != ("resnet20", 128):
        print(f"(gaze's step rows time {first[0].get('model')} at batch {first[0].get('batch')}, not ResNet-20 at 128)\n")
    print("| workload | gaze | PyTorch | gaze / PyTorch | target | met |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    g_graph, g_eager = step_ms("step-graphs-*.json"), step_ms("step-eager-*.json")
    t_eager = (torch_step.get("resnet20_step") or {}).get("step_ms")
    t_graph = (torch_step.get("resnet20_step_graph") or {}).get("step_ms")
    ug = used_graphs("step-graphs-*.json")
    note = "" if ug in (None, True) else " (**graphs not used**: see step logs)"
    print(f"| ResNet-20 step, batch 128, SGD momentum: gaze with CUDA graphs vs PyTorch eager{note} | {fmt(g_graph, 'ms')} | {fmt(t_eager, 'ms')} | {ratio(g_graph, t_eager)} | ≤ 0.5× | {verdict(g_graph / t_eager <= 0.5 if g_graph and t_eager else None)} |")
    print(f"| ResNet-20 step: gaze with CUDA graphs vs PyTorch with CUDA graphs (torch.cuda.CUDAGraph) | {fmt(g_graph, 'ms')} | {fmt(t_graph, 'ms')} | {ratio(g_graph, t_graph)} | ≤ 1× | {verdict(g_graph <= t_graph if g_graph and t_graph else None)} |")
    print(f"| ResNet-20 step: gaze without graphs (GAZE_CUDA_GRAPHS=0) vs PyTorch eager | {fmt(g_eager, 'ms')} | {fmt(t_eager, 'ms')} | {ratio(g_eager, t_eager)} | (for comparison) | |")
    print(f"| ResNet-20 step: gaze graphs / gaze without | {fmt(g_graph, 'ms')} | {fmt(g_eager, 'ms')} (gaze eager) | {ratio(g_graph, g_eager)} | (what graphs save) | |")
    lg, le = load("lca-grad-graphs.json") or {}, load("lca-grad-eager.json") or {}
    tl = (load("torch-lca.json") or {}).get("lca_gradient") or {}
    n = lg.get("examples") or tl.get("examples") or 50000
    ch = lg.get("chunk") or tl.get("chunk") or 2500
    gs, es, ts = lg.get("seconds"), le.get("seconds"), tl.get("seconds")
    print(f"| ResNet-20 loss + gradient over {n:,} images, chunks of {ch:,} (graphs) | {fmt(gs, 's')} | {fmt(ts, 's')} | {ratio(gs, ts)} | ≤ 0.5× | {verdict(gs / ts <= 0.5 if gs and ts else None)} |")
    print(f"| the same without graphs | {fmt(es, 's')} | {fmt(ts, 's')} | {ratio(es, ts)} | (for comparison) | |")
    tf_step = step_ms("step-tf32-*.json")
    t_tf = load("torch-step-tf32.json") or {}
    t_tf_e = (t_tf.get("resnet20_step") or {}).get("step_ms")
    t_tf_g = (t_tf.get("resnet20_step_graph") or {}).get("step_ms")
    print(f"| ResNet-20 step, TF32 (gaze --precision tf32, graphs) vs PyTorch TF32 with CUDA graphs | {fmt(tf_step, 'ms')} | {fmt(t_tf_g, 'ms')} | {ratio(tf_step, t_tf_g)} | (report) | |")
    print(f"| ResNet-20 step, TF32 vs PyTorch TF32 eager | {fmt(tf_step, 'ms')} | {fmt(t_tf_e, 'ms')} | {ratio(tf_step, t_tf_e)} | (report) | |")
    print()

    gk = load("kernels.json") or []
    tk = {(r["kernel"], r["shape"]): r for r in (load("torch-kernels.json") or {}).get("kernels", [])}
    by = {}
    for r in gk:
        by.setdefault((r["kernel"], r["shape"]), []).append(r)

    print("## Convolutions against cuDNN (float32, TF32 off), batch 128\n")
    print("Throughput is the convolution's FLOPs over the time of one call; % of cuDNN is PyTorch's time over "
          "gaze's. \"best variant\" is the fastest of the kernel variants timed in the same run (`gaze bench "
          "--kernels --variants`); switch a default only where it wins clearly.\n")
    print("| op | shape | gaze default ms | TFLOP/s | best variant | its ms | cuDNN ms | TFLOP/s | default % of cuDNN | best % of cuDNN | target | met (best) |")
    print("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    winners = []
    for (k, s), rs in by.items():
        if not k.startswith("conv_"):
            continue
        d = next((r for r in rs if not r.get("variant")), None)
        best = min(rs, key=lambda r: r["ms"])
        q = tk.get((k, s), {})
        tms = q.get("ms")
        dpct = 100 * tms / d["ms"] if d and tms else None
        bpct = 100 * tms / best["ms"] if tms else None
        bv = best.get("variant") or "default"
        if d and best is not d and best["ms"] < 0.97 * d["ms"]:
            winners.append(f"{k} {s}: {bv} {best['ms']:.4f} ms vs default {d['ms']:.4f} ms ({100 * (1 - best['ms'] / d['ms']):.0f} % less time)")
        print(f"| {k} | {s} | {fmt(d and d['ms'], digits=4)} | {fmt(d and d.get('gflop_s', 0) / 1e3, digits=1)} | {bv} | {best['ms']:.4f} | "
              f"{fmt(tms, digits=4)} | {fmt(q.get('gflop_s', 0) / 1e3 if q else None, digits=1)} | {fmt(dpct, '%', 0)} | {fmt(bpct, '%', 0)} | ≥ 80 % | {verdict(bpct >= 80 if bpct else None)} |")
    print()
    print("Variants that beat the default by more than 3 % (candidates for new defaults):\n")
    for w in winners or ["none"]:
        print(f"- {w}")
    print()

    print("## Memory-bound kernels against PyTorch's best equivalent\n")
    print("| workload | shape | gaze GB/s (default) | best variant | its GB/s | PyTorch GB/s | % of PyTorch (best) | target | met |")
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | --- | --- |")
    labels = {"proj_dense": "dense projection θ = θ₀ + P·θ_d (gemv_t; PyTorch addmv)",
              "proj_dense_T": "dense projection g_d = Pᵀ·g (gemv_n; PyTorch mv)",
              "mul": "element-wise product (grad×delta's bandwidth; PyTorch mul out=)",
              "addcoords": "AddCoords (PyTorch: cat with precomputed coordinates)"}
    for (k, s), rs in by.items():
        if k not in labels:
            continue
        d = next((r for r in rs if not r.get("variant")), None)
        best = max(rs, key=lambda r: r.get("gb_s", 0))
        q = tk.get((k, s), {})
        pct = 100 * best.get("gb_s", 0) / q["gb_s"] if q.get("gb_s") else None
        print(f"| {labels[k]} | {s} | {fmt(d and d.get('gb_s'), digits=0)} | {best.get('variant') or 'default'} | {best.get('gb_s', 0):.0f} | "
              f"{fmt(q.get('gb_s'), digits=0)} | {fmt(pct, '%', 0)} | ≥ 90 % | {verdict(pct >= 90 if pct else None)} |")
    for dd in ("D272474_d1000", "D272474_d10000"):
        s, o = by.get(("proj_dense", dd)), by.get(("proj_otf", dd))
        if s and o:
            print(f"\nOn-the-fly projection {dd}: {o[0]['ms']:.3f} ms against the stored one's {s[0]['ms']:.3f} ms "
                  f"({o[0]['ms'] / s[0]['ms']:.1f}× the time, no P in memory).")
    print()

    print("## TF32 and LCA: conservation error and helped fraction against FP32\n")
    print("`gaze lca train` with `--precision fp32` and `--precision tf32`, the same seed; error = |ΔL − ΣLCA| per "
          "iteration (Simpson's rule, threshold 1e-3, endpoint reused), relative = Σ|error| / Σ|ΔL|.\n")
    print("| recipe | precision | iterations | mean error | max error | relative | mean helped fraction | mean gradient evaluations | test accuracy |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for recipe, desc in (("mnist-fc", text("lca-mnist-fc.txt").strip() or "MNIST-FC"),
                         ("resnet20", text("lca-resnet20.txt").strip() or "ResNet-20")):
        for p in ("fp32", "tf32"):
            sm = lca_summary(f"lca-{recipe}-{p}")
            if sm is None:
                print(f"| {desc} | {p} | missing | | | | | | |")
                continue
            acc = f"{100 * sm['test_acc']:.2f} %" if sm.get("test_acc") is not None else ""
            print(f"| {desc} | {p} | {sm['iters']} | {sm['mean_err']:.3g} | {sm['max_err']:.3g} | {100 * sm['rel_err']:.3f} % | "
                  f"{100 * sm['helped']:.2f} % | {sm['evals']:.2f} | {acc} |")
    print()
    print("Commands and per-part logs: summary.txt, parts.txt and *.log beside this table.")


if __name__ == "__main__":
    main()
