package cpu

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/rng"
	"github.com/gazeml/gaze/internal/sgemm"
)

// The projection kernels of intrinsic dimension (engine.ProjectionKernels). They fan out over
// the cores with their own helper (projSplit) so that this file depends on nothing else in the
// package but Data. Every output element is computed by one goroutine in a fixed order, so
// results are bit-identical for any core count.

// projTile is the number of rows whose normals are generated and accumulated together: the
// float64 scratch (2·8 KB) stays in L1 and on the goroutine's stack.
const projTile = 1024

// projGrain: a Philox block plus two log/sincos cost ~40 ns, so a few thousand entries already
// amortise a goroutine start.
const projGrain = 4096

// projSplit calls f(lo, hi) over a partition of [0, n) into at most GOMAXPROCS contiguous
// chunks of roughly work/grain units, where work is the total cost in entries (n times the
// cost per index).
func projSplit(n int, work int, f func(lo, hi int)) {
	chunks := min(runtime.GOMAXPROCS(0), n, max(work/projGrain, 1))
	if chunks <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	lo := 0
	for c := 0; c < chunks; c++ {
		hi := lo + (n-lo)/(chunks-c)
		if c == chunks-1 {
			f(lo, hi)
			break
		}
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, hi)
		lo = hi
	}
	wg.Wait()
}

// fillNormals writes z[t] = rng.NormalAt(seed, e0+t), one Philox block per four entries.
func fillNormals(seed, e0 uint64, z []float64) {
	for t := 0; t < len(z); {
		e := e0 + uint64(t)
		q := rng.Normal4(seed, e>>2)
		for k := int(e & 3); k < 4 && t < len(z); k++ {
			z[t] = q[k]
			t++
		}
	}
}

// ProjInvNorms: inv[j] = 1/‖column j‖ (see engine.ProjectionKernels).
func (d *Device) ProjInvNorms(seed uint64, rows int, inv engine.Buffer) {
	iv := Data(inv)
	projSplit(len(iv), len(iv)*rows, func(lo, hi int) {
		var z [projTile]float64
		for j := lo; j < hi; j++ {
			var s float64
			for r0 := 0; r0 < rows; r0 += projTile {
				t := z[:min(projTile, rows-r0)]
				fillNormals(seed, uint64(j)*uint64(rows)+uint64(r0), t)
				for _, v := range t {
					s += v * v
				}
			}
			iv[j] = float32(1 / math.Sqrt(s))
		}
	})
}

// ProjDenseFill stores normalised columns col0… of P (see engine.ProjectionKernels).
func (d *Device) ProjDenseFill(seed uint64, rows, col0 int, inv, p engine.Buffer) {
	iv, pd := Data(inv), Data(p)
	projSplit(len(iv), len(iv)*rows, func(lo, hi int) {
		var z [projTile]float64
		for c := lo; c < hi; c++ {
			s := float64(iv[c])
			col := pd[c*rows : (c+1)*rows]
			for r0 := 0; r0 < rows; r0 += projTile {
				t := z[:min(projTile, rows-r0)]
				fillNormals(seed, uint64(col0+c)*uint64(rows)+uint64(r0), t)
				for k, v := range t {
					col[r0+k] = float32(v * s)
				}
			}
		}
	})
}

// ProjOTF: y = beta·y + P·x with P regenerated on the fly. Rows are split across cores; each
// row's sum runs over the columns in order, in float64.
func (d *Device) ProjOTF(seed uint64, rows int, inv, x, y engine.Buffer, beta float32) {
	iv, xd, yd := Data(inv), Data(x), Data(y)
	cols := len(iv)
	projSplit(rows, rows*cols, func(lo, hi int) {
		var z, acc [projTile]float64
		for r0 := lo; r0 < hi; r0 += projTile {
			n := min(projTile, hi-r0)
			a := acc[:n]
			clear(a)
			for j := 0; j < cols; j++ {
				c := float64(iv[j]) * float64(xd[j])
				if c == 0 {
					continue // z is finite, so the term is exactly 0 (step 0 has θ_d = 0)
				}
				t := z[:n]
				fillNormals(seed, uint64(j)*uint64(rows)+uint64(r0), t)
				for k, v := range t {
					a[k] += c * v
				}
			}
			out := yd[r0 : r0+n]
			if beta == 0 {
				for k := range out {
					out[k] = float32(a[k])
				}
			} else {
				for k := range out {
					out[k] = float32(float64(beta)*float64(out[k]) + a[k])
				}
			}
		}
	})
}

// ProjOTFT: out = Pᵀ·g. Columns are split across cores; each is one float64 dot product.
func (d *Device) ProjOTFT(seed uint64, rows int, inv, g, out engine.Buffer) {
	iv, gd, od := Data(inv), Data(g), Data(out)
	cols := len(iv)
	projSplit(cols, rows*cols, func(lo, hi int) {
		var z [projTile]float64
		for j := lo; j < hi; j++ {
			var s float64
			for r0 := 0; r0 < rows; r0 += projTile {
				t := z[:min(projTile, rows-r0)]
				fillNormals(seed, uint64(j)*uint64(rows)+uint64(r0), t)
				gg := gd[r0 : r0+len(t)]
				for k, v := range t {
					s += v * float64(gg[k])
				}
			}
			od[j] = float32(s * float64(iv[j]))
		}
	})
}

