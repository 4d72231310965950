// Package bench measures training-step throughput of zoo models on a device, the workload the
// PyTorch anchors time (SGD with momentum 0.9, lr 0.01, random inputs, cross-entropy).
package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/models"
)

// Workload is one model at one batch size.
type Workload struct {
	Model string `json:"model"`
	Batch int    `json:"batch"`
	In    []int  `json:"input"`
}

// Defaults are the workloads of the PyTorch CPU anchors (shared/anchors/torch_cpu.py).
var Defaults = []Workload{
	{"mnist-fc", 250, []int{1, 28, 28}},
	{"mnist-fc-200", 128, []int{1, 28, 28}},
	{"lenet5", 128, []int{1, 28, 28}},
	{"lenet-lca", 250, []int{1, 28, 28}},
	{"resnet20", 128, []int{3, 32, 32}},
}

// Result is one workload's timing.
type Result struct {
	Workload
	Device    string  `json:"device"`
	Precision string  `json:"precision"`
	Graphs    bool    `json:"graphs"` // the steps ran as CUDA graphs
	Params    int     `json:"params"`
	Steps     int     `json:"steps"`
	StepMS    float64 `json:"step_ms"`
	ExPerSec  float64 `json:"examples_per_s"`
	// StepGFLOP is the arithmetic of one step (see StepFlops) and GFLOPS the rate it ran at.
	StepGFLOP float64 `json:"step_gflop"`
	GFLOPS    float64 `json:"gflop_s"`
	// PeakFraction is GFLOPS over the measured peak (gaze bench --peak; 0 when not measured).
	PeakFraction float64 `json:"peak_fraction,omitempty"`
}

// Batch is a fixed random batch: it satisfies engine.Examples so the trainer's data path is
// not part of the measurement.
type Batch struct {
	x, y []float32
	in   int
}

func (b *Batch) Len() int         { return len(b.y) }
func (b *Batch) ExampleSize() int { return b.in }
func (b *Batch) TargetSize() int  { return 1 }
func (b *Batch) Gather(idx []int, x, y []float32) error {
	for i, j := range idx {
		copy(x[i*b.in:(i+1)*b.in], b.x[j*b.in:(j+1)*b.in])
		y[i] = b.y[j]
	}
	return nil
}

// Step prepares a training step of w on dev and returns it as a function, with the model.
func Step(dev engine.Device, w Workload) (func() error, *engine.Model, error) {
	m, err := models.New(dev, w.Model, w.In, 10, w.Batch)
	if err != nil {
		return nil, nil, err
	}
	m.Init(0)
	opt, err := engine.NewOptimizer(dev, m.Arena, engine.OptConfig{Kind: "sgd", LR: 0.01, Momentum: 0.9})
	if err != nil {
		return nil, nil, err
	}
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, w.Batch*m.InSize())
	y := make([]float32, w.Batch)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for i := range y {
		y[i] = float32(r.IntN(10))
	}
	it := 0
	step := func() error {
		m.SetStep(it)
		m.ZeroGrad()
		if _, err := m.Batch(x, y, w.Batch, engine.TrainMode, true, 1/float64(w.Batch)); err != nil {
			return err
		}
		opt.Step(it, 0)
		it++
		return dev.Sync()
	}
	return step, m, nil
}

// Run times w's training step for at least minTime: engine.Trainer's step (gathering the batch,
// uploading it, forward, backward, update; as CUDA graphs where the device captures) over a data
// set of one fixed batch, so every epoch is one step. A first short run estimates the step time;
// the timed run skips its first three steps (recording the graphs, warming caches).
func Run(dev engine.Device, w Workload, minTime time.Duration) (Result, error) {
	m, err := models.New(dev, w.Model, w.In, 10, w.Batch)
	if err != nil {
		return Result{}, err
	}
	defer m.Close()
	m.Init(0)
	opt, err := engine.NewOptimizer(dev, m.Arena, engine.OptConfig{Kind: "sgd", LR: 0.01, Momentum: 0.9})
	if err != nil {
		return Result{}, err
	}
	defer opt.Close()
	r := rand.New(rand.NewPCG(1, 2))
	size := prodInts(w.In)
	b := &Batch{x: make([]float32, w.Batch*size), y: make([]float32, w.Batch), in: size}
	for i := range b.x {
		b.x[i] = float32(r.NormFloat64())
	}
	for i := range b.y {
		b.y[i] = float32(r.IntN(10))
	}
	const skip = 3
	timed := func(steps int) (float64, bool, error) {
		tr, err := engine.NewTrainer(m, opt, b, nil, engine.TrainConfig{Epochs: skip + steps, Batch: w.Batch, Seed: 1})
		if err != nil {
			return 0, false, err
		}
		var start time.Time
		graphs := true
		tr.OnStep = func(s engine.StepInfo) {
			if s.Iter == skip-1 {
				start = time.Now()
			} else if s.Iter >= skip {
				graphs = graphs && tr.UsesGraphs()
			}
		}
		if err := tr.Run(context.Background()); err != nil {
			return 0, false, fmt.Errorf("%s: %w", w.Model, err)
		}
		return time.Since(start).Seconds() / float64(steps), graphs, nil
	}
	est, _, err := timed(3)
	if err != nil {
		return Result{}, err
	}
	n := max(10, int(minTime.Seconds()/max(est, 1e-6)))
	el, graphs, err := timed(n)
	if err != nil {
		return Result{}, err
	}
	flops, err := StepFlops(dev, w)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", w.Model, err)
	}
	return Result{Workload: w, Device: dev.Name(), Precision: engine.PrecisionOf(dev), Graphs: graphs, Params: m.Arena.D,
		Steps: n, StepMS: el * 1e3, ExPerSec: float64(w.Batch) / el, StepGFLOP: flops / 1e9, GFLOPS: flops / el / 1e9}, nil
}

func prodInts(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}
