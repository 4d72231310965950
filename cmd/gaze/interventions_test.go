package main

import (
	"math"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gazeml/gaze/internal/npy"
)

// trajectory trains (gaze lca train --offline --save-weights: training only, θ saved after
// every step) a small MLP with SGD on synthetic data and returns θ_0 … θ_T, one row each.
// 64 examples in batches of 16: 4 iterations an epoch, 12 in all.
func trajectory(t *testing.T, model string, extra ...string) [][]float64 {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	args := append([]string{"lca", "train", "--data", "synthetic", "--synthetic", "64x1x4x4", "--classes", "2", "--model", model,
		"--batch", "16", "--epochs", "3", "--lr", "0.05", "--momentum", "0", "--offline", "--save-weights", "--quiet", "--out", dir}, extra...)
	if _, se, err := gaze(t, args...); err != nil {
		t.Fatalf("gaze %v: %v\n%s", args, err, se)
	}
	m, err := npy.Read(filepath.Join(dir, "weights.npy"), 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]float64, m.Rows())
	for i := range rows {
		rows[i] = m.Row(i)
	}
	return rows
}

// mlp:16-8-2: fc1 holds θ[0:136] (weight 8×16, bias 8), fc2 θ[136:154].
var fc1, fc2 = [2]int{0, 136}, [2]int{136, 154}

func sub(row []float64, seg [2]int) []float64 { return row[seg[0]:seg[1]] }

func maxDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// step is θ_{t+1} − θ_t over seg.
func step(rows [][]float64, t int, seg [2]int) []float64 {
	out := make([]float64, seg[1]-seg[0])
	for i := range out {
		out[i] = rows[t+1][seg[0]+i] - rows[t][seg[0]+i]
	}
	return out
}

// --freeze LAYER@ITER leaves the layer's parameters exactly where they are from iteration ITER
// on, and changes nothing before it; the other layers train.
func TestFreezeHasItsEffect(t *testing.T) {
	base := trajectory(t, "mlp:16-8-2")
	frozen := trajectory(t, "mlp:16-8-2", "--freeze", "fc1@5")
	all := trajectory(t, "mlp:16-8-2", "--freeze", "fc1")
	for it := 0; it <= 5; it++ {
		if maxDiff(frozen[it], base[it]) != 0 {
			t.Errorf("θ_%d with fc1 frozen from iteration 5 differs from the plain run's", it)
		}
	}
	for it := 6; it < len(frozen); it++ {
		if d := maxDiff(sub(frozen[it], fc1), sub(frozen[5], fc1)); d != 0 {
			t.Errorf("fc1 moved by %g at iteration %d after it was frozen at 5", d, it)
		}
		if maxDiff(sub(frozen[it], fc2), sub(frozen[it-1], fc2)) == 0 {
			t.Errorf("fc2 did not train at iteration %d", it-1)
		}
	}
	for it := range all {
		if d := maxDiff(sub(all[it], fc1), sub(all[0], fc1)); d != 0 {
			t.Errorf("fc1, frozen from the start, moved by %g by iteration %d", d, it)
		}
	}
	if maxDiff(sub(base[1], fc1), sub(base[0], fc1)) == 0 {
		t.Fatal("fc1 does not train in the plain run: the test shows nothing")
	}
}

// --layer-lr LAYER=LR[@ITER] trains the layer as the global learning rate LR would: the same
// trajectory as --lr LR for a one-layer model, and from ITER on a step LR/lr times the plain
// run's (same θ, same batch, plain SGD).
func TestLayerLRHasItsEffect(t *testing.T) {
	one := [2]int{0, 34} // mlp:16-2: fc1 is all of θ
	global := trajectory(t, "mlp:16-2", "--lr", "0.2")
	layer := trajectory(t, "mlp:16-2", "--layer-lr", "fc1=0.2")
	for it := range global {
		if d := maxDiff(layer[it], global[it]); d > 1e-6 {
			t.Errorf("θ_%d with --layer-lr fc1=0.2 differs by %g from --lr 0.2", it, d)
		}
	}
	base := trajectory(t, "mlp:16-2")
	late := trajectory(t, "mlp:16-2", "--layer-lr", "fc1=0.2@7")
	for it := 0; it <= 7; it++ {
		if maxDiff(late[it], base[it]) != 0 {
			t.Errorf("θ_%d differs from the plain run's before the override starts (7)", it)
		}
	}
	ratio(t, "--layer-lr fc1=0.2@7 at iteration 7", step(late, 7, one), step(base, 7, one), 4)
}

