package sgemm

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/gazeml/gaze/internal/sgemm/workers"
)

// Products with a "shifted" operand: every row (or column) of op(B) is a window of one array,
// B(p, j) = b[off[p] + j]. A stride-1 convolution over a zero-padded copy of its input is such a
// product (row p = (c, r, s) of the im2col matrix is the padded input shifted by a constant), so
// the cpu device runs its convolutions through these without generating im2col at all.
//
// On the AVX512 path SgemmShifted packs nothing but A (once, for all threads): its micro-kernel
// loads the B vectors of k step p straight from b + off[p]. The other paths pack B panels from
// the windows (a plain copy per row) and run their usual kernels; every path sums each element of
// C in the same order as Sgemm on the materialised B would.

// ShiftedInPlace reports whether SgemmShifted on the current path reads B in place (AVX512); on
// the others it packs B's rows into panels like any B.
func ShiftedInPlace() bool { return Current() == AVX512 }

// checkShifted panics unless every window [off[i], off[i]+span) of b lies inside b.
func checkShifted(name string, b []float32, off []int, count, span int) {
	if len(off) < count {
		panic(fmt.Sprintf("sgemm: %s: %d offsets for %d windows", name, len(off), count))
	}
	for i, o := range off[:count] {
		if o < 0 || o+span > len(b) {
			panic(fmt.Sprintf("sgemm: %s: window %d [%d, %d) is outside b (len %d)", name, i, o, o+span, len(b)))
		}
	}
}

// SgemmShifted computes C = alpha·A·B + beta·C for a row-major A (m×k, row stride lda) and the
// k×n matrix B(p, j) = b[off[p] + j]. The kernels read whole 16-float vectors, so every window
// must have room for n rounded up to a multiple of 16 (off[p] + ⌈n/16⌉·16 ≤ len(b)); the values
// past n do not affect C.
func SgemmShifted(m, n, k int, alpha float32, a []float32, lda int, b []float32, off []int, beta float32, c []float32, ldc int) {
	SgemmShiftedPacked(m, n, k, alpha, a, lda, nil, b, off, beta, c, ldc, false)
}

// ShiftedALen is the length of PackShiftedA's packing of an m×k A.
func ShiftedALen(m, k int) int { return (m + zmr - 1) / zmr * zmr * k }

// PackShiftedA packs the row-major m×k matrix a (row stride lda) into dst (ShiftedALen(m, k)
// floats or more) as SgemmShifted packs its A on the AVX512 path: the 8-row micro-panels of each
// k block, the blocks one after the other. Callers that multiply one A by many shifted Bs (a
// convolution's filters, chunk by chunk) pack it once and call SgemmShiftedPacked.
func PackShiftedA(dst []float32, m, k int, a []float32, lda int) {
	if m <= 0 || k <= 0 {
		return
	}
	checkMatrix("PackShiftedA a", m, k, a, lda)
	mPad, kc := (m+zmr-1)/zmr*zmr, blockSize(k, kcMax, 1)
	if len(dst) < mPad*k {
		panic(fmt.Sprintf("sgemm: PackShiftedA: dst has %d floats, need %d", len(dst), mPad*k))
	}
	for pc := 0; pc < k; pc += kc {
		packA(dst[pc*mPad:], false, a, lda, 0, m, pc, min(kc, k-pc), zmr)
	}
}

