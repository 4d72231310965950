package cpu

import "sync"

// Grain sizes below which fanning out to other cores costs more than it saves. Starting a
// goroutine and waiting for it is on the order of a microsecond; a core streams a few GB/s, so a
// memory-bound kernel needs tens of thousands of elements per core before splitting pays.
const (
	grainStream = 1 << 15 // element-wise kernels (a few flops per element)
	grainHeavy  = 1 << 11 // kernels with ~tens of flops per element (Philox, exp, log)
)

// parallel calls f(lo, hi) over a partition of [0, n) into at most d.workers contiguous chunks
// of at least grain elements each, and returns when all calls are done. The last chunk runs on
// the calling goroutine. Chunks are disjoint, so f writing only inside its own chunk is
// deterministic; reductions that must not depend on the chunking use fixed blocks instead (see
// reduceBlocks).
func (d *Device) parallel(n, grain int, f func(lo, hi int)) {
	chunks := d.workers
	if grain < 1 {
		grain = 1
	}
	if c := n / grain; c < chunks {
		chunks = c
	}
	if chunks <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	wg.Add(chunks - 1)
	lo := 0
	for i := 0; i < chunks-1; i++ {
		hi := lo + (n-lo)/(chunks-i)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, hi)
		lo = hi
	}
	f(lo, n)
	wg.Wait()
}

// fanout runs f(0), …, f(chunks-1) concurrently, the last on the calling goroutine, and returns
// when all are done. Callers give each chunk its own scratch and its own share of the output.
func fanout(chunks int, f func(chunk int)) {
	if chunks <= 1 {
		if chunks == 1 {
			f(0)
		}
		return
	}
	var wg sync.WaitGroup
	wg.Add(chunks - 1)
	for i := 0; i < chunks-1; i++ {
		go func(i int) {
			defer wg.Done()
			f(i)
		}(i)
	}
	f(chunks - 1)
	wg.Wait()
}
