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

Run it on a quiet machine: both sides are timed in the same minutes so that background load
hits both alike, but a loaded machine still moves the figures by tens of per cent.
"""
import argparse, csv, json, os, shutil, statistics, subprocess, sys, tempfile

# gaze bench's model names -> the anchor's keys (the same networks and batches).
MODELS = [("mnist-fc", 250, "mnist_fc_784_100_50_10"), ("mnist-fc-200", 128, "mnist_fc_784_200_200_10"),
          ("lenet5", 128, "lenet5"), ("lenet-lca", 250, "lenet_lca"), ("resnet20", 128, "resnet20")]


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
    models = ",".join(f"{m}:{b}" for m, b, _ in MODELS)
    gz = {m: [] for m, _, _ in MODELS}
    pt = {m: [] for m, _, _ in MODELS}
    rounds = []
    for r in range(a.rounds):
        out = subprocess.run([a.gaze, "bench", "--models", models, "--time", a.time, "--json"],
                             check=True, capture_output=True, text=True).stdout
        g = {row["model"]: row["step_ms"] for row in json.loads(out)}
        env = dict(os.environ, OMP_NUM_THREADS="2")
        t = json.loads(subprocess.run(["/usr/bin/python3", a.anchor], check=True, capture_output=True,
                                      text=True, env=env).stdout)
        for m, _, key in MODELS:
            gz[m].append(g[m])
            pt[m].append(t[key]["step_ms"])
        rounds.append({"gaze": g, "torch": t})
        print(f"round {r + 1}/{a.rounds}: " + ", ".join(f"{m} {g[m]:.2f} vs {t[k]['step_ms']:.2f}" for m, _, k in MODELS),
              file=sys.stderr, flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rounds, f, indent=1)
    print(f"| model (batch) | gaze ms/step, median (best) | PyTorch {rounds[0]['torch']['torch']} ms/step, median (best) | throughput ratio, medians (bests) |")
    print("| --- | ---: | ---: | ---: |")
    for m, b, _ in MODELS:
        gm, gb, tm, tb = statistics.median(gz[m]), min(gz[m]), statistics.median(pt[m]), min(pt[m])
        print(f"| {m} ({b}) | {gm:.2f} ({gb:.2f}) | {tm:.2f} ({tb:.2f}) | {tm / gm:.2f}× ({tb / gb:.2f}×) |")
    if a.lca_data:
        lca_epochs(a, os.path.join(here, "..", "bench", "torch", "lca_mnist.py"))


def lca_epochs(a, torch_script):
    """One epoch of make run's recipe in gaze and in PyTorch, alternating, --lca-rounds times."""
    g, t = [], []
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
        res = json.loads(subprocess.run(["/usr/bin/python3", torch_script, a.lca_data, "1"], check=True,
                                        capture_output=True, text=True).stdout)
        t.append(res["epochs"][0])
        print(f"LCA round {r + 1}/{a.lca_rounds}: gaze {g[-1]:.1f} s, PyTorch {t[-1]:.1f} s", file=sys.stderr, flush=True)
    gm, tm = statistics.median(g), statistics.median(t)
    print(f"\nLCA recipe, one epoch (240 iterations, 2 full-set gradients over 10,000 examples each): "
          f"gaze {gm:.1f} s (best {min(g):.1f}), PyTorch {tm:.1f} s (best {min(t):.1f}): gaze takes {gm / tm:.2f}× PyTorch's time")


if __name__ == "__main__":
    main()
