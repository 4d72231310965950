package lca

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/internal/npy"
	"github.com/gazeml/gaze/train"
)

// mnistDir is where the MNIST tests read the IDX files: $GAZE_DATA when it holds them, else a
// fresh folder that data.Load fills from the Go module cache.
func mnistDir(t *testing.T) string {
	if d := os.Getenv("GAZE_DATA"); d != "" {
		if _, _, err := data.LoadMNIST(d); err == nil {
			return d
		}
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("real MNIST comes through the go command; it is not on PATH")
	}
	return t.TempDir()
}

// The first 40 iterations of the paper's MNIST recipe (mnist-fc, SGD 0.01 momentum 0.9, batch
// 250) on real MNIST with 5,000 examples held out and the first 10,000 of the rest as the
// training set, per-class LCA over a 5,000-example subset and over the held-out split, on two
// CPU devices. Every class's |ΔL_c − ΣLCA_c| ≤ 1e-3, the classes add up to the total within
// 1e-9 relative on every iteration, and an independent float64 recomputation from the written
// files (weights.npy, meta.json, the index files and the IDX files; no gaze code but the IDX
// reader) matches the per-parameter LCA within 1e-4 relative (L1), and the held-out split's
// per-layer sums as well. About 20 s on 2 cores.
func TestLCAMNISTPerClassHeldOutRecomputed(t *testing.T) {
	if testing.Short() {
		t.Skip("about 20 s on 2 cores; runs without -short")
	}
	ddir := mnistDir(t)
	dir := filepath.Join(t.TempDir(), "run")
	cfg := TrainConfig{
		Config: train.Config{Model: "mnist-fc", Data: data.Spec{Name: "mnist", Dir: ddir, HeldOut: 5000, SplitSeed: 3, TrainN: 10000},
			Opt: engine.OptConfig{Kind: "sgd", LR: 0.01, Momentum: 0.9}, Batch: 250, Epochs: 1, Device: "cpu", CkptEvery: 500, EvalBatch: 1000},
		LCA: Spec{Examples: 5000, Seed: 7, Config: Config{Chunk: 2500, Threshold: 1e-3, MaxN: 32, BatchStats: true, PerClass: true},
			SaveLCA: true, SaveW: true, HeldOut: true, Devices: "cpu:2"},
	}
	if _, err := Train(context.Background(), cfg, TrainOptions{Options: train.Options{Dir: dir, Quiet: true}, NoReport: true}); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"", HeldOutDir} {
		d := filepath.Join(dir, sub)
		checkPerClassIdentity(t, d, 1e-9)
		rows, err := readCSV(filepath.Join(d, ClassLossesFile))
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for _, r := range rows {
			e, _ := strconv.ParseFloat(r[7], 64)
			worst = math.Max(worst, e)
		}
		t.Logf("%s: largest per-class error %.3g over %d rows", cmpOr(sub, "LCA set"), worst, len(rows))
		if worst > 1e-3 {
			t.Errorf("%s: a class's |ΔL_c − ΣLCA_c| reaches %g", cmpOr(sub, "LCA set"), worst)
		}
	}
	recomputeIteration(t, dir, ddir)
}

// recomputeIteration recomputes the first iteration with n = 2 of an mnist-fc run independently:
// a float64 MLP built from meta.json's parameter table, θ_t and θ_{t+1} from weights.npy, the
// LCA set and the held-out split from their index files into the IDX files' order, and
// Simpson's rule with the run's n.
func recomputeIteration(t *testing.T, dir, ddir string) {
	meta, err := ReadMeta(dir)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readCSV(filepath.Join(dir, LossesFile))
	if err != nil {
		t.Fatal(err)
	}
	it := -1
	for k, r := range rows {
		if r[8] == "2" && k > 0 {
			it = k
			break
		}
	}
	if it < 0 {
		t.Fatal("no iteration with n = 2")
	}
	w, err := npy.Read(filepath.Join(dir, WeightsFile), it, it+2)
	if err != nil {
		t.Fatal(err)
	}
	full, err := npy.Read(filepath.Join(dir, FullFile), it, it+1)
	if err != nil {
		t.Fatal(err)
	}
	img := func(split string) ([]byte, []byte) {
		_, x, err := data.ReadIDXFile(filepath.Join(ddir, split+"-images-idx3-ubyte.gz"))
		if err != nil {
			t.Skip("the IDX files are not under their plain names:", err)
		}
		_, y, err := data.ReadIDXFile(filepath.Join(ddir, split+"-labels-idx1-ubyte.gz"))
		if err != nil {
			t.Fatal(err)
		}
		return x, y
	}
	pix, labels := img("train")
	mlp := newRefMLP(t, meta)
	lca := func(file string) []float64 {
		idx, err := npy.ReadInt64(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float64, meta.D)
		weights := []float64{1, 4, 1}
		for k, f := range []float64{0, 0.5, 1} {
			theta := make([]float64, meta.D)
			for i := range theta {
				a, b := w.Row(0)[i], w.Row(1)[i]
				theta[i] = float64(float32(a + f*(b-a)))
			}
			g := mlp.gradient(theta, idx, pix, labels)
			for i := range out {
				out[i] += weights[k] / 6 * g[i] * (w.Row(1)[i] - w.Row(0)[i])
			}
		}
		return out
	}
	ref := lca(meta.Indices)
	var diff, norm float64
	for i, v := range ref {
		diff += math.Abs(full.Row(0)[i] - v)
		norm += math.Abs(v)
	}
	t.Logf("iteration %d: relative L1 difference of the per-parameter LCA %.3g", it, diff/norm)
	if diff/norm > 1e-4 {
		t.Errorf("iteration %d: gaze's per-parameter LCA differs from the float64 recomputation by %.3g (relative L1)", it, diff/norm)
	}
	held := lca(meta.HeldOutIndices)
	hl, err := npy.Read(filepath.Join(dir, HeldOutDir, LayersFile), it, it+1)
	if err != nil {
		t.Fatal(err)
	}
	for l, name := range meta.Layers {
		var want float64
		for _, p := range meta.Params {
			if p.Layer == name {
				for i := p.Offset; i < p.Offset+p.Size; i++ {
					want += held[i]
				}
			}
		}
		if got := hl.Row(0)[l]; math.Abs(got-want) > 1e-4*math.Abs(want) {
			t.Errorf("held-out layer %s, iteration %d: ΣLCA %v, recomputed %v", name, it, got, want)
		}
	}
}

