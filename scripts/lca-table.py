#!/usr/bin/python3
"""The README's table of LCA runs side by side, from each run's files.

    scripts/lca-table.py RUN [RUN...]

Per run (a `gaze lca train` folder with its report/summary.json, or report-partial/): final test
accuracy (epochs.csv), iterations, the conservation error Σ_t|ΔL_t − ΣLCA_t| / Σ_t|ΔL_t| and its
largest per-iteration value |ΔL_t − ΣLCA_t| (losses.csv), the mean fraction of parameters helping,
overall and per layer, the per-layer totals ΣLCA (hurting layers, > 0, in bold), and the
synchronisation ratios of learning peaks across layers and across classes (summary.json; observed
rate / shifted-peaks rate). Prints one Markdown table and, per run, the held-out split's numbers
beside the LCA set's when the run has them.
"""
import csv, json, os, sys


def load(run):
    for d in ('report', 'report-partial'):
        p = os.path.join(run, d, 'summary.json')
        if os.path.exists(p):
            return json.load(open(p))
    sys.exit(f'{run}: no report/summary.json (run gaze lca report {run})')


def conservation(path):
    rows = list(csv.DictReader(open(path)))
    err = [float(r['error']) for r in rows]
    dl = [abs(float(r['delta_loss'])) for r in rows]
    return sum(err) / sum(dl), max(err)


def accuracy(run):
    p = os.path.join(run, 'epochs.csv')
    rows = list(csv.DictReader(open(p))) if os.path.exists(p) else []
    return f"{100 * float(rows[-1]['test_acc']):.2f} %" if rows else '–'


def ratio(sync):
    if not sync:
        return '–'
    r = sync.get('ratio')
    return f"{sync['observed_rate']:.3f} / {sync['shifted_rate']:.4f} (×{r:.0f})" if r is not None else f"{sync['observed_rate']:.3f} / {sync['shifted_rate']:.4f}"


def layers(s):
    out = []
    for l in s['layers']:
        t = f"{l['total_lca']:+.3f}"
        if l['total_lca'] > 0:
            t = f'**{t}**'
        out.append(f"{l['layer']} {t} ({100 * l['helped_fraction_mean']:.1f} %)")
    return '; '.join(out)


def main():
    print('| run | test acc. | iterations | conservation Σ\\|ΔL−ΣLCA\\| / Σ\\|ΔL\\| (max per it.) | helped | per layer: ΣLCA (helped) | sync. layers | sync. classes |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- |')
    held = []
    for run in sys.argv[1:]:
        s = load(run)
        c, m = conservation(os.path.join(run, 'losses.csv'))
        it = f"{s['iterations']}" + (f" of {s['planned_iterations']} (partial)" if s.get('partial') else '')
        print(f"| {os.path.basename(run.rstrip('/'))} | {accuracy(run)} | {it} | {100 * c:.4f} % ({m:.2g}) | {100 * s['helped_fraction_mean']:.1f} % | {layers(s)} | {ratio(s.get('synchronisation'))} | {ratio(s.get('class_synchronisation'))} |")
        if s.get('held_out'):
            held.append((run, s))
    for run, s in held:
        h = s['held_out']
        c, m = conservation(os.path.join(run, 'held_out', 'losses.csv'))
        print(f"\n{os.path.basename(run.rstrip('/'))}, held-out split: conservation {100 * c:.4f} % (max {m:.2g}), helped {100 * h['helped_fraction_mean']:.1f} %, per layer {layers(h)}; sync. classes {ratio(h.get('class_synchronisation'))}")
        print('  layer: ΣLCA on the LCA set / on the held-out split: ' + ', '.join(
            f"{a['layer']} {a['total_lca']:+.3f} / {b['total_lca']:+.3f}" for a, b in zip(s['layers'], h['layers'])))


if __name__ == '__main__':
    main()