// ratio checks that got = k·want element by element (float32 rounding aside).
func ratio(t *testing.T, what string, got, want []float64, k float64) {
	t.Helper()
	n := 0
	for i := range got {
		if math.Abs(want[i]) < 1e-6 {
			continue
		}
		n++
		if r := got[i] / want[i]; math.Abs(r-k) > 1e-3*k {
			t.Errorf("%s: step of parameter %d is %g times the plain run's, want %g", what, i, r, k)
			return
		}
	}
	if n == 0 {
		t.Errorf("%s: no parameter moved", what)
	}
}

// --layer-momentum LAYER=M gives the layer momentum M: a one-layer model with global momentum
// 0.9 and --layer-momentum fc1=0 trains as with momentum 0, and --layer-momentum fc1=0.9 with
// global momentum 0 as with momentum 0.9.
func TestLayerMomentumHasItsEffect(t *testing.T) {
	for _, c := range []struct{ global, layer, same string }{{"0.9", "0", "0"}, {"0", "0.9", "0.9"}} {
		got := trajectory(t, "mlp:16-2", "--momentum", c.global, "--layer-momentum", "fc1="+c.layer)
		want := trajectory(t, "mlp:16-2", "--momentum", c.same)
		other := trajectory(t, "mlp:16-2", "--momentum", c.global)
		for it := range want {
			if d := maxDiff(got[it], want[it]); d > 1e-6 {
				t.Errorf("momentum %s with fc1 at %s: θ_%d differs by %g from momentum %s", c.global, c.layer, it, d, c.same)
			}
		}
		if maxDiff(other[len(other)-1], want[len(want)-1]) < 1e-4 {
			t.Fatalf("momentum %s and %s train alike: the test shows nothing", c.global, c.same)
		}
	}
}

// --lr-milestones E1,E2 --lr-gamma G multiplies the learning rate by G from epoch E1 and again
// from E2: metrics.csv reports it, and the steps take it (the first step of the second epoch
// is G times the plain run's, from the same θ on the same batch).
func TestLRMilestones(t *testing.T) {
	one := [2]int{0, 34}
	base := trajectory(t, "mlp:16-2", "--lr", "0.1")
	sched := trajectory(t, "mlp:16-2", "--lr", "0.1", "--lr-milestones", "1,2", "--lr-gamma", "0.5")
	for it := 0; it <= 4; it++ {
		if maxDiff(sched[it], base[it]) != 0 {
			t.Errorf("θ_%d differs from the plain run's in the first epoch", it)
		}
	}
	ratio(t, "the first step of epoch 2", step(sched, 4, one), step(base, 4, one), 0.5)

	dir := filepath.Join(t.TempDir(), "run")
	if _, se, err := gaze(t, "train", "--data", "synthetic", "--synthetic", "64x1x4x4", "--classes", "2", "--model", "mlp:16-2",
		"--batch", "16", "--epochs", "3", "--lr", "0.1", "--lr-milestones", "1,2", "--lr-gamma", "0.5", "--quiet", "--out", dir); err != nil {
		t.Fatal(err, se)
	}
	rows := readCSV(t, filepath.Join(dir, "metrics.csv"))
	want := map[string]float64{"1": 0.1, "2": 0.05, "3": 0.025}
	for _, r := range rows[1:] {
		if lr, _ := strconv.ParseFloat(r[4], 64); math.Abs(lr-want[r[1]]) > 1e-12 {
			t.Errorf("iteration %s (epoch %s): lr %s, want %g", r[0], r[1], r[4], want[r[1]])
		}
	}
	if len(rows) != 13 {
		t.Errorf("metrics.csv has %d rows, want 12 and the header", len(rows))
	}
}
