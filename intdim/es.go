package intdim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/rundir"
)

// Evolution strategies (Salimans, Ho, Chen, Sidor and Sutskever, "Evolution Strategies as a
// Scalable Alternative to Reinforcement Learning", 2017), as the paper trains its
// reinforcement-learning rows: each generation draws Batch/2 Gaussian directions ε_k over the
// trained variables (all D parameters for a baseline, θ_d for a subspace point), evaluates the
// antithetic pair of policies at x ± σ·ε_k (x the current variables; in a subspace the policy's
// parameters are θ₀ + P·(θ_d ± σ·ε_k), through the point's projection), turns the returns of
// the whole population into centred ranks u ∈ [−0.5, 0.5] (fitness shaping; tied returns share
// their mean rank, so a pair whose two policies both reach 500 contributes nothing), and hands
// the estimate ĝ = Σ_k (u_k⁺ − u_k⁻)·ε_k / (Batch·σ) of the gradient of the expected return to
// the sweep's optimizer (as −ĝ: the engine's optimizers minimise). The noise of generation g is
// a function of (seed, d, g, k), the training episodes' initial states of (seed, g, episode)
// (shared by the whole population: common random numbers), so a point is reproducible and its
// result does not depend on how many workers evaluate the population. A point's score is the
// mean return of its final, unperturbed policy over EvalEpisodes episodes whose initial states
// are the same for every point of every sweep, reported as TestAcc = return / 500.

// ESSpec holds the evolution-strategies settings of a cart-pole sweep (Batch is the population
// size, Epochs the number of generations).
type ESSpec struct {
	Sigma        float64 `json:"sigma"`         // perturbation scale
	Episodes     int     `json:"episodes"`      // episodes per policy per generation
	EvalEpisodes int     `json:"eval_episodes"` // episodes of the final evaluation
}

// DefaultESSpec are the settings gaze intdim sweep --model cartpole uses unless told otherwise.
func DefaultESSpec() ESSpec { return ESSpec{Sigma: 0.5, Episodes: 1, EvalEpisodes: 100} }

func (e *ESSpec) validate(population int) error {
	if e == nil {
		return errors.New("the cart-pole model needs evolution-strategies settings (sigma, episodes, eval episodes)")
	}
	if !(e.Sigma > 0) || math.IsInf(e.Sigma, 0) {
		return fmt.Errorf("--sigma %v must be positive", e.Sigma)
	}
	if e.Episodes < 1 || e.EvalEpisodes < 1 {
		return fmt.Errorf("--episodes %d and --eval-episodes %d must be ≥ 1", e.Episodes, e.EvalEpisodes)
	}
	if population < 2 || population%2 != 0 {
		return fmt.Errorf("the ES population (--batch) %d must be even and ≥ 2: policies come in antithetic pairs", population)
	}
	return nil
}

// ESGeneration records one generation of an ES point.
type ESGeneration struct {
	Gen        int     `json:"gen"`         // 1-based
	MeanReturn float64 `json:"mean_return"` // over the population
	MaxReturn  float64 `json:"max_return"`
	Seconds    float64 `json:"seconds"`
}

// esRun is one ES point: the policy model, its projection and subspace unless the point is a
// baseline, the optimizer over the searched variables and the generations done.
type esRun struct {
	spec    Spec
	p       Point
	m       *engine.Model
	sub     *Subspace     // nil for a baseline
	vars    *engine.Arena // what ES searches: the model's θ, or θ_d
	opt     *engine.Optimizer
	eps     engine.Buffer // ε on the device (subspace: d values), and P·ε
	peps    engine.Buffer
	workers int
	gen     int
	hist    []ESGeneration
	res     Result
	closers []func()
}

func (r *esRun) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	r.closers = nil
}

// newESRun builds point p of a cart-pole sweep on the CPU device.
func newESRun(spec Spec, p Point, opt Options) (_ *esRun, err error) {
	dev, err := engine.Open("cpu")
	if err != nil {
		return nil, err
	}
	r := &esRun{spec: spec, p: p, workers: opt.Workers}
	if r.workers < 1 {
		r.workers = runtime.GOMAXPROCS(0)
	}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if r.m, err = NewCartPoleModel(dev); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, r.m.Close)
	r.m.Init(uint64(p.Seed))
	r.res = Result{Point: p, Model: spec.Model, D: r.m.Arena.D, Device: "cpu", Epochs: spec.Epochs, Spec: spec.key()}
	r.vars = r.m.Arena
	if !p.Baseline {
		r.res.Proj = spec.Proj
		proj, err := NewProjection(dev, projConfig(spec, p, r.m, opt.MemLimit))
		if err != nil {
			return nil, fmt.Errorf("point %d (%s): %w", p.Index, p.Name(), err)
		}
		r.closers = append(r.closers, proj.Close)
		r.res.ProjBytes = proj.Bytes()
		if r.sub, err = NewSubspace(r.m, proj); err != nil {
			return nil, err
		}
		r.closers = append(r.closers, r.sub.Close)
		r.vars = r.sub.VarArena()
		b, err := allocs(dev, p.Dim, r.m.Arena.D)
		if err != nil {
			return nil, err
		}
		r.eps, r.peps = b[0], b[1]
		r.closers = append(r.closers, func() { dev.Free(r.eps); dev.Free(r.peps) })
	}
	oc := spec.Opt
	if p.Baseline && spec.BaselineLR > 0 {
		oc.LR = spec.BaselineLR
	}
	if r.opt, err = engine.NewOptimizer(dev, r.vars, oc); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, r.opt.Close)
	return r, nil
}

