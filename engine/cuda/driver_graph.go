//go:build cuda && !cudaemu

package cuda

// The driver's stream capture and graph calls (gorgonia.org/cu wraps none of them), linked
// against the same libcuda. CUDA 11.8's cuda.h maps cuStreamBeginCapture to its _v2 form (with a
// capture mode); cuGraphInstantiateWithFlags exists from CUDA 11.4 on and keeps its signature in
// CUDA 12 and 13, where cuGraphInstantiate's changed.

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>

// Relaxed capture: the worker thread may still call cuMemAlloc while the stream captures (a
// scratch area that grows); nothing else runs on the thread meanwhile.
static CUresult gz_begin_capture(CUstream s) { return cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_RELAXED); }
static CUresult gz_end_capture(CUstream s, CUgraph *g) { return cuStreamEndCapture(s, g); }
static CUresult gz_instantiate(CUgraphExec *e, CUgraph g) { return cuGraphInstantiateWithFlags(e, g, 0); }
static CUresult gz_graph_launch(CUgraphExec e, CUstream s) { return cuGraphLaunch(e, s); }
static void gz_graph_destroy(CUgraphExec e, CUgraph g) {
	if (e) cuGraphExecDestroy(e);
	if (g) cuGraphDestroy(g);
}
*/
import "C"

// graphHandle is an instantiated graph and the graph it was made from.
type graphHandle struct {
	g C.CUgraph
	e C.CUgraphExec
}

func (s stream) beginCapture() error {
	return check("cuStreamBeginCapture", C.gz_begin_capture(s.s))
}

// endCapture ends the capture and, when keep, instantiates the graph; otherwise (a capture the
// caller abandons) it destroys it.
func (s stream) endCapture(keep bool) (graphHandle, error) {
	var g C.CUgraph
	if err := check("cuStreamEndCapture", C.gz_end_capture(s.s, &g)); err != nil {
		if g != nil {
			C.gz_graph_destroy(nil, g)
		}
		return graphHandle{}, err
	}
	if !keep {
		C.gz_graph_destroy(nil, g)
		return graphHandle{}, nil
	}
	var e C.CUgraphExec
	if err := check("cuGraphInstantiateWithFlags", C.gz_instantiate(&e, g)); err != nil {
		C.gz_graph_destroy(nil, g)
		return graphHandle{}, err
	}
	return graphHandle{g, e}, nil
}

func (s stream) graphLaunch(h graphHandle) error {
	return check("cuGraphLaunch", C.gz_graph_launch(h.e, s.s))
}

func graphDestroy(h graphHandle) { C.gz_graph_destroy(h.e, h.g) }
