#!/usr/bin/env bash
# GPU figures of the CoordConv experiments (#5), in one run on a GPU machine that has the gaze
# binary built by scripts/gpu-bundle.sh, PyTorch, and no Go:
#   1. the CoordConv painter (classification, quadrant split, lr 0.001), 3 epochs on the GPU:
#      gaze against the same model and recipe in PyTorch (bench/torch/coordconv_painter.py)
#   2. the deconv painter baseline, 3 epochs on the GPU
#   3. the rendering task with the CoordConv model on the quadrant split, for as many of its 50
#      epochs as RENDER_SECS allows (default 100, 0 skips it; SIGINT keeps the finished epochs)
# Logs, run folders and summary.txt under $OUT (default ./gpu-coordconv-out).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-coordconv-out}
BIN=${GAZE_BIN:-bin/gpu}
mkdir -p "$OUT"
cc=("$BIN/gaze" coordconv run --device cuda --seeds 1)

timeout 90 "${cc[@]}" --task classification --split quadrant --model coordconv --lr 0.001 --epochs 3 --out "$OUT/painter" > "$OUT/painter.log" 2>&1
timeout 90 python3 bench/torch/coordconv_painter.py 3 16 - cuda > "$OUT/torch-painter.json" 2> "$OUT/torch-painter.err"
timeout 90 "${cc[@]}" --task classification --split quadrant --model conv --epochs 3 --out "$OUT/deconv" > "$OUT/deconv.log" 2>&1
[ "${RENDER_SECS:-100}" = 0 ] || timeout -s INT "${RENDER_SECS:-100}" "${cc[@]}" --task rendering --split quadrant --model coordconv --epochs 50 --out "$OUT/render" > "$OUT/render.log" 2>&1

python3 - "$OUT" <<'PY' | tee "$OUT/summary.txt"
import json, os, sys
d = sys.argv[1]
def secs(name):
    try:
        r = json.load(open(os.path.join(d, name, "result.json")))
        s = r["seeds"][0]
        return f"{r.get('device', '?')}: {s['epoch_secs']:.3f} s per training epoch, {s['wall']:.1f} s for {s['epochs']} epochs with evaluation, best test {s['best_test']:.4f} at epoch {s['best_epoch']}"
    except Exception as e:
        return f"missing ({e})"
print("gaze CoordConv painter:", secs("painter"))
try:
    t = json.load(open(os.path.join(d, "torch-painter.json")))
    print(f"PyTorch CoordConv painter ({t['device']}, torch {t['torch']}): epoch_secs {[round(x, 3) for x in t['epoch_secs']]}")
except Exception as e:
    print("PyTorch painter: missing", e)
print("gaze deconv painter:", secs("deconv"))
print("gaze CoordConv renderer:", secs("render"))
PY
tail -n 4 "$OUT/painter.log" "$OUT/deconv.log" "$OUT/render.log" "$OUT/torch-painter.err" 2>/dev/null
