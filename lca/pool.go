package lca

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gazeml/gaze/engine"
)

// Full-set gradients, sharded. An LCA set is cut once per run into a fixed list of chunks (the
// chunk plan). At every point θ of the path integral each chunk's loss sum and the gradient of
// that sum are computed on one of the pool's devices, downloaded as float32 and added on the host
// into float64 accumulators strictly in chunk order (chunks that arrive early wait). The loss, the
// gradient and so every LCA file are therefore bit-identical for any number of devices of one kind
// and any assignment of chunks to devices, which are dealt chunks from a queue as they become free,
// so that uneven shards balance.

// chunk is one piece of a chunk plan: examples of one LCA set computed together, as one batch, on
// one device.
type chunk struct {
	set   int   // which LCA set (0: the LCA set, 1: the held-out split)
	class int   // the class of all its examples in a per-class plan, else -1
	idx   []int // examples of the set, in order
}

// planChunks cuts examples 0..n-1 of set into chunks of at most size: in index order, or, with
// labels (per-class LCA), sorted by class (stably) so that no chunk mixes classes: each class's
// examples in chunks of at most size, the last one shorter.
func planChunks(set, n, size int, labels []int32, classes int) []chunk {
	var out []chunk
	cut := func(idx []int, class int) {
		for lo := 0; lo < len(idx); lo += size {
			out = append(out, chunk{set: set, class: class, idx: idx[lo:min(lo+size, len(idx))]})
		}
	}
	if labels == nil {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		cut(idx, -1)
		return out
	}
	byClass := make([][]int, classes)
	for i, c := range labels[:n] {
		byClass[c] = append(byClass[c], i)
	}
	for c, idx := range byClass {
		cut(idx, c)
	}
	return out
}

// Pool is the set of devices that compute full-set gradients, each with its own model instance
// (same architecture as the training model), its own copy of θ and its own buffers. Each device is
// driven by its own goroutine, locked to an OS thread (a CUDA context is bound to one).
type Pool struct {
	D       int
	workers []*worker
	bufs    chan []float32 // free host buffers for downloaded chunk gradients
	once    sync.Once
	running sync.WaitGroup // the workers' goroutines
}

type worker struct {
	name string
	m    *engine.Model
	jobs chan *job
}

// job is one evaluation point on every worker.
type job struct {
	theta, stats []float32 // θ and, in running-statistics mode, batch norm's statistics
	mode         engine.Mode
	chunks       []chunk
	sets         []engine.Examples
	setNames     []string
	next         atomic.Int64 // the next chunk to deal
	stop         atomic.Bool  // a chunk failed: take no more
	results      chan result  // one per dealt chunk; room for all, so that workers never block
	done         sync.WaitGroup
}

type result struct {
	i    int
	loss float64
	grad []float32
	err  error
}

// NewPool starts one worker per device; build makes a device's model (the same factory as the
// training model's). names name the devices in error messages ("cuda:1", "cpu#0").
func NewPool(devs []engine.Device, names []string, build func(engine.Device) (*engine.Model, error)) (*Pool, error) {
	if len(devs) == 0 || len(names) != len(devs) {
		return nil, fmt.Errorf("gradient pool: %d devices, %d names", len(devs), len(names))
	}
	p := &Pool{bufs: make(chan []float32, 2*len(devs))}
	for i, d := range devs {
		m, err := build(d)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("device %s: %w", names[i], err)
		}
		if i == 0 {
			p.D = m.Arena.D
		} else if m.Arena.D != p.D {
			m.Close()
			p.Close()
			return nil, fmt.Errorf("device %s: its model has %d parameters, the first device's %d", names[i], m.Arena.D, p.D)
		}
		w := &worker{name: names[i], m: m, jobs: make(chan *job)}
		p.workers = append(p.workers, w)
		p.running.Add(1)
		go w.run(p)
	}
	// Two gradient buffers per device: a device computes its next chunk while the host adds its
	// last one; a fast device runs at most that far ahead of the chunk the host waits for.
	for range 2 * len(devs) {
		p.bufs <- make([]float32, p.D)
	}
	return p, nil
}

// Devices is the number of devices of the pool.
func (p *Pool) Devices() int { return len(p.workers) }

// Model is the model instance of device i (tests).
func (p *Pool) Model(i int) *engine.Model { return p.workers[i].m }