// Seeds of the random streams; see the comment at the top of the file.
func esNoiseSeed(seed, dim, gen int) uint64 { return mix(mix(uint64(seed), uint64(dim)), uint64(gen)) }
func esEpisodeSeed(seed, gen, e int) uint64 {
	return mix(mix(uint64(seed)^0x5eed0fe5, uint64(gen)), uint64(e))
}
func esEvalSeed(e int) uint64 { return mix(0xe7a1e7a1, uint64(e)) }

// center returns the policy's parameters at the current variables: θ, or θ₀ + P·θ_d.
func (r *esRun) center() []float32 {
	if r.sub != nil {
		r.sub.Expand()
	}
	return r.m.Theta()
}

// generation runs generation r.gen+1: it draws the population, evaluates it on the workers and
// takes one optimizer step.
func (r *esRun) generation() {
	start := time.Now()
	g := r.gen + 1
	n := r.vars.D
	pairs := r.spec.Batch / 2
	sigma := float32(r.spec.ES.Sigma)
	theta := r.center()
	D := len(theta)
	eps := make([][]float32, pairs)
	cands := make([][]float32, 2*pairs)
	pe := make([]float32, D)
	for k := range pairs {
		rng := rand.New(rand.NewPCG(esNoiseSeed(r.p.Seed, r.p.Dim, g), uint64(k)))
		e := make([]float32, n)
		for i := range e {
			e[i] = float32(rng.NormFloat64())
		}
		eps[k] = e
		if r.sub != nil {
			dev := r.m.Dev
			dev.Upload(r.eps, e)
			dev.Fill(r.peps, 0)
			r.sub.Proj.Apply(r.eps, r.peps)
			dev.Download(pe, r.peps)
		} else {
			copy(pe, e)
		}
		plus, minus := make([]float32, D), make([]float32, D)
		for i, v := range theta {
			plus[i] = v + sigma*pe[i]
			minus[i] = v - sigma*pe[i]
		}
		cands[2*k], cands[2*k+1] = plus, minus
	}
	seeds := make([]uint64, r.spec.ES.Episodes)
	for e := range seeds {
		seeds[e] = esEpisodeSeed(r.p.Seed, g, e)
	}
	returns := evaluate(cands, seeds, r.workers)
	u := centredRanks(returns)
	grad := make([]float32, n)
	scale := 1 / (float64(r.spec.Batch) * r.spec.ES.Sigma)
	for k, e := range eps {
		w := float32((u[2*k] - u[2*k+1]) * scale)
		if w == 0 {
			continue
		}
		for i, v := range e {
			grad[i] -= w * v // the optimizer minimises −return
		}
	}
	r.m.Dev.Upload(r.vars.Grad, grad)
	r.opt.Step(g-1, g-1)
	mean, best := 0.0, 0.0
	for _, v := range returns {
		mean += v
		best = max(best, v)
	}
	r.gen = g
	r.hist = append(r.hist, ESGeneration{Gen: g, MeanReturn: mean / float64(len(returns)), MaxReturn: best, Seconds: time.Since(start).Seconds()})
}

// evaluate returns each policy's mean return over the episodes seeds name, computed by workers
// goroutines; each value is computed by one goroutine in a fixed order, so the result does not
// depend on workers.
func evaluate(thetas [][]float32, seeds []uint64, workers int) []float64 {
	out := make([]float64, len(thetas))
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	for range min(max(workers, 1), len(thetas)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				j := i
				i++
				next.Unlock()
				if j >= len(thetas) {
					return
				}
				pol, _ := NewPolicy(thetas[j])
				var s float64
				for _, seed := range seeds {
					s += pol.Episode(seed)
				}
				out[j] = s / float64(len(seeds))
			}
		}()
	}
	wg.Wait()
	return out
}

// centredRanks maps values to their ranks scaled to [−0.5, 0.5] (the smallest −0.5, the largest
// 0.5), ties sharing the mean of their ranks.
func centredRanks(v []float64) []float64 {
	n := len(v)
	out := make([]float64, n)
	if n < 2 {
		return out
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	for a := 0; a < n; {
		b := a
		for b+1 < n && v[idx[b+1]] == v[idx[a]] {
			b++
		}
		r := float64(a+b)/2/float64(n-1) - 0.5
		for _, j := range idx[a : b+1] {
			out[j] = r
		}
		a = b + 1
	}
	return out
}

// EvalCartPole is the mean return of the policy θ over the evaluation episodes 0 … n−1 (the
// same initial states for every point), on workers goroutines, each with its own Policy and a
// contiguous run of episodes; the sum is taken in episode order.
func EvalCartPole(theta []float32, n, workers int) (float64, error) {
	if _, err := NewPolicy(theta); err != nil {
		return 0, err
	}
	if n < 1 {
		return 0, fmt.Errorf("cart-pole evaluation: %d episodes", n)
	}
	out := make([]float64, n)
	var wg sync.WaitGroup
	chunk := (n + max(workers, 1) - 1) / max(workers, 1)
	for lo := 0; lo < n; lo += chunk {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			pol, _ := NewPolicy(theta)
			for e := lo; e < hi; e++ {
				out[e] = pol.Episode(esEvalSeed(e))
			}
		}(lo, min(lo+chunk, n))
	}
	wg.Wait()
	var s float64
	for _, v := range out {
		s += v
	}
	return s / float64(n), nil
}

