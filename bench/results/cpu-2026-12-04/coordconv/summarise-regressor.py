"""Per-seed summary of CoordConv regressor runs (gaze coordconv run --task regression folders):
test error at the best test epoch and at the last epoch, the max-pool winner diagnosis at θ₀
and at the end (gaze coordconv diagnose prints the same per seed), and the counts the README
quotes. Usage: python3 summarise-regressor.py RUN_DIR..."""
import json, sys

for d in sys.argv[1:]:
    r = json.load(open(f"{d}/result.json"))
    c = r["config"]
    print(f"\n{d}: {c['split']} split, recipe {c['recipe']}, lr {c['lr']}, milestones {c.get('lr_milestones')}, {c['epochs']} epochs")
    print("| seed | best test px (epoch) | last-epoch train / test px | winner ≤ 2 px from the hot pixel: θ₀ / end | end: prediction spread px (targets) | constant output (trapped) |")
    print("| ---: | ---: | ---: | ---: | ---: | --- |")
    n = {"best<1": 0, "last<1": 0, "trapped": 0, "one-output": 0}
    for s in r["seeds"]:
        last = s["curve"][-1]
        i, f = s["init_diagnosis"], s["final_diagnosis"]
        trapped = f["spread_px"] < 0.1 * f["target_spread_px"]
        # One of the two outputs constant: half of the (example, channel) winners away from the hot pixel.
        one = not trapped and f["near_hot"] <= 0.6 and last["test_metric"] > 1
        n["best<1"] += s["best_test"] < 1
        n["last<1"] += last["test_metric"] < 1
        n["trapped"] += trapped
        n["one-output"] += one
        print(f"| {s['seed']} | {s['best_test']:.4f} ({s['best_epoch']}) | {last['train_metric']:.4f} / {last['test_metric']:.4f} | "
              f"{100*i['near_hot']:.1f} / {100*f['near_hot']:.1f} % | {f['spread_px']:.2f} ({f['target_spread_px']:.2f}) | "
              f"{'trapped' if trapped else ('one output' if one else 'no')} |")
    k = len(r["seeds"])
    print(f"\n< 1 px test: {n['best<1']} of {k} at the best epoch, {n['last<1']} of {k} at the last; "
          f"trapped (constant output): {n['trapped']} of {k}; one of the two outputs constant: {n['one-output']} of {k}")