// SgemmShiftedPacked is SgemmShifted with A also given packed by PackShiftedA (ap; nil: packed
// here, as SgemmShifted does). The AVX512 path reads ap, the others a: both must hold the same
// matrix. With wide, every row of C has room for n rounded up to a multiple of 16 and the call
// may overwrite C there: the AVX512 kernels then store the last columns of each row in place
// instead of through a scratch tile and a copy (8 % of lenet-lca's conv2 forward CPU time).
func SgemmShiftedPacked(m, n, k int, alpha float32, a []float32, lda int, ap []float32, b []float32, off []int, beta float32, c []float32, ldc int, wide bool) {
	if trivial(false, m, n, k, alpha, a, lda, beta, c, ldc) {
		return
	}
	nw := (n + nr - 1) / nr * nr // n in whole vectors: what the kernels read of b and, wide, write of c
	checkShifted("SgemmShifted", b, off, k, nw)
	if wide && (nw > ldc || (m-1)*ldc+nw > len(c)) {
		panic(fmt.Sprintf("sgemm: SgemmShiftedPacked: wide C rows need %d columns (ldc %d, len %d)", nw, ldc, len(c)))
	}
	if Current() != AVX512 {
		rp := rowPackers.Get().(*rowsPacker)
		*rp = rowsPacker{b: b, off: off}
		SgemmPacked(false, m, n, k, alpha, a, lda, rp, beta, c, ldc)
		*rp = rowsPacker{}
		rowPackers.Put(rp)
		return
	}
	s := shiftJobs.Get().(*shiftJob)
	s.m, s.n, s.k = m, n, k
	s.alpha, s.beta = alpha, beta
	s.b, s.off, s.c, s.ldc, s.wide = b, off, c, ldc, wide
	// A is packed once, all k blocks one after the other, and shared by every part.
	s.kc = blockSize(k, kcMax, 1)
	s.mPad = (m + zmr - 1) / zmr * zmr
	if ap != nil {
		if len(ap) < s.mPad*k {
			panic(fmt.Sprintf("sgemm: SgemmShiftedPacked: packed A has %d floats, need %d", len(ap), s.mPad*k))
		}
		s.ap = ap[:s.mPad*k]
	} else {
		s.ap = aligned(&s.araw, s.mPad*k)
		PackShiftedA(s.ap, m, k, a, lda)
	}

	threads := runtime.GOMAXPROCS(0)
	flops := 2 * float64(m) * float64(n) * float64(k)
	threads = min(threads, int(flops/float64(minFlopsPerThread)))
	s.unit = nr
	if n >= 4*max(threads, 1)*zv*nr {
		s.unit = zv * nr // whole 48-column kernel groups per part
	}
	s.units = (n + s.unit - 1) / s.unit
	if threads <= 1 || s.units <= 1 {
		s.parts = 1
		s.Part(0)
	} else {
		// The parts share only the packed A: cut more of them than threads, so that a core
		// slowed by other work takes fewer.
		s.parts = min(s.units, 4*threads, max(int(flops/float64(4*minFlopsPerThread)), threads))
		workers.Run(s.parts, s)
	}
	s.b, s.off, s.c, s.ap = nil, nil, nil, nil
	shiftJobs.Put(s)
}

// shiftJob is one SgemmShifted call on the AVX512 path: part t computes the t-th of parts slices
// of C's columns, cut at multiples of unit.
type shiftJob struct {
	m, n, k            int
	alpha, beta        float32
	b                  []float32
	off                []int
	c                  []float32
	ldc                int
	wide               bool // C's rows have room for whole vectors past n
	kc, mPad           int
	ap, araw           []float32
	unit, units, parts int
}

var shiftJobs = sync.Pool{New: func() any { return new(shiftJob) }}

func (s *shiftJob) Part(t int) {
	lo := min(s.units*t/s.parts*s.unit, s.n)
	hi := min(s.units*(t+1)/s.parts*s.unit, s.n)
	if lo >= hi {
		return
	}
	w := getWorkspace()
	s.run(w, lo, hi)
	workspaces.Put(w)
}

// run computes columns [j0, j1) of C: 48-column groups, each through all k blocks (so its C
// tiles stay in L1), each k block through all A micro-panels (which share the group's B vectors
// in L1).
func (s *shiftJob) run(w *workspace, j0, j1 int) {
	m, k, kc, c, ldc, alpha := s.m, s.k, s.kc, s.c, s.ldc, s.alpha
	for jr := j0; jr < j1; jr += zv * nr {
		nn := min(zv*nr, j1-jr)
		v := (nn + nr - 1) / nr
		width := v * nr
		for pc := 0; pc < k; pc += kc {
			kcur := min(kc, k-pc)
			// Only the first k block sees the caller's beta; later ones accumulate.
			beta, loadC := s.beta, s.beta != 0
			if pc > 0 {
				beta, loadC = 1, true
			}
			lc := b2i(loadC)
			apBlock := s.ap[pc*s.mPad : pc*s.mPad+s.mPad*kcur]
			offs := s.off[pc : pc+kcur]
			for ir := 0; ir < m; ir += zmr {
				mm := min(zmr, m-ir)
				apan := apBlock[ir*kcur : ir*kcur+zmr*kcur]
				coff := ir*ldc + jr
				// A last block of at most half a panel takes the half-height kernel (lenet-lca's
				// backward data through its 5×5 Winograd form has 20 rows: 8, 8, 4).
				rows := zmr
				if mm <= zmr/2 {
					rows = zmr / 2
				}
				if mm == rows && (nn == width || s.wide) {
					_ = c[coff+(rows-1)*ldc+width-1] // bounds of the kernel's C tile
					kernelZShift(rows, v, kcur, &apan[0], &s.b[jr], &offs[0], &c[coff], ldc, alpha, beta, lc)
					continue
				}
				kernelZShift(rows, v, kcur, &apan[0], &s.b[jr], &offs[0], &w.tile[0], width, 1, 0, 0)
				mergeTile(w.tile[:], width, c[coff:], ldc, mm, nn, alpha, beta, loadC)
			}
		}
	}
}