// esCheckpoint is an interrupted ES point: the generations done, the searched variables, the
// optimizer state and the history. Written after every generation, so an interruption loses at
// most the generation in progress.
type esCheckpoint struct {
	Gen  int            `json:"gen"`
	Vars []float32      `json:"vars"`
	S1   []float32      `json:"s1,omitempty"`
	S2   []float32      `json:"s2,omitempty"`
	T    int            `json:"t"`
	Hist []ESGeneration `json:"history"`
}

func (r *esRun) save(path string) error {
	dev := r.m.Dev
	ck := esCheckpoint{Gen: r.gen, Vars: make([]float32, r.vars.D), T: r.opt.T, Hist: r.hist}
	dev.Download(ck.Vars, r.vars.Theta)
	if r.opt.S1 != nil {
		ck.S1 = make([]float32, r.vars.D)
		dev.Download(ck.S1, r.opt.S1)
	}
	if r.opt.S2 != nil {
		ck.S2 = make([]float32, r.vars.D)
		dev.Download(ck.S2, r.opt.S2)
	}
	b, err := json.Marshal(ck)
	if err != nil {
		return err
	}
	return rundir.WriteFileAtomic(path, b)
}

// load restores a checkpoint if there is one; ok reports whether there was.
func (r *esRun) load(path string) (ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var ck esCheckpoint
	if err := json.Unmarshal(b, &ck); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	n := r.vars.D
	if len(ck.Vars) != n || (ck.S1 != nil) != (r.opt.S1 != nil) || (ck.S2 != nil) != (r.opt.S2 != nil) ||
		(ck.S1 != nil && len(ck.S1) != n) || (ck.S2 != nil && len(ck.S2) != n) || ck.Gen < 0 || ck.Gen > r.spec.Epochs || len(ck.Hist) != ck.Gen {
		return false, fmt.Errorf("%s does not fit point %s (%d variables, %s optimizer, %d generations)", path, r.p.Name(), n, r.spec.Opt.Kind, r.spec.Epochs)
	}
	dev := r.m.Dev
	dev.Upload(r.vars.Theta, ck.Vars)
	if ck.S1 != nil {
		dev.Upload(r.opt.S1, ck.S1)
	}
	if ck.S2 != nil {
		dev.Upload(r.opt.S2, ck.S2)
	}
	r.opt.T, r.gen, r.hist = ck.T, ck.Gen, ck.Hist
	return true, nil
}

// runESPoint runs point p of a cart-pole sweep to the end (resuming from its checkpoint) and
// writes its result.
func runESPoint(ctx context.Context, dir string, spec Spec, p Point, opt Options) (Result, error) {
	r, err := newESRun(spec, p, opt)
	if err != nil {
		return Result{}, err
	}
	defer r.close()
	ck := strings.TrimSuffix(pointPath(dir, p), ".json") + ".ckpt"
	if ok, err := r.load(ck); err != nil {
		return r.res, err
	} else if ok {
		opt.logf("%s: resuming at generation %d of %d", p.Name(), r.gen, spec.Epochs)
	}
	for r.gen < spec.Epochs {
		if err := ctx.Err(); err != nil {
			return r.res, err
		}
		r.generation()
		if err := r.save(ck); err != nil {
			return r.res, err
		}
		if opt.afterGeneration != nil {
			opt.afterGeneration(r.gen)
		}
	}
	start := time.Now()
	theta := r.center()
	if slices.ContainsFunc(theta, func(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }) {
		r.res.Status, r.res.Reason = StatusFailed, "the policy's parameters are not finite"
	} else {
		ret, err := EvalCartPole(theta, spec.ES.EvalEpisodes, r.workers)
		if err != nil {
			return r.res, err
		}
		r.res.Status, r.res.Return, r.res.TestAcc = StatusOK, ret, ret/CartPoleMaxSteps
	}
	r.res.Iters, r.res.Generations = r.gen, r.hist
	r.res.Seconds = time.Since(start).Seconds() // the evaluation, and every generation's time, resumed ones included
	for _, h := range r.hist {
		r.res.Seconds += h.Seconds
	}
	r.res.Finished = time.Now().UTC()
	b, _ := json.MarshalIndent(r.res, "", "  ")
	if err := rundir.WriteNew(pointPath(dir, p), append(b, '\n')); err != nil {
		return r.res, err
	}
	os.Remove(ck)
	return r.res, nil
}
