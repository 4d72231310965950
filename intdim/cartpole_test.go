package intdim

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func checkState(t *testing.T, step int, c CartPole, x, xd, th, thd float64) {
	t.Helper()
	if !near(c.X, x) || !near(c.XDot, xd) || !near(c.Theta, th) || !near(c.ThetaDot, thd) {
		t.Errorf("after step %d: (x, ẋ, θ, θ̇) = (%.12g, %.12g, %.12g, %.12g), want (%.12g, %.12g, %.12g, %.12g)",
			step, c.X, c.XDot, c.Theta, c.ThetaDot, x, xd, th, thd)
	}
}

// Three steps worked by hand from the upright rest state. With θ = 0 (sin 0 = 0, cos 0 = 1)
// and F = +10: temp = F/(m_c+m_p) = 10/1.1 = 100/11; the denominator l·(4/3 − m_p/(m_c+m_p)) =
// 0.5·(4/3 − 1/11) = 41/66; θ̈ = −temp/(41/66) = −600/41; ẍ = temp − m_p·l·θ̈/(m_c+m_p) =
// 100/11 + 0.05·(600/41)/1.1 = 4400/451. Euler from the old state: x stays 0, ẋ = 0.02·4400/451
// = 88/451, θ stays 0, θ̇ = −0.02·600/41 = −12/41. Pushing left (F = −10) from there: θ is
// still 0, so the accelerations are the same with opposite signs: x = 0.02·88/451, ẋ = 0,
// θ = −0.02·12/41, θ̇ = 0. A third push right, now with θ ≠ 0, is written out in full below.
func TestCartPoleHandSteps(t *testing.T) {
	c := CartPole{}
	if r, done := c.Step(1); r != 1 || done {
		t.Fatalf("step 1: reward %v, done %v", r, done)
	}
	checkState(t, 1, c, 0, 88.0/451, 0, -12.0/41)
	c.Step(0)
	checkState(t, 2, c, 0.02*88/451, 0, -0.02*12/41, 0)

	th := -0.02 * 12 / 41
	s, co := math.Sin(th), math.Cos(th)
	temp := (10 + 0.1*0.5*0*0*s) / 1.1 // θ̇ = 0
	thAcc := (9.8*s - co*temp) / (0.5 * (4.0/3 - 0.1*co*co/1.1))
	xAcc := temp - 0.1*0.5*thAcc*co/1.1
	c.Step(1)
	checkState(t, 3, c, 0.02*88/451+0.02*0, 0+0.02*xAcc, th+0.02*0, 0+0.02*thAcc)
	if c.Steps != 3 || c.Done {
		t.Errorf("after 3 steps: Steps %d, Done %v", c.Steps, c.Done)
	}
}

func TestCartPoleTermination(t *testing.T) {
	// The pole falls past 12° with the last step rewarded, and nothing happens after.
	c := CartPole{Theta: CartPoleThetaLimit - 1e-4, ThetaDot: 0.1}
	if r, done := c.Step(1); r != 1 || !done || !c.Done {
		t.Errorf("past 12°: reward %v, done %v", r, done)
	}
	before := c
	if r, done := c.Step(1); r != 0 || !done || c != before {
		t.Errorf("a finished episode stepped on: reward %v, done %v, %+v", r, done, c)
	}
	// The cart leaves the track, to either side.
	for _, sign := range []float64{1, -1} {
		c := CartPole{X: sign * (CartPoleXLimit - 1e-4), XDot: sign * 0.1}
		if _, done := c.Step(0); !done {
			t.Errorf("cart at x = %v moving out: not done", c.X)
		}
	}
	// Inside the limits the episode goes on, and the 500th step ends it.
	c = CartPole{Theta: CartPoleThetaLimit - 0.01, Steps: CartPoleMaxSteps - 2}
	if _, done := c.Step(0); done {
		t.Error("step 499 inside the limits ended the episode")
	}
	if r, done := c.Step(0); r != 1 || !done {
		t.Errorf("step 500: reward %v, done %v", r, done)
	}
	// A policy that always pushes right fails within a few dozen steps; returns count steps.
	pol := &Policy{theta: make([]float32, cartPoleD())}
	pol.theta[len(pol.theta)-1] = 1 // fc3.bias[1]: always action 1
	env := NewCartPole(3)
	n := 0
	for !env.Done {
		if pol.Act(env.State()) != 1 {
			t.Fatal("the constant policy pushed left")
		}
		env.Step(1)
		n++
	}
	if ret := pol.Episode(3); ret != float64(n) || n < 5 || n > 100 {
		t.Errorf("always right: %d steps, return %v", n, ret)
	}
}

