#!/usr/bin/python3
"""gaze beside PyTorch on the CPU, in one run: ROUNDS alternating rounds of `gaze bench --json`
and the PyTorch anchors (shared/anchors/torch_cpu.py, 2 threads), then one table of medians and
bests per model (ms per training step) and the throughput ratio.

    scripts/bench-cpu-torch.py [--gaze bin/gaze] [--rounds 5] [--time 3s] [--anchor PATH] [--json OUT]
                               [--lca-data DIR [--lca-rounds 1]]

With --lca-data (a folder with MNIST's IDX files), also one epoch of `make run`'s LCA recipe
(mnist-fc, SGD, batch 250, two full-set gradients over 10,000 examples per iteration) beside
bench/torch/lca_mnist.py, its PyTorch implementation, in alternating rounds: the epoch's seconds
(gaze: epochs.csv's, which leaves out loading the data; PyTorch: its own epoch timer).

PyTorch runs twice per round: with the environment as it is and with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed (OpenBLAS then picks its kernels and cache sizes from the CPU itself). On
the build machines the environment pins OPENBLAS_CORETYPE=Haswell and OPENBLAS_L2_SIZE=512; which setting serves
PyTorch better is measured, not assumed: the ratio column is taken against the faster of the two,
so gaze is compared with the best PyTorch this machine gives.

Run it on a quiet machine: both sides are timed in the same minutes so that background load
hits both alike, but a loaded machine still moves the figures by tens of per cent.
"""
import argparse, csv, json, os, shutil, statistics, subprocess, sys, tempfile

# gaze bench's model names -> the anchor's keys (the same networks and batches).
MODELS = [("mnist-fc", 250, "mnist_fc_784_100_50_10"), ("mnist-fc-200", 128, "mnist_fc_784_200_200_10"),
          ("lenet5", 128, "lenet5"), ("lenet-lca", 250, "lenet_lca"), ("resnet20", 128, "resnet20")]


def check_torch_blas():
    """Debian's python3-torch does its matrix products through whatever libblas.so.3 the system's
    alternatives select; without libopenblas0-pthread that is the reference BLAS (about 6 GFLOP/s
    on the build machines instead of about 100), and every PyTorch figure would be a strawman."""
    code = ("import torch, time\n"
            "a = torch.randn(512, 512); b = torch.randn(512, 512); a @ b\n"
            "t = time.perf_counter()\n"
            "for _ in range(20): a @ b\n"
            "print(2 * 512**3 * 20 / (time.perf_counter() - t) / 1e9)\n")
    env = dict(os.environ, OMP_NUM_THREADS="2")
    rate = float(subprocess.run(["/usr/bin/python3", "-c", code], check=True, capture_output=True, text=True, env=env).stdout)
    print(f"PyTorch's float32 matrix product (512³): {rate:.1f} GFLOP/s", file=sys.stderr, flush=True)
    if rate < 25:
        sys.exit(f"bench-cpu-torch: PyTorch multiplies matrices at {rate:.1f} GFLOP/s, the reference BLAS's speed: "
                 "install an optimised one (apt-get install libopenblas0-pthread) before comparing")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gaze", default=os.path.join(here, "..", "bin", "gaze"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--time", default="3s", help="gaze bench --time per model and round")
    ap.add_argument("--anchor", default=os.path.join(here, "..", "..", "shared", "anchors", "torch_cpu.py"))
    ap.add_argument("--json", help="also write every round's raw figures here")
    ap.add_argument("--lca-data", help="MNIST's IDX folder: also time one epoch of make run's LCA recipe")
    ap.add_argument("--lca-rounds", type=int, default=1)
    a = ap.parse_args()
    for p, what in ((a.gaze, "the gaze binary (go build -o bin/gaze ./cmd/gaze)"), (a.anchor, "the PyTorch anchors")):
        if not os.path.exists(p):
            sys.exit(f"bench-cpu-torch: {p} not found: {what}")
    check_torch_blas()
    models = ",".join(f"{m}:{b}" for m, b, _ in MODELS)
    gz = {m: [] for m, _, _ in MODELS}
    pt = {v: {m: [] for m, _, _ in MODELS} for v in TORCH_ENVS}
    rounds = []
    for r in range(a.rounds):
        out = subprocess.run([a.gaze, "bench", "--models", models, "--time", a.time, "--json"],
                             check=True, capture_output=True, text=True).stdout
        g = {row["model"]: row["step_ms"] for row in json.loads(out)}
        ts = {}
        for v in TORCH_ENVS:
            ts[v] = json.loads(subprocess.run(["/usr/bin/python3", a.anchor], check=True, capture_output=True,
                                              text=True, env=torch_env(v)).stdout)
        for m, _, key in MODELS:
            gz[m].append(g[m])
            for v in TORCH_ENVS:
                pt[v][m].append(ts[v][key]["step_ms"])
        rounds.append({"gaze": g, "torch": ts})
        print(f"round {r + 1}/{a.rounds}: " + ", ".join(
            f"{m} {g[m]:.2f} vs " + "/".join(f"{ts[v][k]['step_ms']:.2f}" for v in TORCH_ENVS) for m, _, k in MODELS),
              file=sys.stderr, flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rounds, f, indent=1)
    version = rounds[0]["torch"][TORCH_ENVS[0]]["torch"]
    print(f"| model (batch) | gaze ms/step, median (best) | " +
          " | ".join(f"PyTorch {version}, {ENV_LABEL[v]}, median (best)" for v in TORCH_ENVS) +
          " | gaze's throughput ÷ the faster PyTorch's, medians (bests) |")
    print("| --- | ---: | " + "---: | " * len(TORCH_ENVS) + "---: |")
    for m, b, _ in MODELS:
        gm, gb = statistics.median(gz[m]), min(gz[m])
        tm = min(statistics.median(pt[v][m]) for v in TORCH_ENVS)
        tb = min(min(pt[v][m]) for v in TORCH_ENVS)
        cols = " | ".join(f"{statistics.median(pt[v][m]):.2f} ({min(pt[v][m]):.2f})" for v in TORCH_ENVS)
        print(f"| {m} ({b}) | {gm:.2f} ({gb:.2f}) | {cols} | {tm / gm:.2f}× ({tb / gb:.2f}×) |")
    if a.lca_data:
        lca_epochs(a, os.path.join(here, "..", "bench", "torch", "lca_mnist.py"))