// refMLP is mnist-fc in float64 from meta.json's parameter table: Linear layers (weight
// [out, in], bias [out]) in arena order with ReLU between them, softmax cross-entropy.
type refMLP struct {
	w, b []ParamMeta
}

func newRefMLP(t *testing.T, meta *Meta) *refMLP {
	m := &refMLP{}
	for _, p := range meta.Params {
		switch {
		case p.Kind == "weight" && len(p.Shape) == 2:
			m.w = append(m.w, p)
		case p.Kind == "bias":
			m.b = append(m.b, p)
		default:
			t.Fatalf("parameter %s (%s %v) is not an MLP's", p.Name, p.Kind, p.Shape)
		}
	}
	if len(m.w) != 3 || len(m.b) != 3 {
		t.Fatalf("%d weights and %d biases, want mnist-fc's three layers", len(m.w), len(m.b))
	}
	return m
}

// gradient is the gradient of the mean loss over the examples idx of the IDX training set.
func (m *refMLP) gradient(theta []float64, idx []int64, pix, labels []byte) []float64 {
	g := make([]float64, len(theta))
	L := len(m.w)
	acts := make([][]float64, L+1)
	deltas := make([][]float64, L+1)
	for l, p := range m.w {
		acts[l+1] = make([]float64, p.Shape[0])
		deltas[l+1] = make([]float64, p.Shape[0])
	}
	acts[0] = make([]float64, 784)
	deltas[0] = make([]float64, 784)
	for _, e := range idx {
		for j := range acts[0] {
			acts[0][j] = float64(pix[int(e)*784+j]) / 255
		}
		for l, p := range m.w {
			out, in := p.Shape[0], p.Shape[1]
			W, B := theta[p.Offset:p.Offset+p.Size], theta[m.b[l].Offset:]
			for o := range out {
				s := B[o]
				for i, x := range acts[l] {
					s += W[o*in+i] * x
				}
				if l < L-1 {
					s = math.Max(s, 0)
				}
				acts[l+1][o] = s
			}
		}
		z := acts[L]
		mx := z[0]
		for _, v := range z {
			mx = math.Max(mx, v)
		}
		var sum float64
		for _, v := range z {
			sum += math.Exp(v - mx)
		}
		for o, v := range z {
			deltas[L][o] = math.Exp(v-mx) / sum / float64(len(idx))
		}
		deltas[L][labels[e]] -= 1 / float64(len(idx))
		for l := L - 1; l >= 0; l-- {
			p := m.w[l]
			out, in := p.Shape[0], p.Shape[1]
			W := theta[p.Offset : p.Offset+p.Size]
			gW, gB := g[p.Offset:p.Offset+p.Size], g[m.b[l].Offset:]
			clear(deltas[l])
			for o := range out {
				d := deltas[l+1][o]
				if d == 0 {
					continue
				}
				gB[o] += d
				for i, x := range acts[l] {
					gW[o*in+i] += d * x
					deltas[l][i] += d * W[o*in+i]
				}
			}
			if l > 0 {
				for i, a := range acts[l] {
					if a <= 0 {
						deltas[l][i] = 0
					}
				}
			}
		}
	}
	return g
}
