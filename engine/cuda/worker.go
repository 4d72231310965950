//go:build cuda

package cuda

import (
	"fmt"
	"runtime"
)

// The worker: the goroutine, locked to its OS thread, that owns the context and the stream and
// executes every driver call in order (see the top of device.go), and its caching allocator.

type worker struct {
	d      *Device
	ctx    context
	st     stream
	args   *argBlock
	cache  map[int64][]uintptr // free blocks by rounded size
	sizes  map[uintptr]int64   // rounded size of every live or cached block
	cached int64
	inUse  int64
	err    error
	graphs map[uint32]graphHandle // instantiated CUDA graphs by id (graph.go)
}

func (d *Device) worker(ordinal int, ready chan<- error) {
	runtime.LockOSThread() // never unlocked: the thread holds the context for the device's life
	w := &worker{d: d, cache: map[int64][]uintptr{}, sizes: map[uintptr]int64{}, graphs: map[uint32]graphHandle{}}
	if err := w.init(ordinal); err != nil {
		ready <- err
		return
	}
	ready <- nil
	for o := range d.q {
		switch o.kind {
		case opLaunch:
			if o.k == nil { // fail: a host-side error to make sticky
				w.setErr(*(*error)(o.host))
				d.reply <- reply{}
				continue
			}
			if w.err != nil {
				continue
			}
			copy(w.args.view[:o.nargs], o.args[:o.nargs])
			if err := w.st.launch(o.k, o.grid, o.block, o.shmem, w.args); err != nil {
				w.setErr(fmt.Errorf("%w (kernel %s, grid %v, block %v)", err, o.k.name, o.grid, o.block))
			}
		case opMemset: // always: Alloc's zeroing must not be lost to an earlier error
			w.setErr(w.st.memsetD32(o.dst, o.val, o.bytes/4))
		case opCopy:
			w.setErr(w.st.copyDtoD(o.dst, o.src, o.bytes))
		case opHtoD:
			err := w.st.copyHtoD(o.dst, o.host, o.bytes)
			w.setErr(err)
			d.reply <- reply{err: err}
		case opDtoH:
			err := w.st.copyDtoH(o.host, o.src, o.bytes)
			if err == nil {
				err = w.err
			}
			w.setErr(err)
			d.reply <- reply{err: err}
		case opAlloc:
			p, err := w.alloc(o.bytes, o.floats)
			d.reply <- reply{ptr: p, err: err}
		case opFree:
			w.free(o.dst)
		case opSync:
			w.setErr(w.st.sync())
			err := w.err
			w.err = nil
			d.reply <- reply{err: err}
		case opInfo:
			free, total, err := memInfo()
			d.reply <- reply{free: free, total: total, err: err}
		case opBeginCapture:
			err := w.st.beginCapture()
			d.reply <- reply{err: err}
		case opEndCapture:
			// An error in the capture (a failed launch, a host-side failure) makes the graph
			// incomplete: it is discarded, and the error returned and cleared (the work never ran).
			h, err := w.st.endCapture(o.floats == 0 && w.err == nil)
			if w.err != nil {
				err, w.err = w.err, nil
			}
			if err == nil && o.floats == 0 {
				w.graphs[o.val] = h
			}
			d.reply <- reply{err: err}
		case opGraphLaunch:
			if w.err != nil {
				continue
			}
			if err := w.st.graphLaunch(w.graphs[o.val]); err != nil {
				w.setErr(fmt.Errorf("%w (graph %d)", err, o.val))
			}
		case opGraphDestroy:
			if h, ok := w.graphs[o.val]; ok {
				// A launch of the graph may still run: wait for it before the driver frees it.
				w.setErr(w.st.sync())
				graphDestroy(h)
				delete(w.graphs, o.val)
			}
		case opClose:
			w.st.sync()
			for id, h := range w.graphs {
				graphDestroy(h)
				delete(w.graphs, id)
			}
			w.releaseCache()
			for p := range w.sizes {
				memFree(p)
			}
			w.ctx.destroy()
			d.reply <- reply{}
			return
		}
	}
}

func (w *worker) setErr(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

func (w *worker) init(ordinal int) error {
	d := w.d
	var err error
	if w.ctx, err = openGPU(ordinal, d); err != nil {
		return err
	}
	if w.st, err = newStream(); err != nil {
		return err
	}
	w.args = newArgBlock()
	return d.loadKernels()
}

// roundSize is the caching allocator's size class: powers of two up to 1 MiB, then multiples of
// 2 MiB, so that buffers of similar sizes (activations of successive chunks) reuse blocks.
func roundSize(b int64) int64 {
	if b <= 1<<20 {
		s := int64(256)
		for s < b {
			s <<= 1
		}
		return s
	}
	const big = 2 << 20
	return (b + big - 1) / big * big
}

func (w *worker) alloc(bytes int64, floats int) (uintptr, error) {
	size := roundSize(bytes)
	if l := w.cache[size]; len(l) > 0 {
		p := l[len(l)-1]
		w.cache[size] = l[:len(l)-1]
		w.cached -= size
		w.inUse += size
		return p, nil
	}
	p, oom, err := memAlloc(size)
	if err != nil && oom && w.cached > 0 {
		// Give the cached blocks back to the driver and try once more.
		w.releaseCache()
		p, oom, err = memAlloc(size)
	}
	if err != nil {
		if oom {
			free, total, _ := memInfo()
			return 0, fmt.Errorf("cuda: out of GPU memory: Alloc(%d floats) asked for %d bytes (%.1f MiB); %s has %.1f MiB free of %.1f MiB, %.1f MiB of it held by gaze's buffers",
				floats, bytes, mib(bytes), w.d.name, mib(free), mib(total), mib(w.inUse))
		}
		return 0, fmt.Errorf("cuda: cuMemAlloc(%d bytes): %v", size, err)
	}
	w.sizes[p] = size
	w.inUse += size
	return p, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func (w *worker) free(p uintptr) {
	size, ok := w.sizes[p]
	if !ok {
		w.setErr(fmt.Errorf("cuda: Free of %#x, which this device did not allocate (double free?)", p))
		return
	}
	w.cache[size] = append(w.cache[size], p)
	w.cached += size
	w.inUse -= size
}

func (w *worker) releaseCache() {
	w.st.sync()
	for size, l := range w.cache {
		for _, p := range l {
			memFree(p)
			delete(w.sizes, p)
		}
		delete(w.cache, size)
	}
	w.cached = 0
}
