#!/usr/bin/env python3
"""numpy and PyTorch twins of `gaze bench --projection` on the CPU: the stored dense projection's
two products per training step, forward theta = theta0 + P·theta_d and transpose g_d = P^T·g, with
P stored as gaze stores it (d × D, float32, one column of the paper's P per row), on the same
shapes (mnist-fc-200's D = 199,210 at d = 500, 750, 1,000; lenet5's D = 44,426 at d = 300 and
1,000), 2 threads each, plus a stream copy. Medians over repetitions, like gaze's.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/torch/projection_cpu.py [--time 3] \
        [--filter lenet5/d1000] [--impls numpy]

(OpenBLAS picks its kernels from the CPU when OPENBLAS_CORETYPE is unset; `make bench-projection`
runs this right after gaze's side.)
"""
import argparse
import json
import os
import sys
import time

THREADS = 2
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, str(THREADS))

import numpy as np  # noqa: E402  (after the thread settings)

try:
    import torch
except ImportError:  # numpy alone still answers the question
    torch = None

SHAPES = [("mnist-fc-200", 199210, 500), ("mnist-fc-200", 199210, 750), ("mnist-fc-200", 199210, 1000),
          ("lenet5", 44426, 300), ("lenet5", 44426, 1000)]


def median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def timed(fwd, tr, min_time):
    fwd()
    tr()
    tf, tt, ts = [], [], []
    start = time.perf_counter()
    while len(ts) < 3 or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fwd()
        t1 = time.perf_counter()
        tr()
        t2 = time.perf_counter()
        tf.append((t1 - t0) * 1e3)
        tt.append((t2 - t1) * 1e3)
        ts.append((t2 - t0) * 1e3)
    return len(ts), median(tf), median(tt), median(ts)


def stream_copy(mb, min_time, copy):
    n = mb * (1 << 20) // 4
    src = np.arange(n, dtype=np.float32)
    dst = np.empty_like(src)
    copy(dst, src)
    rates = []
    start = time.perf_counter()
    while len(rates) < 3 or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        copy(dst, src)
        rates.append(2 * 4 * n / (time.perf_counter() - t0) / 1e9)
    return median(rates)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time", type=float, default=3.0, help="minimum seconds per workload")
    ap.add_argument("--stream-mb", type=int, default=512)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--filter", default="", help="only the shapes whose model/d<dim> name contains one of these "
                    "comma-separated parts (lenet5, lenet5/d1000), as gaze bench --projection --filter")
    ap.add_argument("--impls", default="numpy,torch", help="comma-separated: numpy, torch")
    args = ap.parse_args()
    impls = set(args.impls.split(","))
    if not impls or not impls <= {"numpy", "torch"}:
        sys.exit(f"--impls {args.impls!r}: numpy, torch or both")
    parts = [f for f in args.filter.split(",") if f]
    shapes = [s for s in SHAPES if not parts or any(f in f"{s[0]}/d{s[2]}" for f in parts)]
    if not shapes:
        sys.exit(f"--filter {args.filter!r} matches no shape ({', '.join(f'{m}/d{d}' for m, _, d in SHAPES)})")
    if torch is not None:
        torch.set_num_threads(THREADS)
    out = {"threads": THREADS, "numpy": np.__version__, "torch": torch.__version__ if torch else None,
           "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"), "projections": []}
    if args.stream_mb > 0:
        out["stream_copy_numpy_gb_s"] = stream_copy(args.stream_mb, args.time, lambda d, s: np.copyto(d, s))
        if torch is not None and "torch" in impls:
            out["stream_copy_torch_gb_s"] = stream_copy(
                args.stream_mb, args.time, lambda d, s: torch.from_numpy(d).copy_(torch.from_numpy(s)))
    rng = np.random.default_rng(1)
    for model, D, d in shapes:
        P = rng.standard_normal((d, D), dtype=np.float32)
        P /= np.sqrt(D)
        x = rng.standard_normal(d, dtype=np.float32)
        g = rng.standard_normal(D, dtype=np.float32)
        theta0 = rng.standard_normal(D, dtype=np.float32)
        theta = np.empty(D, dtype=np.float32)
        gd = np.empty(d, dtype=np.float32)

        def np_fwd():
            np.dot(x, P, out=theta)  # P^T x: a transposed gemv over P's rows
            np.add(theta, theta0, out=theta)

        def np_tr():
            np.dot(P, g, out=gd)

        runs = [("numpy", np_fwd, np_tr)] if "numpy" in impls else []
        if torch is not None and "torch" in impls:
            tP, tx, tg, tt0 = (torch.from_numpy(a) for a in (P, x, g, theta0))
            tth, tgd = torch.empty(D), torch.empty(d)
            runs.append(("torch", lambda: torch.addmv(tt0, tP.t(), tx, out=tth), lambda: torch.mv(tP, tg, out=tgd)))
        for name, fwd, tr in runs:
            reps, f, t, s = timed(fwd, tr, args.time)
            out["projections"].append({"impl": name, "model": model, "D": D, "d": d, "reps": reps, "forward_ms": f,
                                       "transpose_ms": t, "step_ms": s, "gb_s": 2 * 4 * D * d / (s * 1e-3) / 1e9})
        del P
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        print()
        return
    print(f"numpy {out['numpy']}, torch {out['torch']}, {THREADS} threads, OPENBLAS_CORETYPE={out['openblas_coretype']}")
    if "stream_copy_numpy_gb_s" in out:
        line = f"stream copy ({args.stream_mb} MB arrays): numpy {out['stream_copy_numpy_gb_s']:.1f} GB/s"
        if "stream_copy_torch_gb_s" in out:
            line += f", torch {out['stream_copy_torch_gb_s']:.1f} GB/s"
        print(line + " (bytes read + written)")
    print(f"{'impl':<9} {'model':<13} {'D':>7} {'d':>5} {'fwd ms':>10} {'transpose ms':>12} {'step ms':>9} {'GB/s':>8}")
    for r in out["projections"]:
        print(f"{r['impl']:<9} {r['model']:<13} {r['D']:>7} {r['d']:>5} {r['forward_ms']:>10.3f} {r['transpose_ms']:>12.3f} "
              f"{r['step_ms']:>9.3f} {r['gb_s']:>8.1f}")


if __name__ == "__main__":
    main()
