package cpu

import (
	"syscall"
	"unsafe"
)

// hugePageMin: Alloc asks for transparent huge pages for buffers from this size on, numpy's
// threshold (numpy madvises its large arrays the same way). A stored dense projection is read
// once per product at memory bandwidth, and with 4 KB pages lenet5's (44,426 × 1,000) streamed
// 5–14 % slower on the 2-core EPYC (one core, the two copies of P interleaved rep by rep, under
// load; no difference at 199,210 × 1,000): numpy's P sat in huge pages, gaze's did not.
const hugePageMin = 4 << 20

// adviseHugePages marks the 2 MB-aligned interior of v, a fresh zeroed buffer, for transparent
// huge pages (MADV_HUGEPAGE, where the system's THP setting is "madvise" or "always") and drops
// its pages (MADV_DONTNEED): Go zeroes reused memory in make, which faults in 4 KB pages before
// the advice could apply; dropped, the range reads as zeros again and faults in huge pages on
// first touch. Best effort: on an error (THP off, an old kernel) v keeps its 4 KB pages, and
// its contents are zero either way.
func adviseHugePages(v []float32) {
	const huge = 2 << 20
	if 4*len(v) < hugePageMin {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	beg := (p + huge - 1) &^ (huge - 1)
	end := (p + 4*uintptr(len(v))) &^ (huge - 1)
	if beg >= end {
		return
	}
	in := v[(beg-p)/4 : (end-p)/4]
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(in))), 4*len(in))
	if syscall.Madvise(b, syscall.MADV_HUGEPAGE) == nil {
		_ = syscall.Madvise(b, syscall.MADV_DONTNEED)
	}
}
