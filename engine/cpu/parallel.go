package cpu

import "github.com/gazeml/gaze/internal/sgemm/workers"

// Grain sizes below which fanning out to other cores costs more than it saves. Handing work to
// the pooled workers and waiting for them costs about a microsecond; a core streams a few GB/s,
// so a memory-bound kernel needs tens of thousands of elements per chunk before splitting pays.
const (
	grainStream = 1 << 15 // element-wise kernels (a few flops per element)
	grainHeavy  = 1 << 11 // kernels with ~tens of flops per element (Philox, exp, log)
)

// imageBlock is the images per block of a per-channel sum over [n, c, hw] tensors (batch norm's
// statistics, bias gradients), the unit of its fan-out: the cores take blocks of whole images,
// contiguous in memory, and each block's float64 sums are added in block order. Split by
// channels instead, each core read a few runs of every image (c·hw floats apart, a 4 KB page or
// less each, where the hardware prefetchers start over). At least 4 images, and enough to
// amortise a goroutine (Linear activations, hw = 1, have small images, and each block keeps c
// or 2·c float64 sums); it depends on the shape only, never on the core count.
func imageBlock(c, hw int) int { return max(4, grainStream/max(c*hw, 1)) }

// addBlocks adds to dst the blocks' per-channel sums, in block order: block b's are
// part[(q·b+i)·c:][:c], c = len(dst), for the i-th of q quantities each block sums.
func addBlocks(dst, part []float64, blocks, q, i int) {
	c := len(dst)
	for b := 0; b < blocks; b++ {
		for ch, v := range part[(q*b+i)*c:][:c] {
			dst[ch] += v
		}
	}
}

// sumParts adds the parts (n floats each, one after the other: the per-chunk results of a
// filter gradient) in part order into the first and returns it, so that the sum does not depend
// on the core count. Each core takes a contiguous stretch of all of them: split by rows of K·C
// instead, the Winograd 16→16 filter gradient read other cores' parts in 256-byte pieces and ran
// 6 % slower than with the whole sum on one core.
func (d *Device) sumParts(parts []float32, n int) []float32 {
	launch(d, &d.k.partSum, partSumArgs{parts: parts, n: n}, n, grainStream/4)
	return parts[:n]
}

// partSumArgs: parts[0:n] += parts[i·n:(i+1)·n] for i = 1, 2, … in order, on [lo, hi).
type partSumArgs struct {
	parts []float32
	n     int
}

func (a *partSumArgs) run(lo, hi int) {
	for p := a.n; p < len(a.parts); p += a.n {
		addTo(a.parts[lo:hi], a.parts[p+lo:p+hi])
	}
}

// chunksPerWorker: parallel cuts work into up to this many chunks per core, handed out
// dynamically, so that a core that is busy with something else takes fewer of them.
const chunksPerWorker = 4

// ranger is the body of a parallel kernel: run(lo, hi) processes indices [lo, hi). Kernels
// implement it on small argument structs that live in the Device (d.k), so that a parallel
// call passes a pointer to a long-lived object and allocates nothing (a closure handed to
// other goroutines would be heap-allocated on every call).
type ranger interface{ run(lo, hi int) }

// chunked adapts a ranger to workers.Task: part i is the i-th of k near-equal chunks of [0, n).
type chunked struct {
	r    ranger
	n, k int
}

func (c *chunked) Part(i int) { c.r.run(i*c.n/c.k, (i+1)*c.n/c.k) }

// parallel calls r.run(lo, hi) over a partition of [0, n) into contiguous chunks of at least
// grain elements (one per core, or a few when there is enough work), on the calling goroutine
// and the process-wide worker pool, and returns when all are done. Chunks are disjoint, so a
// kernel writing only inside its own chunk is deterministic; reductions that must not depend on
// the chunking use fixed blocks instead (see Device.reduce). Kernels do not nest parallel calls
// (d.chunk is a single slot).
func (d *Device) parallel(n, grain int, r ranger) {
	chunks := n / max(grain, 1)
	if chunks <= 1 || d.workers <= 1 {
		if n > 0 {
			r.run(0, n)
		}
		return
	}
	chunks = min(chunks, d.workers*chunksPerWorker)
	d.chunk = chunked{r: r, n: n, k: chunks}
	workers.Run(chunks, &d.chunk)
	d.chunk.r = nil
}

// launch stores a kernel's arguments in its slot of d.k, runs it with parallel, and clears the
// slot so that the device keeps no reference to the caller's memory.
func launch[T any, P interface {
	*T
	ranger
}](d *Device, slot P, args T, n, grain int) {
	*slot = args
	d.parallel(n, grain, slot)
	var zero T
	*slot = zero
}

// kernelArgs holds the argument block of every parallel kernel (one slot each, see ranger).
type kernelArgs struct {
	relu     reluArgs
	reluBack reluBackArgs
	axpy     axpyArgs
	scale    scaleArgs
	binary   binaryArgs
	dropout  dropoutArgs
	biasAdd  biasAddArgs
	biasGrad biasGradArgs
	reduce   reduceArgs
	sgd      sgdArgs
	adam     adamArgs
	bnStats  bnStatsArgs
	bnApply  bnApplyArgs
	bnSums   bnSumsArgs
	bnDx     bnDxArgs
	xent     xentArgs
	bce      bceArgs
	pool     poolArgs
	im2col   im2colArgs
	gather   gatherArgs

	filter1x1 filter1x1Args
	direct1x1 direct1x1Args
	conv1Filt conv1FiltArgs
	conv1Fwd  conv1FwdArgs
	partSum   partSumArgs
}