func TestCartPoleSeeds(t *testing.T) {
	a, b, c := NewCartPole(7), NewCartPole(7), NewCartPole(8)
	if a != b {
		t.Error("the same seed gave two initial states")
	}
	if a == c {
		t.Error("seeds 7 and 8 gave the same initial state")
	}
	for _, v := range a.State() {
		if v < -0.05 || v > 0.05 {
			t.Errorf("initial state %v outside [−0.05, 0.05]", a.State())
		}
	}
}

// The host policy is the engine's MLP: same θ layout, same outputs.
func TestPolicyMatchesModel(t *testing.T) {
	dev, err := engine.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewCartPoleModel(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Arena.D != 562 {
		t.Fatalf("the policy has %d parameters, want 562", m.Arena.D)
	}
	m.Init(5)
	theta := m.Theta()
	for i := range theta { // non-zero biases too
		theta[i] += float32(0.01 * math.Sin(float64(i)))
	}
	if err := m.SetTheta(theta); err != nil {
		t.Fatal(err)
	}
	pol, err := NewPolicy(theta)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		s := [4]float64{r.NormFloat64(), r.NormFloat64(), r.NormFloat64() * 0.1, r.NormFloat64()}
		x := []float32{float32(s[0]), float32(s[1]), float32(s[2]), float32(s[3])}
		out, err := m.Forward(x, 1, engine.EvalMode)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, 2)
		dev.Download(got, out.Buf)
		want := pol.Logits(s)
		for k := range 2 {
			if math.Abs(float64(got[k])-want[k]) > 1e-4*(1+math.Abs(want[k])) {
				t.Errorf("state %v: engine %v, policy %v", s, got, want)
			}
		}
	}
	if _, err := NewPolicy(theta[:100]); err == nil {
		t.Error("a 100-value θ made a policy")
	}
}

func TestCentredRanks(t *testing.T) {
	got := centredRanks([]float64{10, 500, 30, 500, 20})
	want := []float64{-0.5, 0.375, 0, 0.375, -0.25}
	if !slices.Equal(got, want) {
		t.Errorf("centred ranks %v, want %v", got, want)
	}
}

