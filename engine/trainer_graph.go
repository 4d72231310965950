package engine

import (
	"errors"
	"fmt"
	"math"
)

// The training step as a CUDA graph. On a device that captures (CapturerOf), the first step of
// each batch size in a Run records the step's device work once: zeroing ∇θ, the forward pass,
// the loss kernel with the sum of the losses into a result slot, the backward pass, the L2
// penalty's sums of squares into result slots and its gradient, the copy of θ for the step hook,
// and the optimizer's update with its per-step scalars in device slots. Every later step uploads
// the batch and the slots' values (the dropout offset, the learning rates, Adam's bias-corrected
// step size), launches the recording and reads the result slots: a few driver calls, however
// many layers the model has. The values are those the step would pass to its kernels, computed
// by the same code, so θ follows the same trajectory to the bit as without graphs.
//
// One difference: the host sees the loss only after the update, so when it is not finite the
// DivergedError comes after θ took the step (without graphs, before); the run stops either way
// and the last good checkpoint is the one on disk.
//
// Steps run without a graph when the device cannot capture or has graphs off
// (GAZE_CUDA_GRAPHS=0), for a Reparam (intdim's projections), and, for the rest of the Run,
// after a capture failed (a layer that needs the host mid-step): GraphErr says why.

// stepGraph is the recording of a step for one batch size.
type stepGraph struct {
	g      Graph
	k      int
	segGen int // the optimizer segmentation it was recorded with
	nvars  int // slots of vars in use
	nres   int // slots of res in use
}

// trainGraphs is the Trainer's recordings in the Run in progress.
type trainGraphs struct {
	steps []*stepGraph
	off   bool // a capture failed: the rest of the Run runs without graphs
}

func (tg *trainGraphs) close() {
	for _, s := range tg.steps {
		s.g.Close()
	}
	tg.steps = nil
}

// GraphErr is why the Trainer's steps stopped using CUDA graphs in the current Run (nil while
// they do, or when the device has none).
func (t *Trainer) GraphErr() error { return t.graphErr }

// UsesGraphs reports whether the last step ran as a CUDA graph.
func (t *Trainer) UsesGraphs() bool { return t.lastGraph }

// graphStep takes the step on the k staged examples as a recording; ok is false when the step
// must run without one (nothing has run then).
func (t *Trainer) graphStep(k, epoch int) (loss, l2 float64, ok bool, err error) {
	m := t.Model
	if t.Reparam != nil || t.tg.off {
		return 0, 0, false, nil
	}
	g := m.graphs()
	if g == nil {
		return 0, 0, false, nil
	}
	o := t.Opt
	o.segments(t.Iter) // recomputes the segmentation when an override starts at this iteration
	var sg *stepGraph
	for _, s := range t.tg.steps {
		if s.k == k && s.segGen == o.segGen {
			sg = s
		}
	}
	m.SetStep(t.Iter)
	in, ts := m.InSize(), m.TargetSize()
	m.Dev.Upload(m.x.buf, t.x[:k*in])
	m.Dev.Upload(m.y.buf, t.y[:k*ts])
	for attempt := 0; ; attempt++ {
		if sg == nil {
			if sg, err = t.captureStep(g, k); err != nil {
				t.tg.off, t.graphErr = true, err
				return 0, 0, false, nil
			}
		}
		g.setStepVars(uint64(t.Iter))
		T := o.T
		o.stepVars(g, epoch)
		err = g.launch(m.Dev, sg.g, sg.nvars)
		if errors.Is(err, ErrGraphStale) && attempt == 0 {
			o.T = T
			t.dropStep(sg)
			sg = nil
			continue
		}
		if err != nil {
			o.T = T
			return 0, 0, false, fmt.Errorf("iteration %d: %w", t.Iter, err)
		}
		break
	}
	res := g.results(m.Dev, sg.nres)
	if err := m.Dev.Sync(); err != nil {
		return 0, 0, true, fmt.Errorf("iteration %d: %w", t.Iter, err)
	}
	loss = GetFloat64(res[0:2]) * m.Loss.perExample(m.OutSize()) / float64(k)
	if m.L2 != 0 {
		var s float64
		for i := 2; i < sg.nres; i += 2 {
			s += GetFloat64(res[i : i+2])
		}
		l2 = m.L2 / 2 * s
	}
	if math.IsNaN(loss+l2) || math.IsInf(loss+l2, 0) {
		return 0, 0, true, &DivergedError{Iter: t.Iter, Loss: loss + l2, Checkpoint: t.lastCkPath, CheckIter: t.lastCkIter}
	}
	return loss, l2, true, nil
}

// captureStep records the step for batch size k at the current iteration's segmentation.
func (t *Trainer) captureStep(g *graphState, k int) (*stepGraph, error) {
	m, o := t.Model, t.Opt
	if err := g.begin(); err != nil {
		return nil, err
	}
	m.ZeroGrad()
	m.captureRun(g, k, TrainMode, true, 1/float64(k))
	if m.L2 != 0 {
		for i, p := range m.Arena.Params {
			if p.Kind == Weight {
				dst, _ := g.resSlot()
				g.cap.SumSquaresTo(m.Arena.View(i), dst)
			}
		}
		m.AddL2Grad()
	}
	if t.prev != nil {
		m.Dev.Copy(t.prev, m.Arena.Theta)
	}
	gen := o.captureStep(g, t.Iter)
	gr, err := g.cap.EndCapture()
	if err != nil {
		return nil, err
	}
	sg := &stepGraph{g: gr, k: k, segGen: gen, nvars: g.nvars, nres: g.nres}
	t.tg.steps = append(t.tg.steps, sg)
	return sg, nil
}

func (t *Trainer) dropStep(sg *stepGraph) {
	sg.g.Close()
	for i, s := range t.tg.steps {
		if s == sg {
			t.tg.steps = append(t.tg.steps[:i], t.tg.steps[i+1:]...)
			return
		}
	}
}
