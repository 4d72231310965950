package coordconv

import (
	"math"
	"slices"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
)

// The two recipes of each CoordConv model, and none for the conv baselines.
func TestRecipes(t *testing.T) {
	r := Defaults(Rendering, "coordconv")
	if want := (ModelOptions{Interm: RenderInterm, Gain: RenderGain, NormCoords: true, Detach: true, BackgroundBias: true}); r.Recipe != "gaze" || r.Opts != want || r.L2 != RenderL2 {
		t.Errorf("renderer, gaze: recipe %q, options %+v, l2 %v; want %+v, l2 %v", r.Recipe, r.Opts, r.L2, want, RenderL2)
	}
	if p := r.WithRecipe("paper"); p.Opts != (ModelOptions{}) || p.L2 != 1e-3 || p.Opts.Describe() != "" {
		t.Errorf("renderer, paper: options %+v (%q), l2 %v; want the paper's model and l2 1e-3", p.Opts, p.Opts.Describe(), p.L2)
	}
	c := Defaults(Classification, "coordconv")
	if !c.Opts.NormCoords || c.WithRecipe("paper").Opts.NormCoords {
		t.Errorf("classification: gaze's painter normalises its input (%v), the paper's does not (%v)", c.Opts.NormCoords, c.WithRecipe("paper").Opts.NormCoords)
	}
	for _, task := range []Task{Classification, Regression, Rendering} {
		if b := Defaults(task, "conv"); b.Recipe != "" || b.Opts != (ModelOptions{}) {
			t.Errorf("%s baseline: recipe %q, options %+v; want one recipe, the paper's model", task, b.Recipe, b.Opts)
		}
	}
}

// Gaze's renderer starts at the background rate: away from the painter's peak every rendering
// unit sees zeros, so the output logit there is render5's bias, log(81/4,015).
func TestBackgroundBiasInit(t *testing.T) {
	cfg := Defaults(Rendering, "coordconv")
	s, err := NewSpec(cfg.Task, cfg.Model, cfg.Opts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := engine.NewModel(cpu.New(), "r", s.Net, s.In, s.Loss, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := InitModel(m, cfg, 3); err != nil {
		t.Fatal(err)
	}
	out, err := m.Forward([]float32{10, 20, 50, 7}, 2, engine.EvalMode)
	if err != nil {
		t.Fatal(err)
	}
	z := make([]float32, 2*Canvas*Canvas)
	m.Dev.Download(z, out.Buf)
	slices.Sort(z)
	want := math.Log(81.0 / 4015)
	if med := float64(z[len(z)/2]); math.Abs(med-want) > 1e-6 {
		t.Errorf("median output logit %v, want the background's log-odds %v", med, want)
	}
	reg, _ := NewSpec(Regression, "coordconv", ModelOptions{})
	rm, err := engine.NewModel(cpu.New(), "reg", reg.Net, reg.In, reg.Loss, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := BackgroundBiasInit(rm.Arena, rm.Theta()); err == nil {
		t.Error("the regressor was taken for the renderer")
	}
}

// The renderer's painter diagnostic counts the centres where the painter's map peaks. A
// hand-built painter paints −100·(|xx − (2x/64 − 1)| + |yy − (2y/63 − 1)|): its x is scaled
// by 64 instead of 63, so the peak lies at column x for x < 32 and at x − 1 for x > 32 (x = 32
// is a tie, left out), and at row y.
func TestPainterDiagnostic(t *testing.T) {
	cfg := Defaults(Rendering, "coordconv").WithRecipe("paper")
	s, err := NewSpec(cfg.Task, cfg.Model, cfg.Opts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := engine.NewModel(cpu.New(), "r", s.Net, s.In, s.Loss, 4)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	theta := m.Theta()
	set := func(name string, vals func(w []float32, shape []int)) {
		i, ok := m.Arena.Find(name)
		if !ok {
			t.Fatalf("no %s", name)
		}
		p := m.Arena.Params[i]
		w := theta[p.Offset : p.Offset+p.Size]
		clear(w)
		vals(w, p.Shape)
	}
	// conv1's input channels: the tiled (x, y) in pixels, then AddCoords' xx and yy.
	set("conv1.weight", func(w []float32, _ []int) {
		copy(w[0:4], []float32{-2.0 / 64, 0, 1, 0})
		copy(w[4:8], []float32{2.0 / 64, 0, -1, 0})
		copy(w[8:12], []float32{0, -2.0 / 63, 0, 1})
		copy(w[12:16], []float32{0, 2.0 / 63, 0, -1})
	})
	set("conv1.bias", func(w []float32, _ []int) { copy(w, []float32{1, -1, 1, -1}) })
	for _, l := range []string{"conv2", "conv3", "conv4"} {
		set(l+".weight", func(w []float32, shape []int) {
			for c := range 4 {
				w[c*shape[1]+c] = 1
			}
		})
		set(l+".bias", func([]float32, []int) {})
	}
	set("conv5.weight", func(w []float32, _ []int) { copy(w, []float32{-100, -100, -100, -100}) })
	set("conv5.bias", func([]float32, []int) {})
	if err := m.SetTheta(theta); err != nil {
		t.Fatal(err)
	}
	var centres []Centre
	hits := 0
	for x := MinCentre; x <= MaxCentre; x++ {
		if x != 32 {
			centres = append(centres, Centre{x, 10}, Centre{x, 50})
			if x < 32 {
				hits += 2
			}
		}
	}
	ds, err := NewExamples(Rendering, centres)
	if err != nil {
		t.Fatal(err)
	}
	ev := newEvaluator(m, Rendering)
	if _, err := ev.metric(ds, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := ev.painter[ds], float64(hits)/float64(len(centres)); got != want {
		t.Errorf("painter at the centre in %v of the examples, want %v (%d of %d)", got, want, hits, len(centres))
	}
}

// Lock-in is the start of the final run of perfect epochs, train and test both.
func TestLockIn(t *testing.T) {
	curve := func(v ...float64) []EpochResult {
		var c []EpochResult
		for i := 0; i < len(v); i += 2 {
			c = append(c, EpochResult{Epoch: i/2 + 1, TrainMetric: v[i], TestMetric: v[i+1]})
		}
		return c
	}
	acc, dist := TaskMetric(Classification), TaskMetric(Regression)
	for _, c := range []struct {
		curve []EpochResult
		m     Metric
		want  int
	}{
		{curve(1, 1, 0.9, 1, 1, 1, 1, 1), acc, 3}, // perfect at 1, dropped at 2, locked in from 3
		{curve(0.5, 0.2, 1, 1), acc, 2},
		{curve(1, 1, 1, 0.99), acc, 0}, // not perfect at the end
		{curve(1, 1, 1, 1), acc, 1},
		{nil, acc, 0},
		{curve(0, 0, 0, 0), dist, 0}, // a metric without a perfect value
	} {
		if got := lockIn(c.curve, c.m); got != c.want {
			t.Errorf("%+v: locked in from %d, want %d", c.curve, got, c.want)
		}
	}
}