func cartPoleSpec(dims ...int) Spec {
	return Spec{Model: CartPoleModelName, Proj: Dense, Dims: dims, Seeds: 1, Batch: 50, Epochs: 150,
		Opt: engine.OptConfig{Kind: "adam", LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, Global: 1, ES: &ESSpec{Sigma: 0.5, Episodes: 1, EvalEpisodes: 100}}
}

// ES solves the full problem: a baseline point's policy balances the pole for 475 of 500 steps
// on average within a bounded number of generations.
func TestESSolvesCartPole(t *testing.T) {
	spec := cartPoleSpec(4)
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := newESRun(spec, Point{Baseline: true}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	best := 0.0
	for r.gen < spec.Epochs {
		r.generation()
		if r.gen%10 == 0 {
			ret, err := EvalCartPole(r.center(), 100, 0)
			if err != nil {
				t.Fatal(err)
			}
			best = max(best, ret)
			if ret >= 475 {
				t.Logf("mean return %.1f over 100 episodes after %d generations", ret, r.gen)
				return
			}
		}
	}
	t.Fatalf("after %d generations the best mean return is %.1f, want ≥ 475", r.gen, best)
}

// The population is evaluated by any number of workers with the same result, bit for bit.
func TestESWorkersDeterministic(t *testing.T) {
	spec := cartPoleSpec(6)
	spec.Epochs = 4
	var thetas [][]float32
	for _, w := range []int{1, 3} {
		for _, p := range []Point{{Baseline: true}, {Dim: 6, Index: 1}} {
			r, err := newESRun(spec, p, Options{Workers: w})
			if err != nil {
				t.Fatal(err)
			}
			for range spec.Epochs {
				r.generation()
			}
			thetas = append(thetas, r.center())
			r.close()
		}
	}
	if !slices.Equal(thetas[0], thetas[2]) || !slices.Equal(thetas[1], thetas[3]) {
		t.Error("1 and 3 workers trained different policies")
	}
	if slices.Equal(thetas[0], thetas[1]) {
		t.Error("the baseline and the subspace point trained the same policy")
	}
}

// A cart-pole point killed between generations resumes from its checkpoint (the variables, the
// optimizer state and the history) and ends exactly where an uninterrupted run ends.
func TestESPointResumesExactly(t *testing.T) {
	spec := cartPoleSpec(5)
	spec.Epochs = 8
	for _, k := range []int{0, 1} { // the baseline, then the subspace point
		run := func(dir string, stopAfter int) (Result, error) {
			if err := InitSweep(dir, spec); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opt := Options{afterGeneration: func(g int) {
				if g == stopAfter {
					cancel()
				}
			}}
			r, _, err := runPoint(ctx, dir, spec, k, opt, nil)
			return r, err
		}
		want, err := run(t.TempDir(), -1)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if _, err := run(dir, 3); !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted point: %v", err)
		}
		p, _ := spec.Point(k)
		ck := filepath.Join(dir, "points", p.Name()+".ckpt")
		if _, err := os.Stat(ck); err != nil {
			t.Fatalf("no checkpoint after the interruption: %v", err)
		}
		if _, ok, _ := ReadResult(dir, p); ok {
			t.Fatal("an interrupted point left a result")
		}
		got, err := run(dir, -1)
		if err != nil {
			t.Fatal(err)
		}
		strip := func(r Result) Result {
			r.Seconds, r.Finished = 0, got.Finished
			h := slices.Clone(r.Generations)
			for i := range h {
				h[i].Seconds = 0
			}
			r.Generations = h
			return r
		}
		if g, w := strip(got), strip(want); !reflect.DeepEqual(g, w) {
			t.Errorf("%s resumed: %+v\nuninterrupted: %+v", p.Name(), g, w)
		}
		if got.Status != StatusOK || got.Iters != spec.Epochs || len(got.Generations) != spec.Epochs || got.TestAcc != got.Return/500 {
			t.Errorf("%s: %+v", p.Name(), got)
		}
		if _, err := os.Stat(ck); err == nil {
			t.Error("the checkpoint of a finished point is left behind")
		}
	}
}

func TestCartPoleSpecValidation(t *testing.T) {
	ok := cartPoleSpec(4)
	if err := ok.Validate(); err != nil || ok.Data != CartPoleModelName {
		t.Fatalf("%v (data %q)", err, ok.Data)
	}
	for _, c := range []struct {
		edit func(*Spec)
		want string
	}{
		{func(s *Spec) { s.ES = nil }, "needs evolution-strategies settings"},
		{func(s *Spec) { s.Batch = 49 }, "must be even"},
		{func(s *Spec) { s.ES.Sigma = 0 }, "--sigma 0"},
		{func(s *Spec) { s.ES.EvalEpisodes = 0 }, "--eval-episodes 0"},
		{func(s *Spec) { s.Data = "mnist" }, "takes --data cartpole"},
		{func(s *Spec) { s.L2 = 1e-4 }, "no L2"},
		{func(s *Spec) { s.Model = "mnist-fc"; s.Data = "mnist" }, "go with --model cartpole"},
		{func(s *Spec) { s.Model = "mnist-fc"; s.Data = CartPoleModelName; s.ES = nil }, "--data cartpole goes with --model cartpole"},
	} {
		s := cartPoleSpec(4)
		es := *s.ES
		s.ES = &es
		c.edit(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", s, err, c.want)
		}
	}
}