// rowsPacker packs the rows of a shifted B for the paths without a shifted kernel.
type rowsPacker struct {
	b   []float32
	off []int
}

var rowPackers = sync.Pool{New: func() any { return new(rowsPacker) }}

func (rp *rowsPacker) PackB(dst, tmp []float32, p0, kc, j0, nc int) {
	for p := 0; p < kc; p++ {
		o := rp.off[p0+p] + j0
		PackBRow(dst, kc, p, rp.b[o:o+nc])
	}
}

// SgemmShiftedT computes C = alpha·A·B + beta·C for a row-major A (m×k, row stride lda) and the
// k×n matrix B(p, j) = b[off[j] + p]: the columns of B are windows of b (off[j] + k ≤ len(b)).
// It is SgemmPacked with B packed straight from the windows (on AVX512 by 16×16 register
// transposes), or on AVX512 for thin products (m < dotMaxM) dot products of A's rows and b's
// windows read in place: a convolution's filter gradient, dW += dy·colᵀ, is such a product.
func SgemmShiftedT(m, n, k int, alpha float32, a []float32, lda int, b []float32, off []int, beta float32, c []float32, ldc int) {
	if trivial(false, m, n, k, alpha, a, lda, beta, c, ldc) {
		return
	}
	checkShifted("SgemmShiftedT", b, off, n, k)
	if Current() == AVX512 && k >= 16 && m < dotMaxM {
		dotShiftedT(m, n, k, alpha, a, lda, b, off, beta, c, ldc)
		return
	}
	cp := colPackers.Get().(*colsPacker)
	*cp = colsPacker{b: b, off: off}
	SgemmPacked(false, m, n, k, alpha, a, lda, cp, beta, c, ldc)
	*cp = colsPacker{}
	colPackers.Put(cp)
}

// colsPacker packs B(p, j) = b[off[j] + p]: each 16-column panel is a transpose of 16 windows.
type colsPacker struct {
	b   []float32
	off []int
}

var colPackers = sync.Pool{New: func() any { return new(colsPacker) }}

func (cp *colsPacker) PackB(dst, tmp []float32, p0, kc, j0, nc int) {
	zmm := Current() == AVX512 && kc >= 16
	for jr := 0; jr < nc; jr += nr {
		panel := dst[jr*kc : jr*kc+kc*nr]
		cols := min(nr, nc-jr)
		offs := cp.off[j0+jr : j0+jr+cols]
		if cols == nr && zmm {
			var o [nr]int
			for jj, v := range offs {
				o[jj] = v + p0
			}
			blocks := kc / 16
			transpose16x16(&panel[0], &cp.b[0], &o, blocks)
			for p := blocks * 16; p < kc; p++ {
				d := (*[nr]float32)(panel[p*nr:])
				for jj := range d {
					d[jj] = cp.b[o[jj]+p]
				}
			}
			continue
		}
		// Four windows at a time, so that each k step writes 16 contiguous bytes.
		jj := 0
		for ; jj+4 <= cols; jj += 4 {
			r0 := cp.b[offs[jj]+p0 : offs[jj]+p0+kc]
			r1 := cp.b[offs[jj+1]+p0 : offs[jj+1]+p0+kc]
			r2 := cp.b[offs[jj+2]+p0 : offs[jj+2]+p0+kc]
			r3 := cp.b[offs[jj+3]+p0 : offs[jj+3]+p0+kc]
			r1, r2, r3 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)] // one length: no bounds checks below
			for p := range r0 {
				d := (*[4]float32)(panel[p*nr+jj:])
				d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
			}
		}
		for ; jj < nr; jj++ {
			if jj >= cols {
				for p := 0; p < kc; p++ {
					panel[p*nr+jj] = 0
				}
				continue
			}
			for p, v := range cp.b[offs[jj]+p0 : offs[jj]+p0+kc] {
				panel[p*nr+jj] = v
			}
		}
	}
}

