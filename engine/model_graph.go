package engine

import (
	"errors"
	"fmt"
)

// A model's CUDA-graph machinery (graph.go): the device buffers of per-replay scalars and of
// deferred results that its recordings share, and the recordings of Gradient's chunk loop. The
// Trainer's recordings of a training step (trainer_graph.go) use the same buffers.
//
// The slots: vars[0:2] holds the dropout offset of the step (every Dropout layer reads it), the
// optimizer's per-segment scalars follow (Optimizer.captureStep); res[0:2] receives the sum of
// the batch's per-example losses, the L2 penalty's per-weight sums of squares follow. Each pair
// of res is one float64; every slot pair starts at an even offset, as SumTo needs.
type graphState struct {
	cap   Capturer
	vars  Buffer
	varsH []float32
	sent  []float32 // the values of vars on the device, so unchanged ones are not uploaded again
	res   Buffer
	resH  []float32
	// Slots handed out in the capture in progress.
	nvars, nres int

	grads  map[gradKey]Graph // Gradient's recordings of one chunk
	failed map[gradKey]error // chunks whose capture failed: they run without a graph
}

// gradKey is what a recording of one chunk of Gradient depends on besides the model's buffers.
type gradKey struct {
	k     int
	mode  Mode
	scale float64
}

// maxVars is the number of float32 slots in vars and res: the dropout offset and one pair per
// optimizer segment or weight parameter at most.
func (m *Model) maxVars() int { return 2 + 2*len(m.Arena.Params) }

// graphs returns the model's graph state, allocating its buffers on first use, or nil when the
// device does not capture (or has graphs turned off).
func (m *Model) graphs() *graphState {
	if m.gr != nil {
		if !m.gr.cap.GraphsEnabled() {
			return nil
		}
		return m.gr
	}
	c := CapturerOf(m.Dev)
	if c == nil {
		return nil
	}
	n := m.maxVars()
	vars, err := m.Dev.Alloc(n)
	if err != nil {
		return nil
	}
	res, err := m.Dev.Alloc(n)
	if err != nil {
		m.Dev.Free(vars)
		return nil
	}
	m.gr = &graphState{cap: c, vars: vars, varsH: make([]float32, n), sent: make([]float32, n), res: res,
		resH: make([]float32, n), grads: map[gradKey]Graph{}, failed: map[gradKey]error{}}
	return m.gr
}

// closeGraphs releases the recordings of Gradient (the model's buffers are about to be freed or
// have been reallocated).
func (g *graphState) closeGraphs() {
	for k, gr := range g.grads {
		gr.Close()
		delete(g.grads, k)
	}
	clear(g.failed)
}

// free releases everything, with the model.
func (g *graphState) free(dev Device) {
	g.closeGraphs()
	dev.Free(g.vars)
	dev.Free(g.res)
}

// begin starts a capture; the slots after the fixed ones are handed out again.
func (g *graphState) begin() error {
	g.nvars, g.nres = 2, 2
	return g.cap.BeginCapture()
}

// varSlot hands out n (1 or 2) slots of vars for a Var kernel of the capture in progress.
func (g *graphState) varSlot(n int) (Buffer, int) {
	i := g.nvars
	g.nvars += 2
	return g.vars.Slice(i, n), i
}

// resSlot hands out a float64 slot of res for SumTo.
func (g *graphState) resSlot() (Buffer, int) {
	i := g.nres
	g.nres += 2
	return g.res.Slice(i, 2), i
}

// dropoutVars is the dropout offset's slot.
func (g *graphState) dropoutVars() Buffer { return g.vars.Slice(0, 2) }

// lossSlot is the loss sum's slot.
func (g *graphState) lossSlot() Buffer { return g.res.Slice(0, 2) }

// launch uploads the per-replay scalars that changed since the last launch and queues gr.
func (g *graphState) launch(dev Device, gr Graph, nvars int) error {
	changed := false
	for i := range nvars {
		if g.varsH[i] != g.sent[i] {
			changed = true
			break
		}
	}
	if changed {
		dev.Upload(g.vars, g.varsH[:nvars])
		copy(g.sent, g.varsH[:nvars])
	}
	return gr.Launch()
}

// results downloads the first n slots of res.
func (g *graphState) results(dev Device, n int) []float32 {
	dev.Download(g.resH[:n], g.res)
	return g.resH[:n]
}

// setStepVars writes the dropout offset of step into vars (Dropout's offset, ctx.Step<<32).
func (g *graphState) setStepVars(step uint64) { PutUint64(g.varsH[0:2], step<<32) }

// captureRun records run(n, mode, grad, scale): the forward pass, the loss kernel with the sum of
// the per-example losses going to the loss slot instead of the host, and the backward pass.
func (m *Model) captureRun(g *graphState, n int, mode Mode, grad bool, scale float64) {
	m.ctx.LossScale = scale
	m.ctx.graph = g
	defer func() { m.ctx.graph = nil }()
	out := m.forward(n, mode)
	gout := m.Loss.kernel(m.Dev, &m.lb, out, m.y.First(n), scale, grad)
	g.cap.SumTo(m.lb.losses.First(n), g.lossSlot())
	if grad {
		m.Net.Backward(&m.ctx, Tensor{Buf: gout, N: n, Shape: out.Shape}, false)
	}
}

// gradChunk runs one chunk of Gradient (already staged in the device batch) through its
// recording, capturing it on first use, and returns the chunk's loss as run would; ok is false
// when the chunk must run without a graph (the capture failed once for this key).
func (m *Model) gradChunk(g *graphState, k int, mode Mode, scale float64) (loss float64, ok bool, err error) {
	key := gradKey{k, mode, scale}
	if g.failed[key] != nil {
		return 0, false, nil
	}
	for attempt := 0; attempt < 2; attempt++ {
		gr := g.grads[key]
		if gr == nil {
			if err := g.begin(); err != nil {
				g.failed[key] = err
				return 0, false, nil
			}
			m.captureRun(g, k, mode, true, scale)
			if gr, err = g.cap.EndCapture(); err != nil {
				g.failed[key] = err
				return 0, false, nil
			}
			g.grads[key] = gr
		}
		g.setStepVars(m.ctx.Step)
		err := g.launch(m.Dev, gr, 2)
		if errors.Is(err, ErrGraphStale) {
			gr.Close()
			delete(g.grads, key)
			continue
		}
		if err != nil {
			return 0, false, err
		}
		return GetFloat64(g.results(m.Dev, 2)) * m.Loss.perExample(m.OutSize()), true, nil
	}
	return 0, false, fmt.Errorf("model %s: a graph of chunk %d went stale twice in a row", m.Name, k)
}