# How PyTorch is run: "env" with the environment as it is, "own" with OpenBLAS's CPU pinning removed.
TORCH_ENVS = ["env", "own"]
ENV_LABEL = {"env": "OPENBLAS_* as set", "own": "OPENBLAS_* unset"}


def torch_env(v):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    if v == "own":
        for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            env.pop(k, None)
    return env


def lca_epochs(a, torch_script):
    """One epoch of make run's recipe in gaze and in PyTorch, alternating, --lca-rounds times."""
    g, t = [], {v: [] for v in TORCH_ENVS}
    for r in range(a.lca_rounds):
        out = tempfile.mkdtemp(prefix="gaze-bench-lca-")
        try:
            subprocess.run([a.gaze, "lca", "train", "--model", "mnist-fc", "--data", "mnist", "--data-dir", a.lca_data,
                            "--epochs", "1", "--lca-examples", "10000", "--quiet", "--no-report", "--out", out + "/run"],
                           check=True, capture_output=True, text=True)
            with open(out + "/run/epochs.csv") as f:
                g.append(float(list(csv.DictReader(f))[0]["seconds"]))
        finally:
            shutil.rmtree(out)
        for v in TORCH_ENVS:
            res = json.loads(subprocess.run(["/usr/bin/python3", torch_script, a.lca_data, "1"], check=True,
                                            capture_output=True, text=True, env=torch_env(v)).stdout)
            t[v].append(res["epochs"][0])
        print(f"LCA round {r + 1}/{a.lca_rounds}: gaze {g[-1]:.1f} s, PyTorch " +
              ", ".join(f"{ENV_LABEL[v]} {t[v][-1]:.1f} s" for v in TORCH_ENVS), file=sys.stderr, flush=True)
    gm = statistics.median(g)
    tm = {v: statistics.median(t[v]) for v in TORCH_ENVS}
    best = min(tm.values())
    print(f"\nLCA recipe, one epoch (240 iterations, 2 full-set gradients over 10,000 examples each): "
          f"gaze {gm:.1f} s (best {min(g):.1f}), PyTorch " +
          ", ".join(f"{ENV_LABEL[v]} {tm[v]:.1f} s (best {min(t[v]):.1f})" for v in TORCH_ENVS) +
          f": gaze takes {gm / best:.2f}× the faster PyTorch's time")


if __name__ == "__main__":
    main()