// Close stops the workers and frees their models; it returns when they are done, so that the
// caller may use the devices again (a device is used from one goroutine at a time, and the
// first worker may share the training device).
func (p *Pool) Close() {
	p.once.Do(func() {
		for _, w := range p.workers {
			close(w.jobs)
		}
		p.running.Wait()
	})
}

func (w *worker) run(p *Pool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer p.running.Done()
	defer w.m.Close()
	for j := range w.jobs {
		w.do(p, j)
		j.done.Done()
	}
}

// do sets the worker's θ, then takes chunks from the job's queue until none is left or one failed.
func (w *worker) do(p *Pool, j *job) {
	if err := w.setTheta(j); err != nil {
		j.stop.Store(true)
		j.results <- result{i: -1, err: fmt.Errorf("device %s: setting θ: %w", w.name, err)}
		return
	}
	for !j.stop.Load() {
		buf := <-p.bufs
		i := int(j.next.Add(1)) - 1
		if i >= len(j.chunks) || j.stop.Load() {
			p.bufs <- buf
			return
		}
		loss, err := w.chunk(j, i, buf)
		if err != nil {
			j.stop.Store(true)
			p.bufs <- buf
			c := j.chunks[i]
			j.results <- result{i: i, err: fmt.Errorf("device %s failed on chunk %d of %d (%d examples of the %s set): %w", w.name, i, len(j.chunks), len(c.idx), j.setNames[c.set], err)}
			return
		}
		j.results <- result{i: i, loss: loss, grad: buf}
	}
}

// setTheta uploads θ (and the running statistics) into the worker's model.
func (w *worker) setTheta(j *job) (err error) {
	defer recoverTo(&err)
	a := w.m.Arena
	w.m.Dev.Upload(a.Theta, j.theta)
	if j.stats != nil {
		w.m.Dev.Upload(a.Stats, j.stats)
	}
	return w.m.Dev.Sync()
}

// chunk computes chunk i's loss sum and leaves the gradient of that sum in buf.
func (w *worker) chunk(j *job, i int, buf []float32) (loss float64, err error) {
	defer recoverTo(&err)
	c := j.chunks[i]
	if loss, err = w.m.GradientSum(j.sets[c.set], c.idx, j.mode); err != nil {
		return 0, err
	}
	w.m.Dev.Download(buf, w.m.Arena.Grad)
	return loss, w.m.Dev.Sync()
}

// recoverTo turns a panic of a device call (a closed CUDA device, a failed check) into an error,
// so that a failing device stops the run with its name instead of killing the process.
func recoverTo(err *error) {
	if r := recover(); r != nil {
		*err = errors.Join(*err, fmt.Errorf("panic: %v", r))
	}
}

// eval computes every chunk at θ on the pool's devices and hands each chunk's loss sum and
// gradient to add in chunk order, on the calling goroutine (add must not keep grad). It returns
// the first error of a device; no chunk after a failed one is added.
func (p *Pool) eval(theta, stats []float32, mode engine.Mode, chunks []chunk, sets []engine.Examples, setNames []string, add func(c chunk, loss float64, grad []float32)) error {
	j := &job{theta: theta, stats: stats, mode: mode, chunks: chunks, sets: sets, setNames: setNames,
		results: make(chan result, len(chunks)+len(p.workers))}
	j.done.Add(len(p.workers))
	for _, w := range p.workers {
		w.jobs <- j
	}
	pending := make(map[int][]float32, 2*len(p.workers))
	losses := make(map[int]float64, 2*len(p.workers))
	var err error
	for next := 0; next < len(chunks); {
		r := <-j.results
		if r.err != nil {
			err = r.err
			break
		}
		pending[r.i], losses[r.i] = r.grad, r.loss
		for g, ok := pending[next]; ok; g, ok = pending[next] {
			add(chunks[next], losses[next], g)
			delete(pending, next)
			p.bufs <- g
			next++
		}
	}
	if err != nil {
		// Give back the buffers of chunks that will not be added, so that workers waiting for
		// one see the stop, and collect what the others still send.
		for _, g := range pending {
			p.bufs <- g
		}
		go func() { j.done.Wait(); close(j.results) }()
		for r := range j.results {
			if r.grad != nil {
				p.bufs <- r.grad
			}
		}
		return err
	}
	j.done.Wait()
	return nil
}
