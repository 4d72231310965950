package coordconv

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
)

func newRegressor(t *testing.T) *engine.Model {
	t.Helper()
	s, err := NewSpec(Regression, "coordconv", ModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := engine.NewModel(cpu.New(), "regressor", s.Net, s.In, s.Loss, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// regressorOut runs the model on the one-hot maps of the centres and returns its outputs.
func regressorOut(t *testing.T, m *engine.Model, cs []Centre) []float32 {
	t.Helper()
	ex, err := NewExamples(Regression, cs)
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, len(cs))
	for i := range idx {
		idx[i] = i
	}
	x, y := make([]float32, len(cs)*ex.ExampleSize()), make([]float32, len(cs)*2)
	if err := ex.Gather(idx, x, y); err != nil {
		t.Fatal(err)
	}
	out, err := m.Forward(x, len(cs), engine.EvalMode)
	if err != nil {
		t.Fatal(err)
	}
	o := make([]float32, 2*len(cs))
	m.Dev.Download(o, out.Buf)
	return o
}

var someCentres = []Centre{{4, 4}, {59, 59}, {33, 10}, {20, 50}}

// The host's float64 maps of the regressor, and their decomposition C + S(· − c), give what the
// engine's model outputs (its max pool), for He-normal and hot-pixel θ.
func TestRegressorHostMapsMatchModel(t *testing.T) {
	m := newRegressor(t)
	for _, seed := range []uint64{1, 2} {
		for _, hot := range []bool{false, true} {
			m.Init(seed)
			theta := m.Theta()
			if hot {
				if err := HotPixelInit(m.Arena, theta); err != nil {
					t.Fatal(err)
				}
				if err := m.SetTheta(theta); err != nil {
					t.Fatal(err)
				}
			}
			r, err := readRegressor(m.Arena, theta)
			if err != nil {
				t.Fatal(err)
			}
			d := r.decompose()
			got := regressorOut(t, m, someCentres)
			for i, c := range someCentres {
				maps := r.maps(&c)
				for ch := range 2 {
					direct := slices.Max(maps[ch])
					_, dec := d.winner(ch, c)
					if math.Abs(dec-direct) > 1e-9*(1+math.Abs(direct)) {
						t.Errorf("seed %d hot %v centre %v channel %d: decomposed max %v, direct %v", seed, hot, c, ch, dec, direct)
					}
					if g := float64(got[2*i+ch]); math.Abs(g-direct) > 1e-4*(1+math.Abs(direct)) {
						t.Errorf("seed %d hot %v centre %v channel %d: model %v, host %v", seed, hot, c, ch, g, direct)
					}
				}
			}
		}
	}
}

// setRegressor builds θ by hand: weights[name] lists (flat index, value) pairs.
func setRegressor(t *testing.T, m *engine.Model, vals map[string][][2]float64) []float32 {
	t.Helper()
	theta := make([]float32, m.Arena.D)
	for name, vs := range vals {
		i, ok := m.Arena.Find(name)
		if !ok {
			t.Fatalf("no parameter %s", name)
		}
		p := m.Arena.Params[i]
		for _, v := range vs {
			theta[p.Offset+int(v[0])] = float32(v[1])
		}
	}
	return theta
}

// The diagnosis of hand-built regressors whose winners and predictions follow in closed form.
// Channels: conv1..conv3 pass the one-hot map in channel 0 and the column and row coordinates
// in channels 1 and 2 (1×1 weights [out, in]: index out·in+in); conv4 and conv5 use only their
// 3×3 kernels' centre taps (index ((o·8+c)·3+1)·3+1), so no padding reaches the maps.
func TestDiagnoseHandBuilt(t *testing.T) {
	m := newRegressor(t)
	tap := func(o, c float64) float64 { return ((o*8+c)*3+1)*3 + 1 }
	pass := map[string][][2]float64{
		"conv1.weight": {{0*3 + 0, 1}, {1*3 + 1, 1}, {2*3 + 2, 1}},
		"conv2.weight": {{0*8 + 0, 1}, {1*8 + 1, 1}, {2*8 + 2, 1}},
		"conv3.weight": {{0*8 + 0, 1}, {1*8 + 1, 1}, {2*8 + 2, 1}},
		"conv4.weight": {{tap(0, 0), 1}, {tap(1, 1), 1}, {tap(2, 2), 1}},
	}
	with := func(conv5 [][2]float64, bias [][2]float64) []float32 {
		v := map[string][][2]float64{"conv5.weight": conv5, "conv5.bias": bias}
		for k, w := range pass {
			v[k] = w
		}
		return setRegressor(t, m, v)
	}
	all := AllCentres()
	var spread float64 // the targets' mean distance from their mean, (31.5, 31.5)
	for _, c := range all {
		spread += math.Hypot(float64(c.X)-31.5, float64(c.Y)-31.5) / float64(len(all))
	}
	for _, c := range []struct {
		name                    string
		theta                   []float32
		nearHot, spread, offset float64
		trapped                 bool
	}{
		// Output k = the one-hot map + bias: every winner is the hot pixel, and the output
		// (1.25, 1.5)·64 = (80, 96) px is the same for every input.
		{"one-hot only", with([][2]float64{{tap(0, 0), 1}, {tap(1, 0), 1}}, [][2]float64{{0, 0.25}, {1, 0.5}}),
			1, 0, math.Hypot(80-31.5, 96-31.5), true},
		// Output 0 = 0.1·one-hot + column, output 1 = 0.1·one-hot + row: column (row) 63 wins
		// everywhere, at least 4 px from every centre; the output is (64, 64) px.
		{"coordinates win", with([][2]float64{{tap(0, 0), 0.1}, {tap(0, 1), 1}, {tap(1, 0), 0.1}, {tap(1, 2), 1}}, nil),
			0, 0, math.Hypot(64-31.5, 64-31.5), true},
		// Output 0 = 3·one-hot + column: the hot pixel wins, and predicts 64·(2 + 2x/63) px,
		// whose spread is 128/63 of the targets'; the mean is 64·(2 + 63/63) = 192 px.
		{"one-hot wins", with([][2]float64{{tap(0, 0), 3}, {tap(0, 1), 1}, {tap(1, 0), 3}, {tap(1, 2), 1}}, nil),
			1, 128.0 / 63 * spread, math.Hypot(192-31.5, 192-31.5), false},
	} {
		d, err := DiagnoseRegressor(m.Arena, c.theta, all)
		if err != nil {
			t.Fatal(err)
		}
		if d.NearHot != c.nearHot || math.Abs(d.Spread-c.spread) > 1e-6*(1+c.spread) || math.Abs(d.MeanOff-c.offset) > 1e-6*c.offset ||
			math.Abs(d.TargetSpread-spread) > 1e-9 || d.Trapped() != c.trapped {
			t.Errorf("%s: %+v (trapped %v); want near hot %v, spread %v, mean off %v, target spread %v, trapped %v",
				c.name, d, d.Trapped(), c.nearHot, c.spread, c.offset, spread, c.trapped)
		}
	}
	if _, err := DiagnoseRegressor(m.Arena, make([]float32, m.Arena.D), nil); err == nil {
		t.Error("a diagnosis on no centres")
	}
	painter := newModel(t, Classification)
	if _, err := DiagnoseRegressor(painter.Arena, painter.Theta(), all); err == nil {
		t.Error("the painter diagnosed as a regressor")
	}
}

func newModel(t *testing.T, task Task) *engine.Model {
	t.Helper()
	s, err := NewSpec(task, "coordconv", ModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := engine.NewModel(cpu.New(), string(task), s.Net, s.In, s.Loss, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// The hot-pixel initialisation puts every centre's winner within 2 px of its hot pixel, where
// He-normal puts almost none; it changes only conv1 and conv5, keeps the 906 parameters, and
// the model's output for the middle centre is that centre's target.
func TestHotPixelInit(t *testing.T) {
	m := newRegressor(t)
	if m.Arena.D != 906 {
		t.Fatalf("%d parameters, want 906", m.Arena.D)
	}
	all := AllCentres()
	var paper float64
	const seeds = 10
	for seed := range uint64(seeds) {
		m.Init(seed)
		he := m.Theta()
		d, err := DiagnoseRegressor(m.Arena, he, all)
		if err != nil {
			t.Fatal(err)
		}
		paper += d.NearHot / seeds
		cfg := Defaults(Regression, "coordconv")
		if err := InitModel(m, cfg, seed); err != nil {
			t.Fatal(err)
		}
		theta := m.Theta()
		if d, err = DiagnoseRegressor(m.Arena, theta, all); err != nil || d.NearHot != 1 || d.Trapped() {
			t.Errorf("seed %d, hot-pixel init: %v, %v; want every winner near its hot pixel", seed, d, err)
		}
		for i, p := range m.Arena.Params {
			changed := !slices.Equal(he[p.Offset:p.Offset+p.Size], theta[p.Offset:p.Offset+p.Size])
			if p.Name == "conv5.weight" {
				continue // its channels change sign where the one-hot response dips deeper than it peaks
			}
			if want := p.Name == "conv1.weight" || p.Name == "conv5.bias"; changed != want {
				t.Errorf("seed %d: parameter %d (%s) changed %v, want %v", seed, i, p.Name, changed, want)
			}
		}
		mid := Centre{Canvas / 2, Canvas / 2}
		out := regressorOut(t, m, []Centre{mid})
		for ch, v := range out {
			if math.Abs(float64(v)-0.5) > 1e-5 {
				t.Errorf("seed %d: output %d for the middle centre %v, want 0.5", seed, ch, v)
			}
		}
		// The paper's recipe leaves He-normal θ as drawn.
		if err := InitModel(m, cfg.WithRecipe("paper"), seed); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(m.Theta(), he) {
			t.Errorf("seed %d: the paper's recipe changed He-normal θ", seed)
		}
	}
	t.Logf("He-normal: winner within 2 px of the hot pixel for %.2f%% of (example, channel) pairs over %d seeds", 100*paper, seeds)
	if paper > 0.05 {
		t.Errorf("He-normal puts %.1f%% of winners near the hot pixel; the trap the hot-pixel init avoids needs almost none", 100*paper)
	}
}

// A short training on a sixteenth of the quadrant split: from the hot-pixel initialisation the
// regressor lands within 1 px of the unseen quadrant's centres, from He-normal with the same
// seed (and the same schedule) it ends trapped, its output the same for every input.
func TestRegressorRecipesShort(t *testing.T) {
	if testing.Short() {
		t.Skip("trains twice for a few seconds")
	}
	cfg := Defaults(Regression, "coordconv")
	cfg.Split, cfg.Subsample, cfg.Epochs, cfg.Seeds = "quadrant", 16, 12, []uint64{0}
	cfg.LRMilestones = []int{8, 10} // 150 examples: about as many steps at lr 0.01 as two full epochs
	dev := cpu.New()
	for _, recipe := range Recipes {
		c := cfg
		c.Recipe = recipe
		res, err := Run(context.Background(), dev, c, RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sr := res.Seeds[0]
		last := sr.Curve[len(sr.Curve)-1]
		t.Logf("%s: test %.3f px at the last epoch; θ₀: %v; end: %v", recipe, last.TestMetric, sr.InitDiag, sr.FinalDiag)
		switch {
		case recipe == "gaze" && (last.TestMetric > 1 || sr.FinalDiag.Trapped()):
			t.Errorf("gaze's recipe: test %.3f px, %v; want < 1 px", last.TestMetric, sr.FinalDiag)
		case recipe == "paper" && (!sr.FinalDiag.Trapped() || last.TestMetric < 10):
			t.Errorf("the paper's recipe: test %.3f px, %v; want trapped (this seed is, on the full split)", last.TestMetric, sr.FinalDiag)
		}
	}
}

// The softmax gain's forward pass against a float64 softmax of gain·x, and a gain of 1 leaves
// the layer the paper's.
func TestSpatialSoftmaxGain(t *testing.T) {
	x := []float32{0.3, -1.2, 0.05, 2, 0.7, -0.4}
	for _, gain := range []float64{1, 3, 4096} {
		sm := NewSpatialSoftmax("sm")
		sm.Gain = gain
		m, err := engine.NewModel(cpu.New(), "sm", engine.NewSequential("net", engine.NewConv2d("id", 1, 1, 1, engine.Valid, false), sm), []int{1, 2, 3}, engine.MeanSquaredError, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetTheta([]float32{1}); err != nil {
			t.Fatal(err)
		}
		out, err := m.Forward(x, 1, engine.EvalMode)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, 6)
		m.Dev.Download(got, out.Buf)
		mx := math.Inf(-1)
		for _, v := range x {
			mx = math.Max(mx, gain*float64(v))
		}
		var z float64
		for _, v := range x {
			z += math.Exp(gain*float64(v) - mx)
		}
		for i, v := range x {
			if want := math.Exp(gain*float64(v)-mx) / z; math.Abs(float64(got[i])-want) > 1e-6 {
				t.Errorf("gain %v: p[%d] = %v, want %v", gain, i, got[i], want)
			}
		}
		m.Close()
	}
	for _, o := range []ModelOptions{{Gain: 2}, {RenderFS: 1}} {
		if _, err := NewSpec(Classification, "coordconv", o); err == nil {
			t.Errorf("%+v accepted for the painter", o)
		}
	}
	for _, o := range []ModelOptions{{Gain: -1}, {RenderFS: 2}} {
		if _, err := NewSpec(Rendering, "coordconv", o); err == nil {
			t.Errorf("%+v accepted for the renderer", o)
		}
	}
}
