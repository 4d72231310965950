// Package bench measures training-step throughput of zoo models on a device, the workload the
// PyTorch anchors time (SGD with momentum 0.9, lr 0.01, random inputs, cross-entropy).
package bench

import (
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
	Device   string  `json:"device"`
	Params   int     `json:"params"`
	Steps    int     `json:"steps"`
	StepMS   float64 `json:"step_ms"`
	ExPerSec float64 `json:"examples_per_s"`
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

// Run times w for at least minTime after three warm-up steps.
func Run(dev engine.Device, w Workload, minTime time.Duration) (Result, error) {
	step, m, err := Step(dev, w)
	if err != nil {
		return Result{}, err
	}
	defer m.Close()
	for range 3 {
		if err := step(); err != nil {
			return Result{}, fmt.Errorf("%s: %w", w.Model, err)
		}
	}
	n := 0
	start := time.Now()
	for n < 3 || time.Since(start) < minTime {
		if err := step(); err != nil {
			return Result{}, fmt.Errorf("%s: %w", w.Model, err)
		}
		n++
	}
	el := time.Since(start).Seconds() / float64(n)
	flops, err := StepFlops(dev, w)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", w.Model, err)
	}
	return Result{Workload: w, Device: dev.Name(), Params: m.Arena.D, Steps: n, StepMS: el * 1e3, ExPerSec: float64(w.Batch) / el,
		StepGFLOP: flops / 1e9, GFLOPS: flops / el / 1e9}, nil
}
