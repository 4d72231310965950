//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/gazeml/gaze/engine"
)

// CUDA graphs (engine.Capturer). BeginCapture puts the worker's stream into capture mode
// (cuStreamBeginCapture, relaxed): the launches, memsets and device copies queued from then on
// become nodes of a graph instead of running, and EndCapture instantiates the graph
// (driver_graph.go; the emulator records the ops and replays them, driver_emu.go). A launch of
// the graph (cuGraphLaunch) costs one driver call however many kernels it holds; the kernels'
// arguments were packed once, when they were captured.
//
// The caller side keeps what the driver cannot check for us:
//   - Calls that need the host during a capture (Upload, Download, Sync, Alloc, the reductions
//     that return values) are refused: they would wait on a stream that runs nothing, or be
//     recorded and repeated on every launch (Alloc's zeroing). The first refusal is kept and
//     returned by EndCapture; the caller then runs the work without a graph.
//   - Every device address a captured op uses is remembered (pointer arguments of launches,
//     memset and copy targets and sources). When a buffer is freed, every live graph that uses
//     an address inside it is marked stale, and its Launch returns engine.ErrGraphStale instead
//     of writing into memory that may by then belong to another buffer. Growing a scratch area
//     (split-K workspaces, reduction partials) frees the old one, so it stales the graphs that
//     used it alike.

// capture is the recording in progress, on the caller's side.
type capture struct {
	err   error
	ptrs  []uintptr
	armed bool // a captured kernel may set the status word (SoftmaxXent)
}

// Graph is a captured, instantiated CUDA graph (engine.Graph).
type Graph struct {
	d     *Device
	id    int64
	ptrs  []uintptr // sorted device addresses the graph's ops use
	armed bool
	stale bool
	done  bool
}

// graphsEnv turns graphs off when it is "0" (for comparisons: GAZE_CUDA_GRAPHS=0).
const graphsEnv = "GAZE_CUDA_GRAPHS"

func graphsDefault() bool { return os.Getenv(graphsEnv) != "0" }

// GraphsEnabled reports whether the engine should use CUDA graphs on this device: on unless
// GAZE_CUDA_GRAPHS=0 or SetGraphs(false).
func (d *Device) GraphsEnabled() bool { return d.graphsOn }

// SetGraphs turns the use of CUDA graphs by the engine on or off (recordings already made stay
// valid for their owners; the engine asks before each new one).
func (d *Device) SetGraphs(on bool) { d.graphsOn = on }

// BeginCapture starts recording the device's work (see engine.Capturer).
func (d *Device) BeginCapture() error {
	if d.cap != nil {
		return errors.New("cuda: BeginCapture during a capture")
	}
	if err := d.Sync(); err != nil {
		return err
	}
	if r := d.call(op{kind: opBeginCapture}); r.err != nil {
		return r.err
	}
	d.cap = &capture{}
	return nil
}

// EndCapture ends the recording and instantiates the graph.
func (d *Device) EndCapture() (engine.Graph, error) {
	c := d.cap
	if c == nil {
		return nil, errors.New("cuda: EndCapture without BeginCapture")
	}
	d.cap = nil
	// SoftmaxXent armed the status check while being captured: it is the graph's launches that
	// may set the status word (BeginCapture's Sync left armed false).
	c.armed, d.armed = d.armed, false
	d.nextGraph++
	id := d.nextGraph
	r := d.call(op{kind: opEndCapture, val: uint32(id), floats: b2i(c.err != nil)})
	for _, old := range d.closeLater {
		d.send(&op{kind: opGraphDestroy, val: uint32(old)})
	}
	d.closeLater = d.closeLater[:0]
	if c.err != nil {
		return nil, c.err
	}
	if r.err != nil {
		return nil, r.err
	}
	slices.Sort(c.ptrs)
	g := &Graph{d: d, id: id, ptrs: slices.Compact(c.ptrs), armed: c.armed}
	d.graphs[g] = struct{}{}
	return g, nil
}

// capturing reports whether a recording is in progress; refuse records why the calling op cannot
// be part of it.
func (d *Device) capturing() bool { return d.cap != nil }

func (d *Device) refuse(what string) {
	if d.cap.err == nil {
		d.cap.err = fmt.Errorf("cuda: %s cannot be part of a CUDA graph (it needs the host); running without a graph", what)
	}
}

// record notes the device addresses op o uses, while capturing.
func (c *capture) record(o *op) {
	switch o.kind {
	case opLaunch:
		for i := range o.nargs {
			if o.ptrMask&(1<<i) != 0 && o.args[i] != 0 {
				c.ptrs = append(c.ptrs, uintptr(o.args[i]))
			}
		}
	case opMemset:
		c.ptrs = append(c.ptrs, o.dst)
	case opCopy:
		c.ptrs = append(c.ptrs, o.dst, o.src)
	}
}

// retire marks every live graph that uses an address in [ptr, ptr+bytes) stale: the memory is
// being freed.
func (d *Device) retire(ptr uintptr, bytes int64) {
	if ptr == 0 {
		return
	}
	if d.cap != nil {
		// A recording in progress that uses the block: it could not be launched safely either.
		for _, p := range d.cap.ptrs {
			if p >= ptr && p < ptr+uintptr(bytes) && d.cap.err == nil {
				d.cap.err = errors.New("cuda: a buffer the capture uses was freed during the capture")
			}
		}
	}
	for g := range d.graphs {
		i, _ := slices.BinarySearch(g.ptrs, ptr)
		if i < len(g.ptrs) && g.ptrs[i] < ptr+uintptr(bytes) {
			g.stale = true
		}
	}
}

// Launch queues the graph on the device's stream.
func (g *Graph) Launch() error {
	d := g.d
	switch {
	case g.done:
		return errors.New("cuda: launch of a closed graph")
	case g.stale:
		return engine.ErrGraphStale
	case d.closed:
		return errors.New("cuda: device is closed")
	case d.cap != nil:
		return errors.New("cuda: graph launch during a capture")
	}
	d.send(&op{kind: opGraphLaunch, val: uint32(g.id)})
	d.launches++
	if g.armed {
		d.armed = true
	}
	return nil
}

// Close destroys the graph.
func (g *Graph) Close() {
	if g.done {
		return
	}
	g.done = true
	d := g.d
	delete(d.graphs, g)
	if d.closed {
		return
	}
	if d.cap != nil {
		// The worker syncs the stream before destroying a graph; a capturing stream cannot.
		d.closeLater = append(d.closeLater, g.id)
		return
	}
	d.send(&op{kind: opGraphDestroy, val: uint32(g.id)})
}

// Stale reports whether the graph uses memory freed since its capture (for tests).
func (g *Graph) Stale() bool { return g.stale }

// GraphLaunches is the number of graph launches queued on the device so far (for tests and
// benchmarks that must know whether graphs were used).
func (d *Device) GraphLaunches() int64 { return d.launches }

var _ engine.Capturer = (*Device)(nil)
