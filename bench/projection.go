package bench

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/models"
	"github.com/gazeml/gaze/intdim"
)

// ProjCase is one projection workload of `gaze bench --projection`: a model's D (with its layer
// segments, for the sparse projection) and a subspace dimension d.
type ProjCase struct {
	Model string
	In    []int
	Dim   int
}

// ProjCases are the shapes of the intrinsic-dimension sweeps: mnist-fc-200 (D = 199,210) at
// d = 500, 750, 1,000 and lenet5 (D = 44,426) at d = 300 and 1,000, the shapes
// bench/torch/projection_cpu.py times with numpy and PyTorch.
var ProjCases = []ProjCase{
	{"mnist-fc-200", []int{1, 28, 28}, 500}, {"mnist-fc-200", []int{1, 28, 28}, 750}, {"mnist-fc-200", []int{1, 28, 28}, 1000},
	{"lenet5", []int{1, 28, 28}, 300}, {"lenet5", []int{1, 28, 28}, 1000},
}

// Name is the case's name for filters: model/d<dim>, "lenet5/d1000".
func (c ProjCase) Name() string { return fmt.Sprintf("%s/d%d", c.Model, c.Dim) }

// FilterProjCases returns the cases whose Name contains one of filter's comma-separated parts
// (all of them for an empty filter), or an error naming the cases when none does.
func FilterProjCases(cases []ProjCase, filter string) ([]ProjCase, error) {
	var names []string
	var kept []ProjCase
	for _, c := range cases {
		names = append(names, c.Name())
		if matches(c.Name(), filter) {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("--filter %q matches no projection case (%s)", filter, strings.Join(names, ", "))
	}
	return kept, nil
}

// ProjResult is the cost of one training step's projections: the forward product θ = θ₀ + P·θ_d
// and the transpose g_d = Pᵀ·g, medians over repetitions, and for the dense projection the
// bandwidth at which P is read (4·D·d bytes per product).
type ProjResult struct {
	Kind        string  `json:"kind"`
	Model       string  `json:"model"`
	D           int     `json:"D"`
	Dim         int     `json:"d"`
	Device      string  `json:"device"`
	Path        string  `json:"path,omitempty"` // the CPU's matrix–vector kernels (dense)
	Reps        int     `json:"reps"`
	ForwardMS   float64 `json:"forward_ms"`
	TransposeMS float64 `json:"transpose_ms"`
	StepMS      float64 `json:"step_ms"` // forward + transpose, timed together
	GBs         float64 `json:"gb_s,omitempty"`
	Bytes       int64   `json:"bytes"` // what the projection holds
}

// Projections times each kind's forward and transpose products on every case, each for at
// least minTime.
func Projections(dev engine.Device, kinds []string, cases []ProjCase, minTime time.Duration, path string) ([]ProjResult, error) {
	var out []ProjResult
	for _, c := range cases {
		m, err := models.New(dev, c.Model, c.In, 10, 1)
		if err != nil {
			return out, err
		}
		_, starts, ends := m.Arena.LayerSegments()
		D := m.Arena.D
		m.Close()
		for _, kind := range kinds {
			r, err := timeProjection(dev, intdim.ProjConfig{Kind: kind, D: D, Dim: c.Dim, Seed: 1, Starts: starts, Ends: ends}, minTime)
			if err != nil {
				return out, err
			}
			r.Model = c.Model
			if kind == intdim.Dense {
				r.Path = path
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func timeProjection(dev engine.Device, cfg intdim.ProjConfig, minTime time.Duration) (ProjResult, error) {
	r := ProjResult{Kind: cfg.Kind, D: cfg.D, Dim: cfg.Dim, Device: dev.Name()}
	p, err := intdim.NewProjection(dev, cfg)
	if err != nil {
		return r, err
	}
	defer p.Close()
	r.Bytes = p.Bytes()
	rnd := rand.New(rand.NewPCG(7, 8))
	host := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rnd.NormFloat64())
		}
		return v
	}
	b, err := dev.Alloc(cfg.Dim)
	if err != nil {
		return r, err
	}
	defer dev.Free(b)
	g, err := dev.Alloc(cfg.D)
	if err != nil {
		return r, err
	}
	defer dev.Free(g)
	dev.Upload(b, host(cfg.Dim))
	dev.Upload(g, host(cfg.D))
	fwd := func() { p.Apply(b, g) }
	tr := func() { p.ApplyT(g, b) }
	// One untimed step: first touches, goroutine stacks, lazily built state.
	fwd()
	tr()
	if err := dev.Sync(); err != nil {
		return r, err
	}
	var tf, tt, ts []float64
	start := time.Now()
	for len(tf) < 3 || time.Since(start) < minTime {
		t0 := time.Now()
		fwd()
		dev.Sync()
		t1 := time.Now()
		tr()
		dev.Sync()
		t2 := time.Now()
		tf = append(tf, t1.Sub(t0).Seconds()*1e3)
		tt = append(tt, t2.Sub(t1).Seconds()*1e3)
		ts = append(ts, t2.Sub(t0).Seconds()*1e3)
	}
	r.Reps, r.ForwardMS, r.TransposeMS, r.StepMS = len(ts), median(tf), median(tt), median(ts)
	if cfg.Kind == intdim.Dense {
		r.GBs = 2 * 4 * float64(cfg.D) * float64(cfg.Dim) / (r.StepMS * 1e-3) / 1e9
	}
	return r, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// StreamCopy measures the memory bandwidth a copy reaches on all cores (GOMAXPROCS goroutines,
// each copying its contiguous part): the median over repetitions of bytes read plus bytes
// written per second, as STREAM's Copy counts them, for two float32 arrays of n elements.
func StreamCopy(n int, minTime time.Duration) (gbs float64, reps int) {
	src, dst := make([]float32, n), make([]float32, n)
	for i := range src {
		src[i] = float32(i)
	}
	parts := runtime.GOMAXPROCS(0)
	run := func() {
		var wg sync.WaitGroup
		for k := range parts {
			lo, hi := k*n/parts, (k+1)*n/parts
			wg.Add(1)
			go func() { defer wg.Done(); copy(dst[lo:hi], src[lo:hi]) }()
		}
		wg.Wait()
	}
	run() // first touch of dst
	var rates []float64
	start := time.Now()
	for len(rates) < 3 || time.Since(start) < minTime {
		t0 := time.Now()
		run()
		rates = append(rates, 2*4*float64(n)/time.Since(t0).Seconds()/1e9)
	}
	return median(rates), len(rates)
}

// ProjTable formats projection results as the table `gaze bench --projection` prints.
func ProjTable(rs []ProjResult) string {
	s := fmt.Sprintf("%-9s %-13s %7s %5s %10s %12s %9s %8s %10s\n", "kind", "model", "D", "d", "fwd ms", "transpose ms", "step ms", "GB/s", "memory")
	for _, r := range rs {
		gb := "-"
		if r.GBs > 0 {
			gb = fmt.Sprintf("%.1f", r.GBs)
		}
		s += fmt.Sprintf("%-9s %-13s %7d %5d %10.3f %12.3f %9.3f %8s %9.1fM\n", r.Kind, r.Model, r.D, r.Dim, r.ForwardMS, r.TransposeMS, r.StepMS, gb, float64(r.Bytes)/1e6)
	}
	return s
}
