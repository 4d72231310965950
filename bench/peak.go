package bench

import (
	"runtime"
	"sync"
	"time"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// Peak is this machine's measured FP32 arithmetic peak and stream bandwidth on the threads the
// cpu device uses (GOMAXPROCS), the yardstick gaze bench --peak divides workload throughput by.
type Peak struct {
	Threads int    `json:"threads"`
	Path    string `json:"path"` // the widest FMA the CPU has: avx512 (ZMM), avx2 (YMM) or generic
	// GFLOPS is the FP32 FMA peak of all threads together: the sum over threads of each one's
	// best rate on a register-only FMA loop, timed in short windows so that a window in which
	// the scheduler ran something else on the core does not count.
	GFLOPS        float64 `json:"gflop_s"`
	GFLOPSPerCore float64 `json:"gflop_s_per_core"`
	// CopyGBs and TriadGBs are STREAM's copy (a = b) and triad (a = b + s·c) on arrays of
	// StreamMiB each, all threads, counting every array read or written once per element.
	CopyGBs   float64 `json:"copy_gb_s"`
	TriadGBs  float64 `json:"triad_gb_s"`
	StreamMiB int     `json:"stream_mib"`
}

// peakWindow is the length of one timed window of the FMA loop; a busy machine preempts a
// thread every few milliseconds, so shorter windows more often run undisturbed.
const peakWindow = 2 * time.Millisecond

// MeasurePeak measures Peak, spending about dur on the FMA loop and a few more passes over the
// stream arrays (arrays of mib MiB each; they must exceed the last-level cache for the result
// to be memory bandwidth).
func MeasurePeak(dur time.Duration, mib int) Peak {
	threads := runtime.GOMAXPROCS(0)
	path := sgemm.Best()
	p := Peak{Threads: threads, Path: path.String(), StreamMiB: mib}

	// FMA: every thread runs the loop at once (all cores busy, as in training), each keeping
	// its best window.
	iters := 1000
	for {
		t0 := time.Now()
		sgemm.PeakFMA(path, iters)
		if time.Since(t0) >= peakWindow/4 || iters > 1<<30 {
			break
		}
		iters *= 2
	}
	best := make([]float64, threads)
	var wg sync.WaitGroup
	for t := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for start := time.Now(); time.Since(start) < dur; {
				t0 := time.Now()
				f := sgemm.PeakFMA(path, iters)
				if r := f / time.Since(t0).Seconds(); r > best[t] {
					best[t] = r
				}
			}
		}()
	}
	wg.Wait()
	for _, b := range best {
		p.GFLOPS += b / 1e9
	}
	p.GFLOPSPerCore = p.GFLOPS / float64(threads)

	// Stream: each thread works on its own contiguous slice of the arrays; best of the passes.
	n := mib << 20 / 4
	a, b, c := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range b {
		b[i], c[i] = 1, 2
	}
	pass := func(f func(lo, hi int)) float64 {
		t0 := time.Now()
		var wg sync.WaitGroup
		for t := range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f(t*n/threads, (t+1)*n/threads)
			}()
		}
		wg.Wait()
		return time.Since(t0).Seconds()
	}
	copyPass := func(lo, hi int) { copy(a[lo:hi], b[lo:hi]) }
	triadPass := func(lo, hi int) { sgemm.Triad(a[lo:hi], b[lo:hi], c[lo:hi], 3) }
	bytes := 4 * float64(n)
	for range 5 {
		p.CopyGBs = max(p.CopyGBs, 2*bytes/pass(copyPass)/1e9)
		p.TriadGBs = max(p.TriadGBs, 3*bytes/pass(triadPass)/1e9)
	}
	return p
}

// flopCounter is a device that counts the arithmetic of the products it runs (Gemm and the
// three convolution passes, 2 flops per multiply-add) and forwards every call.
type flopCounter struct {
	engine.Device
	flops float64
}

func (f *flopCounter) Gemm(transA, transB bool, m, n, k int, alpha float32, a engine.Buffer, lda int, b engine.Buffer, ldb int, beta float32, c engine.Buffer, ldc int) {
	f.flops += 2 * float64(m) * float64(n) * float64(k)
	f.Device.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func (f *flopCounter) ConvForward(g engine.ConvGeom, x, w, y engine.Buffer) {
	f.flops += g.Flops()
	f.Device.ConvForward(g, x, w, y)
}

func (f *flopCounter) ConvBackwardData(g engine.ConvGeom, dy, w, dx engine.Buffer, beta float32) {
	f.flops += g.Flops()
	f.Device.ConvBackwardData(g, dy, w, dx, beta)
}

func (f *flopCounter) ConvBackwardFilter(g engine.ConvGeom, x, dy, dw engine.Buffer) {
	f.flops += g.Flops()
	f.Device.ConvBackwardFilter(g, x, dy, dw)
}

// StepFlops is the arithmetic of one training step of w: the multiply-adds of its matrix
// products and convolutions, counted by running one step on dev through a counter (element-wise
// work is not counted, as in the usual model FLOP counts).
func StepFlops(dev engine.Device, w Workload) (float64, error) {
	fc := &flopCounter{Device: dev}
	step, m, err := Step(fc, w)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	if err := step(); err != nil {
		return 0, err
	}
	return fc.flops, nil
}