// dotShiftedT is SgemmShiftedT on AVX512 without packing: C's elements are dot products of a row
// of A and a window of b, both read in place by the 4×6 dot kernel (dotZ4x6) over k blocks of
// dotKB; a block's 24 sums are added to C (the first block's scaled, with C by beta). The parts
// of a parallel call take disjoint column ranges of C and run every k block in order, so the
// bits do not depend on the thread count.
func dotShiftedT(m, n, k int, alpha float32, a []float32, lda int, b []float32, off []int, beta float32, c []float32, ldc int) {
	d := dotJobs.Get().(*dotJob)
	*d = dotJob{m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, off: off, beta: beta, c: c, ldc: ldc}
	tiles := (n + dotNRZ - 1) / dotNRZ
	flops := 2 * float64(m) * float64(n) * float64(k)
	threads := min(runtime.GOMAXPROCS(0), int(flops/float64(minFlopsPerThread)), tiles)
	if threads <= 1 {
		d.parts = 1
		d.Part(0)
	} else {
		// One part per thread: each part reads all of A once per k block, and with four
		// parts per thread resnet20's 16→16 stack filter gradient (A: 16 rows of 17k floats)
		// ran 4.3–5.3 ms a call on two threads against 3.9–4.0.
		d.parts = min(tiles, threads)
		workers.Run(d.parts, d)
	}
	*d = dotJob{}
	dotJobs.Put(d)
}

// The dot kernel's tile: rows of A by windows of b.
const (
	dotMRZ = 4
	dotNRZ = 6
)

// dotMaxM: SgemmShiftedT on AVX512 takes the dot kernel for fewer rows of A than this, the
// packed GEMM (B transposed into panels) for more. Measured on the filter gradients (CPU ms,
// GEMM against dot): resnet20's 16→16 on 32×32 6.0–6.6 against 5.5–5.7, 32→32 on 16×16
// 5.0–5.5 against 6.3–6.9, 64→64 on 8×8 4.6–4.9 against 6.4–6.7, lenet's 20→40 on 14×14
// (40 rows) 19.6 against 19.1; lenet5's 1→6 and 6→16 spent a third of their step packing for
// the GEMM.
const dotMaxM = 32

type dotJob struct {
	m, n, k     int
	alpha, beta float32
	a, b, c     []float32
	off         []int
	lda, ldc    int
	parts       int
}

var dotJobs = sync.Pool{New: func() any { return new(dotJob) }}

// Part computes C's columns of the t-th share of the column tiles.
func (d *dotJob) Part(t int) {
	tiles := (d.n + dotNRZ - 1) / dotNRZ
	j0, j1 := tiles*t/d.parts*dotNRZ, min(tiles*(t+1)/d.parts*dotNRZ, d.n)
	var out [dotMRZ * dotNRZ]float32
	var offs [dotNRZ]int
	stepM, stepN := dotStep(d.m, dotMRZ), dotStep(d.n, dotNRZ)
	for p0 := 0; p0 < d.k; p0 += dotKB {
		kb := min(dotKB, d.k-p0)
		k16 := kb &^ 15
		first := p0 == 0
		for jt := j0; jt < j1; jt += stepN {
			// The tile's windows: the last tile of the whole matrix overlaps the previous one
			// rather than running short (only its new columns count), and fewer than six
			// columns repeat the first.
			j, jlo, jhi := jt, 0, 1
			if d.n >= dotNRZ {
				j = min(jt, d.n-dotNRZ)
				jlo, jhi = jt-j, min(dotNRZ, j1-j)
			}
			for q := range offs {
				if d.n >= dotNRZ {
					offs[q] = d.off[j+q] + p0
				} else {
					offs[q] = d.off[j] + p0
				}
			}
			for i0 := 0; i0 < d.m; i0 += stepM {
				i, sa, ilo, ihi := dotTile(i0, d.m, d.lda, dotMRZ)
				ao := i*d.lda + p0
				_ = d.a[ao+(dotMRZ-1)*sa+kb-1] // bounds of the kernel's reads of A
				if k16 > 0 {
					dotZ4x6(k16, &d.a[ao], sa, &d.b[0], &offs, &out)
				} else {
					out = [dotMRZ * dotNRZ]float32{}
				}
				for ii := ilo; ii < ihi; ii++ {
					ar := d.a[ao+ii*sa : ao+ii*sa+kb]
					row := d.c[(i+ii)*d.ldc : (i+ii)*d.ldc+d.n]
					for jj := jlo; jj < jhi; jj++ {
						s := out[ii*dotNRZ+jj]
						for p, v := range d.b[offs[jj]+k16 : offs[jj]+kb] { // k tail
							s += ar[k16+p] * v
						}
						cj := &row[j+jj]
						switch {
						case !first:
							*cj += d.alpha * s
						case d.beta == 0:
							*cj = d.alpha * s
						default:
							*cj = d.beta**cj + d.alpha*s
						}
					}
				}
			}
		}
	}
}
