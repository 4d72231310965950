package coordconv

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
)

// forward runs a layer alone through a throwaway model and returns its output.
func forward(t *testing.T, l engine.Layer, in []int, x []float32, n int) ([]float32, []int) {
	t.Helper()
	// A model needs a parameter: put the layer after a 1×1 convolution fixed to the identity.
	dev := cpu.New()
	id := engine.NewConv2d("id", in[0], 1, 1, engine.Valid, false)
	m, err := engine.NewModel(dev, "probe", engine.NewSequential("probe", id, l), in, engine.MeanSquaredError, n)
	if err != nil {
		t.Fatal(err)
	}
	theta := make([]float32, m.Arena.D)
	for c := range in[0] {
		theta[c*in[0]+c] = 1
	}
	if err := m.SetTheta(theta); err != nil {
		t.Fatal(err)
	}
	out, err := m.Forward(x, n, engine.EvalMode)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float32, out.N*out.Size())
	dev.Download(y, out.Buf)
	return y, out.Shape
}

// The coordinate channels hold exactly the column, then the row, each scaled by its own side,
// then the radius: checked against hand-written values on a square and a non-square map.
func TestAddCoordsValues(t *testing.T) {
	x := []float32{7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21} // one channel, 3×5
	y, shape := forward(t, NewAddCoords("ac", true), []int{1, 3, 5}, x, 1)
	if want := []int{4, 3, 5}; !equalInts(shape, want) {
		t.Fatalf("shape %v, want %v", shape, want)
	}
	cols := []float32{-1, -0.5, 0, 0.5, 1}
	rows := []float32{-1, 0, 1}
	for i := range 3 {
		for j := range 5 {
			p := i*5 + j
			if y[p] != x[p] {
				t.Errorf("input channel [%d,%d] = %v, want %v", i, j, y[p], x[p])
			}
			if y[15+p] != cols[j] {
				t.Errorf("column channel [%d,%d] = %v, want %v", i, j, y[15+p], cols[j])
			}
			if y[30+p] != rows[i] {
				t.Errorf("row channel [%d,%d] = %v, want %v", i, j, y[30+p], rows[i])
			}
			r := float32(math.Sqrt(float64(cols[j]*cols[j] + rows[i]*rows[i])))
			if y[45+p] != r {
				t.Errorf("radius channel [%d,%d] = %v, want %v", i, j, y[45+p], r)
			}
		}
	}
	// Square 64×64 without the radius: the corners are ±1, and the step is 2/63.
	y, shape = forward(t, NewAddCoords("ac", false), []int{1, 64, 64}, make([]float32, 2*4096), 2)
	if !equalInts(shape, []int{3, 64, 64}) {
		t.Fatalf("shape %v", shape)
	}
	for b := range 2 {
		xx, yy := y[b*3*4096+4096:b*3*4096+2*4096], y[b*3*4096+2*4096:b*3*4096+3*4096]
		if xx[0] != -1 || xx[63] != 1 || yy[0] != -1 || yy[63*64] != 1 || xx[63*64] != -1 || yy[63] != -1 {
			t.Errorf("example %d: corners xx %v %v, yy %v %v", b, xx[0], xx[63], yy[0], yy[63*64])
		}
		if want := float32(2.0*10/63 - 1); xx[5*64+10] != want || yy[10*64+5] != want {
			t.Errorf("example %d: xx[5,10] = %v, yy[10,5] = %v, want %v", b, xx[5*64+10], yy[10*64+5], want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Finite differences of the loss with respect to parameters that sit before the tiling,
// AddCoords, the spatial softmax and the global max pool: every gradient reaching them passes
// through those layers' backward passes.
func TestLayerGradients(t *testing.T) {
	for _, c := range []struct {
		name string
		net  func() engine.Layer
		in   []int
		loss engine.LossKind
		out  int
	}{
		{"tile-addcoords", func() engine.Layer {
			return engine.NewSequential("net",
				engine.NewLinear("fc", 3, true),
				NewTile("tile", 4, 5),
				NewAddCoords("ac", true),
				engine.NewConv2d("conv", 2, 3, 1, engine.Same, true))
		}, []int{2}, engine.MeanSquaredError, 2 * 4 * 5},
		{"coordconv-softmax-maxpool", func() engine.Layer {
			return engine.NewSequential("net",
				engine.NewConv2d("pre", 2, 3, 1, engine.Same, true),
				NewCoordConv("cc", 3, 3, 1, engine.Same, true, false),
				NewSpatialSoftmax("sm"),
				engine.NewConv2d("post", 2, 3, 1, engine.Same, true),
				NewGlobalMaxPool("gmp"))
		}, []int{1, 5, 6}, engine.MeanSquaredError, 2},
		{"normcoords", func() engine.Layer {
			return engine.NewSequential("net",
				engine.NewLinear("fc", 2, true),
				NewNormCoords("norm", 4, 5),
				NewTile("tile", 4, 5),
				NewAddCoords("ac", false),
				engine.NewConv2d("conv", 2, 1, 1, engine.Same, true))
		}, []int{3}, engine.MeanSquaredError, 2 * 4 * 5},
		// The softmax of 2.5·x: a gain that is not 1 scales the forward input and the gradient.
		{"softmax-gain", func() engine.Layer {
			sm := NewSpatialSoftmax("sm")
			sm.Gain = 2.5
			return engine.NewSequential("net",
				engine.NewConv2d("pre", 2, 3, 1, engine.Same, true),
				sm,
				engine.NewConv2d("post", 2, 3, 1, engine.Same, true),
				NewGlobalMaxPool("gmp"))
		}, []int{1, 5, 6}, engine.MeanSquaredError, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			dev := cpu.New()
			m, err := engine.NewModel(dev, c.name, c.net(), c.in, c.loss, 3)
			if err != nil {
				t.Fatal(err)
			}
			m.Init(3)
			r := rand.New(rand.NewPCG(1, 2))
			n := 3
			x := make([]float32, n*prodInts(c.in))
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			y := make([]float32, n*c.out)
			for i := range y {
				y[i] = float32(r.NormFloat64())
			}
			m.ZeroGrad()
			if _, err := m.Batch(x, y, n, engine.EvalMode, true, 1); err != nil {
				t.Fatal(err)
			}
			grad := m.GradHost()
			theta := m.Theta()
			loss := func() float64 {
				if err := m.SetTheta(theta); err != nil {
					t.Fatal(err)
				}
				l, err := m.Batch(x, y, n, engine.EvalMode, false, 0)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			// Only the first layer's parameters: their gradient crosses every layer under test.
			if checkFD(t, theta, grad, m.Arena.Params[0], loss) == 0 {
				t.Fatal("zero gradient: nothing checked")
			}
		})
	}
}

// checkFD compares the backward gradient of parameter p with central finite differences of loss,
// which reads theta (moved in place by ±eps around each entry), and returns Σ|finite difference|.
func checkFD(t *testing.T, theta, grad []float32, p engine.Param, loss func() float64) float64 {
	t.Helper()
	const eps = 1e-2
	var sum float64
	for i := p.Offset; i < p.Offset+p.Size; i++ {
		orig := theta[i]
		theta[i] = orig + eps
		lp := loss()
		theta[i] = orig - eps
		lm := loss()
		theta[i] = orig
		fd := (lp - lm) / (float64(orig+eps) - float64(orig-eps))
		if d := math.Abs(fd - float64(grad[i])); d > 2e-3+2e-2*math.Abs(fd) {
			t.Errorf("%s[%d]: backward %.6g, finite differences %.6g", p.Name, i-p.Offset, grad[i], fd)
		}
		sum += math.Abs(fd)
	}
	return sum
}

func prodInts(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}

func TestSplits(t *testing.T) {
	q, err := NewSplit("quadrant", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Train) != 2407 || len(q.Test) != 729 {
		t.Errorf("quadrant split: %d train, %d test, want 2407 and 729", len(q.Train), len(q.Test))
	}
	for _, c := range q.Test {
		if c.X < 33 || c.Y < 33 {
			t.Fatalf("quadrant test centre %v outside the held-out quadrant", c)
		}
	}
	for _, c := range q.Train {
		if c.X >= 33 && c.Y >= 33 {
			t.Fatalf("quadrant training centre %v inside the held-out quadrant", c)
		}
	}
	u, err := NewSplit("uniform", 0.2, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Train) != 2509 || len(u.Test) != 627 {
		t.Errorf("uniform split: %d train, %d test, want 2509 and 627", len(u.Train), len(u.Test))
	}
	seen := map[Centre]bool{}
	for _, c := range append(append([]Centre(nil), u.Train...), u.Test...) {
		if seen[c] {
			t.Fatalf("centre %v in both sets", c)
		}
		seen[c] = true
	}
	if len(seen) != Positions*Positions {
		t.Errorf("uniform split covers %d centres, want %d", len(seen), Positions*Positions)
	}
	u2, _ := NewSplit("uniform", 0.2, 7)
	u3, _ := NewSplit("uniform", 0.2, 8)
	if u2.Test[0] != u.Test[0] || u2.Test[100] != u.Test[100] {
		t.Error("the same seed gave another uniform split")
	}
	same := true
	for i := range u.Test {
		same = same && u3.Test[i] == u.Test[i]
	}
	if same {
		t.Error("another seed gave the same uniform split")
	}
}

func TestExamples(t *testing.T) {
	c := Centre{10, 20}
	for _, task := range Tasks {
		e, err := NewExamples(task, []Centre{c, {59, 4}})
		if err != nil {
			t.Fatal(err)
		}
		x, y := make([]float32, 2*e.ExampleSize()), make([]float32, 2*e.TargetSize())
		if err := e.Gather([]int{1, 0}, x, y); err != nil {
			t.Fatal(err)
		}
		xs, ys := x[e.ExampleSize():], y[e.TargetSize():] // example 0 went second
		switch task {
		case Classification:
			if xs[0] != 10 || xs[1] != 20 || ys[0] != 20*64+10 {
				t.Errorf("classification: x %v, label %v", xs, ys)
			}
		case Regression:
			if xs[20*64+10] != 1 || sum(xs) != 1 || ys[0] != 10.0/64 || ys[1] != 20.0/64 {
				t.Errorf("regression: one-hot sum %v, target %v", sum(xs), ys)
			}
		case Rendering:
			if sum(ys) != 81 || ys[16*64+6] != 1 || ys[24*64+14] != 1 || ys[15*64+6] != 0 || ys[16*64+15] != 0 {
				t.Errorf("rendering: square of %v pixels or misplaced", sum(ys))
			}
		}
	}
}

func sum(v []float32) float32 {
	var s float32
	for _, x := range v {
		s += x
	}
	return s
}

func TestBadInput(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{OneHot(Centre{3, 10}, make([]float32, 4096)), "off the canvas"},
		{Square(Centre{10, 60}, make([]float32, 4096)), "off the canvas"},
		{errOf(NewExamples(Classification, []Centre{{0, 0}})), "off the canvas"},
		{errOf(NewExamples(Classification, nil)), "empty"},
		{errOf(NewExamples("painting", []Centre{{9, 9}})), "unknown task"},
		{errOf(NewSplit("uniform", 0.0001, 1)), "empty test set"},
		{errOf(NewSplit("uniform", 0.99999, 1)), "empty training set"},
		{errOf(NewSplit("uniform", 1.5, 1)), "test fraction"},
		{errOf(NewSplit("diagonal", 0.2, 1)), "unknown split"},
		{errOf(ParseTask("segmentation")), "unknown task"},
		{errOf(NewSpec(Regression, "resnet", ModelOptions{})), "unknown model"},
		{errOf(Run(context.Background(), cpu.New(), Config{Task: Classification, Model: "mlp", Batch: 16, Epochs: 1, Seeds: []uint64{0}}, RunOptions{})), "unknown model"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("got error %v, want one containing %q", c.err, c.want)
		}
	}
}

func errOf[T any](_ T, err error) error { return err }

// The plotted predictions are nPred examples spread over the set, first and last included.
func TestPredIndices(t *testing.T) {
	for _, n := range []int{1, 5, 8, 9, 100, 729} {
		var got []int
		for i := range n {
			if isPredIndex(i, n) {
				got = append(got, i)
			}
		}
		if want := min(n, nPred); len(got) != want || got[0] != 0 {
			t.Errorf("n %d: picked %v, want %d indices from 0", n, got, want)
		}
		if n > nPred && got[len(got)-1] != (nPred-1)*n/nPred {
			t.Errorf("n %d: picked %v", n, got)
		}
	}
}

// TestCentreLoss checks the renderer's intermediate loss: its value against a host softmax of
// painter logits known in closed form (a 1×1 convolution of the tiled coordinates and the
// coordinate channels with set weights), and the gradient of data loss + weight × that loss with
// respect to the painter's parameters against finite differences.
// NormCoords maps pixel coordinates to AddCoords' channel values: 2x/(W−1) − 1, 2y/(H−1) − 1.
func TestNormCoordsValues(t *testing.T) {
	const h, w = 4, 5 // not square: each axis by its own side
	// An identity 1×1 convolution after it: a model needs parameters.
	net := engine.NewSequential("net", NewNormCoords("norm", h, w), engine.NewConv2d("id", 2, 1, 1, engine.Valid, false))
	m, err := engine.NewModel(cpu.New(), "norm", net, []int{2, 1, 1}, engine.MeanSquaredError, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetTheta([]float32{1, 0, 0, 1}); err != nil {
		t.Fatal(err)
	}
	x := []float32{0, 0, 4, 3, 2, 1} // corners and a middle pixel as (x, y)
	want := []float32{-1, -1, 1, 1, 0, -1.0 / 3}
	out, err := m.Forward(x, 3, engine.EvalMode)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 6)
	m.Dev.Download(got, out.Buf)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Errorf("output %d: %v, want %v (all %v)", i, got[i], want[i], got)
		}
	}
	if _, err := engine.NewModel(cpu.New(), "norm", NewNormCoords("norm", 1, 5), []int{2, 1, 1}, engine.MeanSquaredError, 1); err == nil {
		t.Error("a map one pixel high was accepted")
	}
}

func TestCentreLoss(t *testing.T) {
	const h, w, n, weight = 5, 6, 3, 0.7
	newModel := func() (*engine.Model, *CentreLoss) {
		painter := engine.NewSequential("painter",
			NewTile("tile", h, w),
			NewAddCoords("ac", false),
			engine.NewConv2d("c1", 1, 1, 1, engine.Valid, true))
		cl := NewCentreLoss("centre", painter, weight)
		net := engine.NewSequential("net", cl, NewSpatialSoftmax("sm"), engine.NewConv2d("post", 1, 3, 1, engine.Same, true))
		m, err := engine.NewModel(cpu.New(), "centre", net, []int{2, 1, 1}, engine.SigmoidBinaryCrossEntropy, n)
		if err != nil {
			t.Fatal(err)
		}
		return m, cl
	}
	x := []float32{1, 2, 4, 0, 5, 4} // (x, y) centres on the 6-wide, 5-high map
	r := rand.New(rand.NewPCG(3, 4))
	y := make([]float32, n*h*w)
	for i := range y {
		y[i] = float32(r.IntN(2))
	}

	t.Run("value", func(t *testing.T) {
		m, cl := newModel()
		theta := m.Theta()
		// c1: weights on (x, y, xx, yy), then the bias; post: anything.
		cw := []float32{0.3, -0.2, 1.5, -0.7, 0.1}
		copy(theta, cw)
		if err := m.SetTheta(theta); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Batch(x, y, n, engine.EvalMode, false, 1); err != nil {
			t.Fatal(err)
		}
		var want float64
		for e := range n {
			cx, cy := float64(x[2*e]), float64(x[2*e+1])
			z := make([]float64, h*w)
			zmax := math.Inf(-1)
			for i := range h {
				for j := range w {
					xx, yy := 2*float64(j)/(w-1)-1, 2*float64(i)/(h-1)-1
					v := float64(cw[0])*cx + float64(cw[1])*cy + float64(cw[2])*xx + float64(cw[3])*yy + float64(cw[4])
					z[i*w+j] = v
					zmax = max(zmax, v)
				}
			}
			var se float64
			for _, v := range z {
				se += math.Exp(v - zmax)
			}
			want += -(z[int(cy)*w+int(cx)] - zmax - math.Log(se))
		}
		want /= n
		if got := cl.LastLoss(cpu.New()); math.Abs(got-want) > 1e-5*max(1, want) {
			t.Errorf("intermediate loss %.7g, want %.7g", got, want)
		}
	})

	t.Run("gradient", func(t *testing.T) {
		m, cl := newModel()
		m.Init(7)
		m.ZeroGrad()
		if _, err := m.Batch(x, y, n, engine.TrainMode, true, 1); err != nil {
			t.Fatal(err)
		}
		grad := m.GradHost()
		theta := m.Theta()
		loss := func() float64 {
			if err := m.SetTheta(theta); err != nil {
				t.Fatal(err)
			}
			l, err := m.Batch(x, y, n, engine.TrainMode, false, 1)
			if err != nil {
				t.Fatal(err)
			}
			return l + weight*n*cl.LastLoss(cpu.New())
		}
		if checkFD(t, theta, grad, m.Arena.Params[0], loss) == 0 {
			t.Fatal("zero gradient: nothing checked")
		}
		// The term's gradient follows the data loss's scale (the trainer's 1/n).
		if err := m.SetTheta(theta); err != nil {
			t.Fatal(err)
		}
		m.ZeroGrad()
		if _, err := m.Batch(x, y, n, engine.TrainMode, true, 0.25); err != nil {
			t.Fatal(err)
		}
		for i, g := range m.GradHost() {
			if d := math.Abs(float64(g) - 0.25*float64(grad[i])); d > 1e-6*max(1, math.Abs(float64(grad[i]))) {
				t.Fatalf("θ[%d]: gradient at loss scale 0.25 is %.7g, want a quarter of %.7g", i, g, grad[i])
			}
		}
	})

	// Detached, the painter's gradient is the centre loss's alone, and what detaching takes
	// away is the data loss's gradient through the rendering layers.
	t.Run("detach", func(t *testing.T) {
		m, cl := newModel()
		m.Init(7)
		theta := m.Theta()
		// Strong rendering weights, so that the data loss's share is far above the check's
		// tolerance.
		pi, _ := m.Arena.Find("post.weight")
		for i := m.Arena.Params[pi].Offset; i < m.Arena.Params[pi].Offset+m.Arena.Params[pi].Size; i++ {
			theta[i] *= 30
		}
		grads := func(detach bool) []float32 {
			cl.Detach = detach
			if err := m.SetTheta(theta); err != nil {
				t.Fatal(err)
			}
			m.ZeroGrad()
			if _, err := m.Batch(x, y, n, engine.TrainMode, true, 1); err != nil {
				t.Fatal(err)
			}
			return m.GradHost()
		}
		grad, dgrad := grads(false), grads(true)
		losses := func() (data, centre float64) {
			if err := m.SetTheta(theta); err != nil {
				t.Fatal(err)
			}
			l, err := m.Batch(x, y, n, engine.TrainMode, false, 1)
			if err != nil {
				t.Fatal(err)
			}
			return l, weight * n * cl.LastLoss(cpu.New())
		}
		if checkFD(t, theta, dgrad, m.Arena.Params[0], func() float64 { _, c := losses(); return c }) == 0 {
			t.Fatal("zero gradient: nothing checked")
		}
		rest := make([]float32, len(grad))
		for i := range grad {
			rest[i] = grad[i] - dgrad[i]
		}
		if s := checkFD(t, theta, rest, m.Arena.Params[0], func() float64 { d, _ := losses(); return d }); s < 0.05 {
			t.Fatalf("the data loss moves the painter's weights by only %v: the check cannot tell", s)
		}
	})
}