// SpMV: y = beta·y + A·x for CSR A; each row summed in float64.
func (d *Device) SpMV(rows int, ptr, idx, val, x, y engine.Buffer, beta float32) {
	pd, id, vd, xd, yd := Data(ptr), Data(idx), Data(val), Data(x), Data(y)
	// The last pointer is data, which only the device reads: checked here, before the workers
	// would index past the values.
	if nnz := engine.BitsIndex(pd[rows]); nnz > len(vd) {
		panic(fmt.Sprintf("cpu: SpMV: ptr ends at %d, past the %d non-zeros", nnz, len(vd)))
	}
	projSplit(rows, len(vd)*4, func(lo, hi int) {
		sgemm.SpMVRows(pd[lo:hi+1], id, vd, xd, yd[lo:hi], beta)
	})
}

// FWHT: in-place unnormalised Walsh–Hadamard transform of each block of n (natural order).
// The stages run as the sgemm butterfly kernels in an order that keeps the data in cache: a
// block of up to fwhtChunk floats (L1) takes all its stages below fwhtChunk in one visit, then
// the stages from fwhtChunk up go over the whole block two at a time, their butterflies split by
// offset across the cores. Butterflies of one stage are independent and every element meets
// its stages in order, so the bits equal the plain stage-by-stage loop (sgemm.FWHTPlain) on every
// path and for any number of cores.
func (d *Device) FWHT(x engine.Buffer, n int) {
	xd := Data(x)
	blocks := len(xd) / n
	if n < 16 {
		projSplit(blocks, len(xd)*bits.Len(uint(n))/8, func(lo, hi int) { sgemm.FWHTPlain(xd[lo*n:hi*n], n) })
		return
	}
	low := func(w []float32) { // all stages below len(w) ≤ fwhtChunk, in L1
		sgemm.FWHTLow(w)
		fwhtStages(w, 16, len(w), 0, 0)
	}
	if n <= fwhtChunk {
		projSplit(blocks, len(xd)*bits.Len(uint(n))/8, func(lo, hi int) {
			for b := lo; b < hi; b++ {
				low(xd[b*n : (b+1)*n])
			}
		})
		return
	}
	for b := range blocks {
		v := xd[b*n : (b+1)*n]
		projSplit(n/fwhtChunk, n*bits.Len(uint(fwhtChunk))/8, func(lo, hi int) {
			for c := lo; c < hi; c++ {
				low(v[c*fwhtChunk : (c+1)*fwhtChunk])
			}
		})
		// The stages from fwhtChunk up go over the whole block, two per pass while two remain;
		// each pass splits the butterflies' offsets within a group (h/16 runs of 16 floats)
		// among the cores.
		for h := fwhtChunk; h < n; {
			step := 2
			if 4*h <= n {
				step = 4
			}
			projSplit(h/16, n*bits.Len(uint(step))/8, func(lo, hi int) {
				fwhtStages(v, h, h*step, lo*16, hi*16)
			})
			h *= step
		}
	}
}

// fwhtChunk is the block (floats) whose lower stages run in L1: 16 KB of a 48 KB L1.
const fwhtChunk = 4096

// fwhtStages applies the stages h0, 2h0, … below h1 to v (h0 ≥ 16), two at a time while two
// remain; with k1 > 0 only at the offsets [k0, k1) of each group (then h1 is h0·2 or h0·4: one
// pass), as the sgemm kernels take them.
func fwhtStages(v []float32, h0, h1, k0, k1 int) {
	for h := h0; h < h1; {
		e0, e1 := k0, k1
		if k1 == 0 {
			e0, e1 = 0, h
		}
		if 4*h <= h1 {
			sgemm.FWHTPair(v, h, e0, e1)
			h *= 4
		} else {
			sgemm.FWHTStage(v, h, e0, e1)
			h *= 2
		}
	}
}

// Gather: dst[i] = src[idx[i]], split over the cores (sgemm.Gather: AVX-512 gathers). An index
// outside src panics here, on the caller's goroutine, once every part has finished.
func (d *Device) Gather(src, idx, dst engine.Buffer) {
	sd, id, dd := Data(src), Data(idx), Data(dst)
	var worst atomic.Int64
	worst.Store(-1)
	projSplit(len(dd), len(dd)/4, func(lo, hi int) {
		if m := sgemm.Gather(sd, id[lo:hi], dd[lo:hi]); m >= len(sd) {
			worst.Store(int64(m)) // any one of them will do for the message
		}
	})
	if m := worst.Load(); m >= 0 {
		panic(fmt.Sprintf("cpu: Gather: index %d outside the source's %d elements", m, len(sd)))
	}
}
