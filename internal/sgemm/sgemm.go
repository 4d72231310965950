// Package sgemm is gaze's single-precision matrix multiply for the CPU device.
//
// Sgemm follows the GotoBLAS/BLIS design:
//
//   - op(B) is packed, kc×nc at a time, into micro-panels of nr=16 columns (for each k step,
//     16 consecutive values), and op(A), mc×kc at a time, into micro-panels of mr=6 rows. Packing
//     absorbs all four transpose combinations, so the micro-kernel sees one layout, and pads
//     partial panels with zeros so the kernel never needs bounds checks.
//   - A 6×16 micro-kernel (AVX2+FMA assembly; 12 YMM accumulators, 2 B loads and 6 broadcasts
//     per k step, unrolled 4×) multiplies one A micro-panel by one B micro-panel. Full tiles are
//     written to C directly (alpha and beta applied in the kernel); edge tiles go through a 6×16
//     scratch tile and are merged in Go.
//   - A non-transposed A is not packed when the per-goroutine n is at most directMaxN (the
//     Linear-layer shapes): kernel6x16Direct broadcasts straight from six rows of A. There the
//     packed copy would be reused by too few B panels to pay for itself; measured single-thread
//     it is 10–25% faster on the NT forward shapes and 3–10% on NN. Row strides that are a
//     multiple of 512 floats keep packing, as six rows 2 KiB apart collide in the L1 sets
//     (512³ ran at half speed unpacked).
//   - Blocking: kcMax=256 keeps a B micro-panel (kc·16·4 = 16 KiB) in the 32 KiB L1 while the
//     A micro-panels stream from the mc×kc block in L2 (mcMax=144: 144 KiB); ncMax=1024 bounds the
//     packed B block to 1 MiB per goroutine so two fit the shared 8 MiB L3 (4096 was 5–10%
//     slower on 1024³ and the conv2 forward). Block sizes are balanced (k=784 runs as 4×196,
//     not 3×256+16). kc 256/384/512 and mc 72/144/288 measured within noise (±5%) of each
//     other on every benchmark shape.
//   - Products of at least 2·minFlopsPerThread flops are split into parts along M or N,
//     whichever duplicates the cheaper operand's packing, and run on the process-wide worker
//     pool (package workers): one part per goroutine along M (each part repacks all of B), up
//     to four per goroutine along N, handed out dynamically so that a core slowed by other
//     work takes fewer. Every part runs the serial algorithm on its own part of C with a pooled
//     workspace, cut at tile boundaries, so the result does not depend on the split and steady
//     state allocates nothing.
//   - SgemmPacked takes op(B) from a BPacker instead of a matrix: the cpu device's
//     convolutions generate their im2col blocks straight into the packing buffer that way.
//   - Three kernel paths (see Path): AVX512, AVX2 (the 6×16 kernel above) and Generic (a pure-Go
//     6×16 kernel on the same packed layout). The best one the CPU and OS support (CPUID/XGETBV)
//     is chosen at start-up; GAZE_CPU=avx512|avx2|generic overrides it, and SetPath lets tests
//     run every path in one process.
//   - The AVX512 micro-kernel is 8×48 (gen_avx512.go prints it): 24 ZMM accumulators, three B
//     vectors and eight broadcasts per k step, so 24 FMAs per 11 loads, and 4 spare registers.
//     8 rows rather than 12 or 14 because the models' products have M = 16, 20, 32, 40, 64
//     output channels (8 divides most; 14 would leave 16 rows 57% used). It keeps B's 16-column
//     panels (and so every BPacker) and reads three adjacent ones; 8×32 and 8×16 variants take
//     the right edge. Each accumulator lane sums its k steps in order with FMA, as the AVX2
//     kernel does, so on the same blocking the two give the same bits for alpha 1 and beta 0
//     or 1. On one Zen 5 core it runs at about 220 GFLOP/s on L1-resident panels (the core's
//     FMA peak is 240: BenchmarkMicroKernel, BenchmarkPeakFMA), against 90 for the 6×16 AVX2
//     kernel.
//   - A product split along M packs op(B) once, its parts each packing a share of the panels
//     in a first parallel pass, and then all read the shared copy (sharedBMax bounds it).
//   - SgemmShifted and SgemmShiftedT (shifted.go) multiply by a B whose rows or columns are
//     windows of one array: the cpu device's stride-1 convolutions on a padded copy of their
//     input, with no im2col.
//
// The AVX2 measurements that follow are from the earlier 2-vCPU AMD EPYC development box (Zen,
// family 23, AVX2+FMA). Measured there with the
// single-thread kernel on L1-resident panels at about 40 GFLOP/s (its peak is 16 FLOP/cycle on
// this core): single-threaded, best of many runs, every benchmark shape except the
// memory-bound conv2 forward (~25) reaches 33–42 GFLOP/s. With two goroutines on a quiet box the
// larger shapes reach 55–65 GFLOP/s (512³: 59, conv2 dW/dX: 46 even under load); the
// small Linear shapes gained less while each goroutine repacked the shared operand. gonum's
// Sgemm runs at 3–14 GFLOP/s on the same shapes. See BenchmarkSgemm. On the AVX-512 box (busy:
// best of 4) kcMax 128–384 measured within noise of each other for the AVX512 path too, so it
// keeps the AVX2 blocking.
package sgemm

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/gazeml/gaze/internal/sgemm/workers"
)

// Register blocks of the micro-kernels: mr rows of op(A) by nr columns of op(B) for the AVX2
// and pure-Go kernels, zmr rows by up to zv·nr columns for the AVX-512 one. B is packed in nr-wide
// micro-panels on every path; the AVX-512 kernel reads zv of them side by side.
const (
	mr  = 6
	nr  = 16
	zmr = 8
	zv  = 3

	maxTile = zmr * zv * nr // the largest micro-tile, for the edge-tile scratch
)

// Cache blocking limits (elements). They are variables so benchmarks can tune them.
var (
	kcMax = 256  // k depth of a packed block
	mcMax = 144  // rows of op(A) per packed block, a multiple of mr and zmr
	ncMax = 1024 // columns of op(B) per packed block, a multiple of nr
)

// Parallel split policy.
var (
	// minFlopsPerThread is the work below which an extra goroutine costs more than it saves.
	minFlopsPerThread = 1 << 20

	// directMaxN is the widest per-goroutine n for which a non-transposed A is read in place
	// instead of packed (see problem.run).
	directMaxN = 1024
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, where op(A) is m×k and
// op(B) is k×n. lda, ldb and ldc are the row strides of A, B and C as stored. When beta is 0,
// C is not read.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if trivial(transA, m, n, k, alpha, a, lda, beta, c, ldc) {
		return
	}
	if transB {
		checkMatrix("B", n, k, b, ldb)
	} else {
		checkMatrix("B", k, n, b, ldb)
	}

	p := problem{
		transA: transA, transB: transB,
		m: m, n: n, k: k,
		alpha: alpha, beta: beta,
		a: a, b: b, c: c,
		lda: lda, ldb: ldb, ldc: ldc,
	}
	p.setPath(Current())
	p.solve()
}

// trivial checks the sizes common to Sgemm and SgemmPacked and handles the calls that need no
// product (an empty C; k or alpha 0: C = beta*C without referencing A and B, as BLAS does). It
// reports whether the call is done.
func trivial(transA bool, m, n, k int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) bool {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("sgemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	if m == 0 || n == 0 {
		return true
	}
	checkMatrix("C", m, n, c, ldc)
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return true
	}
	if transA {
		checkMatrix("A", k, m, a, lda)
	} else {
		checkMatrix("A", m, k, a, lda)
	}
	return false
}

// BPacker supplies op(B) to SgemmPacked in packed form, so that B need never be stored as a
// matrix (the convolutions of the cpu device generate their im2col matrix this way, a block at
// a time, straight into the packing buffer).
type BPacker interface {
	// PackB writes op(B)[p0:p0+kc, j0:j0+nc] into dst in NR-column micro-panels: for panel q
	// (columns j0+q·NR …), dst[q·kc·NR + p·NR + jj] = op(B)(p0+p, j0+q·NR+jj), and zero for the
	// columns past nc of the last panel (see PackBRow, PackBColumns). tmp is scratch of at least
	// NR·kc + nc elements, private to the call. PackB is called concurrently for disjoint column
	// ranges.
	PackB(dst, tmp []float32, p0, kc, j0, nc int)
}

// NR is the column width of a packed B micro-panel.
const NR = nr

// SgemmPacked is Sgemm with op(B) (k×n) supplied by a BPacker.
func SgemmPacked(transA bool, m, n, k int, alpha float32, a []float32, lda int, b BPacker, beta float32, c []float32, ldc int) {
	if trivial(transA, m, n, k, alpha, a, lda, beta, c, ldc) {
		return
	}
	p := problem{
		transA: transA,
		m:      m, n: n, k: k,
		alpha: alpha, beta: beta,
		a: a, c: c, packer: b,
		lda: lda, ldc: ldc,
	}
	p.setPath(Current())
	p.solve()
}

// PackBRow stores row, which is op(B)[p0+p, j0 : j0+len(row)], as k step p of the micro-panels
// of a packed block of depth kc, zero-filling the unused columns of the last panel.
func PackBRow(dst []float32, kc, p int, row []float32) {
	nc := len(row)
	full := nc / nr * nr
	for jr := 0; jr < full; jr += nr {
		copy16(dst[jr*kc+p*nr:], row[jr:])
	}
	if full < nc {
		d := dst[full*kc+p*nr : full*kc+p*nr+nr]
		n := copy(d, row[full:])
		clear(d[n:])
	}
}

// copy16 copies the first 16 floats of src to dst as four 16-byte moves: copy, and a 64-byte
// array assignment, compile to a call of memmove, which costs more than the move itself.
func copy16(dst, src []float32) {
	d, s := (*[nr]float32)(dst), (*[nr]float32)(src)
	*(*[4]float32)(d[0:4]) = *(*[4]float32)(s[0:4])
	*(*[4]float32)(d[4:8]) = *(*[4]float32)(s[4:8])
	*(*[4]float32)(d[8:12]) = *(*[4]float32)(s[8:12])
	*(*[4]float32)(d[12:16]) = *(*[4]float32)(s[12:16])
}

// PackBColumns fills one micro-panel of depth kc from cols ≤ NR columns of op(B) stored one
// after the other in src (column jj at src[jj·kc : (jj+1)·kc]), zero-filling the rest.
func PackBColumns(panel []float32, kc int, src []float32, cols int) {
	panel = panel[:kc*nr]
	if cols == nr && kc >= 16 && Current() == AVX512 {
		// A full panel is a 16×kc transpose: 16×16 blocks in ZMM registers, then the last
		// kc%16 steps one by one.
		_ = src[nr*kc-1]
		blocks := kc / 16
		var off [nr]int
		for jj := range off {
			off[jj] = jj * kc
		}
		transpose16x16(&panel[0], &src[0], &off, blocks)
		for p := blocks * 16; p < kc; p++ {
			d := (*[nr]float32)(panel[p*nr:])
			for jj := range d {
				d[jj] = src[jj*kc+p]
			}
		}
		return
	}
	jj := 0
	for ; jj+4 <= cols; jj += 4 {
		r0 := src[jj*kc : jj*kc+kc]
		r1 := src[(jj+1)*kc : (jj+1)*kc+kc]
		r2 := src[(jj+2)*kc : (jj+2)*kc+kc]
		r3 := src[(jj+3)*kc : (jj+3)*kc+kc]
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
		for p, v := range src[jj*kc : jj*kc+kc] {
			panel[p*nr+jj] = v
		}
	}
}

// solve runs a checked problem, in parallel when it is large enough.
func (p *problem) solve() {
	m, n, k := p.m, p.n, p.k
	threads := runtime.GOMAXPROCS(0)
	if t := int(2 * float64(m) * float64(n) * float64(k) / float64(minFlopsPerThread)); t < threads {
		threads = t
	}
	// Splitting along M duplicates the packing of B (k×n) in every goroutine; along N, that
	// of A (m×k). Split the dimension whose other operand is cheaper to repack.
	splitM := m > n && p.packer == nil // along M, every part would generate all of a packer's B
	var units, unit int
	if splitM {
		unit = p.mr
		units = (m + unit - 1) / unit
	} else {
		unit = nr
		if p.path == AVX512 && n >= 4*threads*zv*nr {
			// Whole 48-column kernel groups per part, so that no part ends in a narrow
			// kernel, when there are enough of them to balance the parts.
			unit = zv * nr
		}
		units = (n + unit - 1) / unit
	}
	if threads > units {
		threads = units
	}
	if threads <= 1 {
		w := getWorkspace()
		p.run(w, 0, m, 0, n)
		workspaces.Put(w)
		return
	}
	parts := threads
	if !splitM && p.readsAInPlace() {
		// Along N with A read in place, parts share nothing: cut more parts than threads, so
		// that a core slowed by other work takes fewer of them. (Where each part would pack its
		// own copy of A, one part per thread keeps that cost as it was.)
		parts = min(units, 4*threads, max(int(2*float64(m)*float64(n)*float64(k)/float64(4*minFlopsPerThread)), threads))
	}

	job := jobs.Get().(*parallelJob)
	braw := job.braw
	*job = parallelJob{p: *p, splitM: splitM, unit: unit, units: units, parts: parts, braw: braw}
	if nPad := (n + nr - 1) / nr * nr; splitM && k*nPad <= sharedBMax {
		// Along M every part would pack all of B: pack it once, the parts sharing the
		// panels between them, then let every part read the shared copy.
		job.kc = blockSize(k, kcMax, 1)
		job.p.bShared = aligned(&job.braw, k*nPad)
		job.packing, job.packParts = true, min(threads, nPad/nr)
		workers.Run(job.packParts, job)
		job.packing = false
	}
	workers.Run(parts, job)
	job.p = problem{} // drop the references to the caller's matrices
	jobs.Put(job)
}

// sharedBMax bounds the op(B) (elements) that a product split along M packs once for all its
// parts (16 MiB); a larger one is packed block by block in every part.
const sharedBMax = 4 << 20

// parallelJob is a parallel Sgemm: part t computes the t-th of parts near-equal slices of C, cut
// along M or N at multiples of unit (so every C tile is computed exactly as a serial call would).
type parallelJob struct {
	p           problem
	splitM      bool
	unit, units int
	parts       int

	// With packing, Part(t) packs the t-th share of op(B)'s panels, every k block, into
	// p.bShared (k blocks of depth kc, one after the other), for the parts to read.
	packing   bool
	packParts int
	kc        int
	braw      []float32
}

// jobs recycles parallelJobs, so that steady state allocates nothing.
var jobs = sync.Pool{New: func() any { return new(parallelJob) }}

func (j *parallelJob) Part(t int) {
	if j.packing {
		p := &j.p
		nPad := (p.n + nr - 1) / nr * nr
		panels := nPad / nr
		q0, q1 := panels*t/j.packParts, panels*(t+1)/j.packParts
		j0, j1 := q0*nr, min(q1*nr, p.n)
		for pc := 0; pc < p.k; pc += j.kc {
			kcur := min(j.kc, p.k-pc)
			packB(p.bShared[pc*nPad+j0*kcur:], p.path, p.transB, p.b, p.ldb, pc, kcur, j0, j1-j0)
		}
		return
	}
	extent := j.p.n
	if j.splitM {
		extent = j.p.m
	}
	lo := min(j.units*t/j.parts*j.unit, extent)
	hi := min(j.units*(t+1)/j.parts*j.unit, extent)
	w := getWorkspace()
	if j.splitM {
		j.p.run(w, lo, hi, 0, j.p.n)
	} else {
		j.p.run(w, 0, j.p.m, lo, hi)
	}
	workspaces.Put(w)
}

// checkMatrix panics unless s can hold a rows×cols row-major matrix with row stride ld.
func checkMatrix(name string, rows, cols int, s []float32, ld int) {
	if ld < cols || ld < 1 {
		panic(fmt.Sprintf("sgemm: ld%s=%d is less than the %d columns of %s as stored", name, ld, cols, name))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		panic(fmt.Sprintf("sgemm: len(%s)=%d, need at least %d for %d×%d with stride %d", name, len(s), need, rows, cols, ld))
	}
}

// scaleC sets C = beta*C, writing zeros without reading C when beta is 0.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

type problem struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	path           Path
	mr             int       // rows of the path's A micro-panel
	packer         BPacker   // when not nil, supplies op(B) (b, ldb and transB are unused)
	bShared        []float32 // when not nil, all of op(B) packed (see parallelJob), read by run
}

// setPath fixes the kernels of one call.
func (p *problem) setPath(path Path) {
	p.path, p.mr = path, mr
	if path == AVX512 {
		p.mr = zmr
	}
}

// workspace holds one goroutine's packing buffers; pooled so steady state allocates nothing.
type workspace struct {
	araw, braw []float32
	tmp        []float32 // scratch of a BPacker
	tile       [maxTile]float32
}

var workspaces = sync.Pool{New: func() any { return new(workspace) }}

func getWorkspace() *workspace { return workspaces.Get().(*workspace) }

// aligned returns a 64-byte aligned slice of length n carved from *raw, growing it if needed.
// Alignment keeps each 16-float B row in one cache line for the kernel's loads.
func aligned(raw *[]float32, n int) []float32 {
	if len(*raw) < n+16 {
		*raw = make([]float32, n+16)
	}
	off := int((64 - uintptr(unsafe.Pointer(&(*raw)[0]))&63) & 63 / 4)
	return (*raw)[off : off+n]
}

// blockSize splits total into ceil(total/max) nearly equal blocks rounded up to a multiple of
// unit, so that e.g. k=784 with kcMax=256 runs as 4×196 rather than 3×256+16.
func blockSize(total, max, unit int) int {
	nb := (total + max - 1) / max
	bs := (total + nb - 1) / nb
	return (bs + unit - 1) / unit * unit
}

// run computes rows [i0,i1) × columns [j0,j1) of C serially.
func (p *problem) run(w *workspace, i0, i1, j0, j1 int) {
	m, n, k, mr := i1-i0, j1-j0, p.k, p.mr
	kc := blockSize(k, kcMax, 1)
	mc := blockSize(m, mcMax, mr)
	ncUnit := nr
	if p.path == AVX512 {
		ncUnit = zv * nr // whole kernel widths inside a block
	}
	nc := blockSize(n, ncMax, ncUnit)
	ncPad := min(nc, (n+nr-1)/nr*nr)
	mcPad := min(mc, (m+mr-1)/mr*mr)
	bp := aligned(&w.braw, kc*ncPad)
	ap := aligned(&w.araw, kc*mcPad)

	// A non-transposed A can feed the kernel in place. Packing it pays off only when each
	// packed panel is reused across many B micro-panels (wide n); for the narrow products of
	// Linear layers the copy costs more than the strided reads it saves.
	direct := p.readsAInPlace() && n <= directMaxN

	for jc := 0; jc < n; jc += nc {
		ncur := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kcur := min(kc, k-pc)
			// Only the first k block sees the caller's beta; later ones accumulate.
			beta, loadC := p.beta, p.beta != 0
			if pc > 0 {
				beta, loadC = 1, true
			}
			switch {
			case p.bShared != nil:
				nPad := (p.n + nr - 1) / nr * nr
				bp = p.bShared[pc*nPad+(j0+jc)*kcur:]
			case p.packer != nil:
				if len(w.tmp) < nr*kcur+ncur {
					w.tmp = make([]float32, nr*kc+nc)
				}
				p.packer.PackB(bp, w.tmp, pc, kcur, j0+jc, ncur)
			default:
				packB(bp, p.path, p.transB, p.b, p.ldb, pc, kcur, j0+jc, ncur)
			}
			for ic := 0; ic < m; ic += mc {
				mcur := min(mc, m-ic)
				if direct {
					// Full micro-panels are read in place; only a partial last one is
					// packed (zero-padded) into the start of ap.
					full := mcur / mr * mr
					if full < mcur {
						packA(ap, false, p.a, p.lda, i0+ic+full, mcur-full, pc, kcur, mr)
					}
				} else {
					packA(ap, p.transA, p.a, p.lda, i0+ic, mcur, pc, kcur, mr)
				}
				if p.path == AVX512 {
					p.macroKernelZ(w, ap, bp, kcur, i0+ic, mcur, j0+jc, ncur, pc, beta, loadC, direct)
				} else {
					p.macroKernel(w, ap, bp, kcur, i0+ic, mcur, j0+jc, ncur, pc, beta, loadC, direct)
				}
			}
		}
	}
}

// readsAInPlace reports whether the kernel may read A unpacked (for parts at most directMaxN
// wide): a non-transposed A whose row stride does not alias the L1 sets.
func (p *problem) readsAInPlace() bool {
	return p.path != Generic && !p.transA && (p.lda*4)%2048 != 0
}

// macroKernel multiplies a packed mcur×kc block of A by a packed kc×ncur block of B into C
// at (ci, cj) with the 6×16 kernels (AVX2 or pure Go). B micro-panels are the outer loop so each
// stays in L1 across all of A. With direct, full A micro-panels are read from p.a at k offset pc,
// and ap holds only the packed partial last panel.
func (p *problem) macroKernel(w *workspace, ap, bp []float32, kc, ci, mcur, cj, ncur, pc int, beta float32, loadC, direct bool) {
	c, ldc, alpha := p.c, p.ldc, p.alpha
	asm := p.path == AVX2
	full := mcur / mr * mr
	lc := b2i(loadC)
	for jr := 0; jr < ncur; jr += nr {
		nn := min(nr, ncur-jr)
		bpan := bp[jr*kc : jr*kc+kc*nr]
		for ir := 0; ir < mcur; ir += mr {
			mm := min(mr, mcur-ir)
			off := (ci+ir)*ldc + cj + jr
			if direct && ir < full {
				ao := (ci+ir)*p.lda + pc
				// Bounds: the panel's last element is a[ao+5*lda+kc-1].
				_ = p.a[ao+(mr-1)*p.lda+kc-1]
				if nn == nr {
					_ = c[off+(mr-1)*ldc+nr-1]
					kernel6x16Direct(kc, &p.a[ao], p.lda, &bpan[0], &c[off], ldc, alpha, beta, lc)
					continue
				}
				kernel6x16Direct(kc, &p.a[ao], p.lda, &bpan[0], &w.tile[0], nr, 1, 0, 0)
				mergeTile(w.tile[:], nr, c[off:], ldc, mm, nn, alpha, beta, loadC)
				continue
			}
			aoff := ir * kc
			if direct {
				aoff = 0
			}
			apan := ap[aoff : aoff+kc*mr]
			if mm == mr && nn == nr {
				if asm {
					// Bounds: the full tile's last element is c[off+5*ldc+15].
					_ = c[off+(mr-1)*ldc+nr-1]
					kernel6x16(kc, &apan[0], &bpan[0], &c[off], ldc, alpha, beta, lc)
					continue
				}
			}
			if asm {
				kernel6x16(kc, &apan[0], &bpan[0], &w.tile[0], nr, 1, 0, 0)
			} else {
				kernelGo(kc, apan, bpan, (*[mr * nr]float32)(w.tile[:]))
			}
			mergeTile(w.tile[:], nr, c[off:], ldc, mm, nn, alpha, beta, loadC)
		}
	}
}

// macroKernelZ is macroKernel for the AVX-512 kernels: zmr-row A micro-panels against groups of
// up to zv adjacent B micro-panels (48 columns; a group at the right edge of the block may have
// one or two panels, and its last panel may be partial).
func (p *problem) macroKernelZ(w *workspace, ap, bp []float32, kc, ci, mcur, cj, ncur, pc int, beta float32, loadC, direct bool) {
	c, ldc, alpha := p.c, p.ldc, p.alpha
	full := mcur / zmr * zmr
	lc := b2i(loadC)
	bs := kc * nr // panel stride
	for jr := 0; jr < ncur; jr += zv * nr {
		nn := min(zv*nr, ncur-jr)
		v := (nn + nr - 1) / nr
		width := v * nr
		bpan := bp[jr*kc : jr*kc+v*bs]
		for ir := 0; ir < mcur; ir += zmr {
			mm := min(zmr, mcur-ir)
			off := (ci+ir)*ldc + cj + jr
			whole := mm == zmr && nn == width
			if whole {
				_ = c[off+(zmr-1)*ldc+width-1] // bounds of the kernel's C tile
			}
			if direct && ir < full {
				ao := (ci+ir)*p.lda + pc
				_ = p.a[ao+(zmr-1)*p.lda+kc-1] // bounds of the kernel's A rows
				if whole {
					kernelZDirect(v, kc, &p.a[ao], p.lda, &bpan[0], bs, &c[off], ldc, alpha, beta, lc)
					continue
				}
				kernelZDirect(v, kc, &p.a[ao], p.lda, &bpan[0], bs, &w.tile[0], width, 1, 0, 0)
				mergeTile(w.tile[:], width, c[off:], ldc, mm, nn, alpha, beta, loadC)
				continue
			}
			aoff := ir * kc
			if direct {
				aoff = 0
			}
			apan := ap[aoff : aoff+kc*zmr]
			if whole {
				kernelZ(v, kc, &apan[0], &bpan[0], bs, &c[off], ldc, alpha, beta, lc)
				continue
			}
			kernelZ(v, kc, &apan[0], &bpan[0], bs, &w.tile[0], width, 1, 0, 0)
			mergeTile(w.tile[:], width, c[off:], ldc, mm, nn, alpha, beta, loadC)
		}
	}
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mergeTile stores alpha*t (+ beta*C when loadC) into the top-left mm×nn corner of c; t has
// row stride ldt.
func mergeTile(t []float32, ldt int, c []float32, ldc, mm, nn int, alpha, beta float32, loadC bool) {
	for i := 0; i < mm; i++ {
		row := c[i*ldc : i*ldc+nn]
		src := t[i*ldt : i*ldt+nn]
		if loadC {
			for j, v := range src {
				row[j] = alpha*v + beta*row[j]
			}
		} else {
			for j, v := range src {
				row[j] = alpha * v
			}
		}
	}
}

// packA packs op(A)[i0:i0+mc, p0:p0+kc] into mr-row micro-panels (mr is 6 or zmr): panel r
// holds, for each k step, the mr values of rows r*mr.. of that column; rows past mc are zero.
func packA(dst []float32, trans bool, a []float32, lda, i0, mc, p0, kc, mr int) {
	for ir := 0; ir < mc; ir += mr {
		panel := dst[ir*kc : ir*kc+kc*mr]
		rows := min(mr, mc-ir)
		if !trans {
			// op(A)(i,p) = a[i*lda+p]: rows are contiguous in memory.
			if rows == mr && mr == 6 {
				base := (i0+ir)*lda + p0
				r0 := a[base : base+kc]
				r1 := a[base+lda : base+lda+kc]
				r2 := a[base+2*lda : base+2*lda+kc]
				r3 := a[base+3*lda : base+3*lda+kc]
				r4 := a[base+4*lda : base+4*lda+kc]
				r5 := a[base+5*lda : base+5*lda+kc]
				for p := range r0 {
					d := panel[p*6 : p*6+6 : p*6+6]
					d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
				}
				continue
			}
			if rows == mr && mr == 8 {
				base := (i0+ir)*lda + p0
				r0 := a[base : base+kc]
				r1 := a[base+lda : base+lda+kc]
				r2 := a[base+2*lda : base+2*lda+kc]
				r3 := a[base+3*lda : base+3*lda+kc]
				r4 := a[base+4*lda : base+4*lda+kc]
				r5 := a[base+5*lda : base+5*lda+kc]
				r6 := a[base+6*lda : base+6*lda+kc]
				r7 := a[base+7*lda : base+7*lda+kc]
				for p := range r0 {
					d := (*[8]float32)(panel[p*8:])
					d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p], r6[p], r7[p]
				}
				continue
			}
			// A partial panel: k step by k step, so that the writes are sequential (a
			// filter gradient's partial panel is kc·mr long for every k block of a long k).
			var src [zmr][]float32
			for ii := range rows {
				base := (i0+ir+ii)*lda + p0
				src[ii] = a[base : base+kc]
			}
			for p := range kc {
				d := panel[p*mr : p*mr+mr : p*mr+mr]
				for ii := range rows {
					d[ii] = src[ii][p]
				}
				for ii := rows; ii < mr; ii++ {
					d[ii] = 0
				}
			}
			continue
		}
		// op(A)(i,p) = a[p*lda+i]: each k step's mr values are contiguous.
		for p := 0; p < kc; p++ {
			base := (p0+p)*lda + i0 + ir
			d := panel[p*mr : p*mr+mr : p*mr+mr]
			switch {
			case rows == 6 && mr == 6:
				s := a[base : base+6 : base+6]
				d[0], d[1], d[2], d[3], d[4], d[5] = s[0], s[1], s[2], s[3], s[4], s[5]
			case rows == 8 && mr == 8:
				// Two 16-byte moves (copy would call memmove).
				*(*[4]float32)(d[0:4]) = *(*[4]float32)(a[base : base+4])
				*(*[4]float32)(d[4:8]) = *(*[4]float32)(a[base+4 : base+8])
			default:
				n := copy(d, a[base:base+rows])
				clear(d[n:])
			}
		}
	}
}

// packB packs op(B)[p0:p0+kc, j0:j0+nc] into nr-column micro-panels: panel c holds, for each
// k step, the nr values of columns c*nr.. of that row; columns past nc are zero.
func packB(dst []float32, path Path, trans bool, b []float32, ldb, p0, kc, j0, nc int) {
	if !trans {
		// op(B)(p,j) = b[p*ldb+j]: walk each row of b once, left to right, so the reads are
		// one sequential stream per k step (rows of a wide B are pages apart; visiting a
		// 16-float slice of each per panel would miss the TLB and the prefetcher).
		full := nc / nr * nr
		asm := path != Generic
		if full > 0 && asm {
			// The same walk in assembly, for the full panels. Bounds of its reads and
			// writes: the last full panel's last row.
			_ = b[(p0+kc-1)*ldb+j0+full-1]
			_ = dst[(full/nr-1)*kc*nr+kc*nr-1]
			packBRowsAVX(&dst[0], &b[p0*ldb+j0], ldb, kc, full/nr)
			if full == nc {
				return
			}
		}
		for p := 0; p < kc; p++ {
			row := b[(p0+p)*ldb+j0 : (p0+p)*ldb+j0+nc]
			if !asm {
				for jr := 0; jr < full; jr += nr {
					copy16(dst[jr*kc+p*nr:], row[jr:])
				}
			}
			if full < nc {
				d := dst[full*kc+p*nr : full*kc+p*nr+nr]
				n := copy(d, row[full:])
				clear(d[n:])
			}
		}
		return
	}
	for jr := 0; jr < nc; jr += nr {
		panel := dst[jr*kc : jr*kc+kc*nr]
		cols := min(nr, nc-jr)
		// op(B)(p,j) = b[j*ldb+p]: columns of op(B) are contiguous rows of b. Gather four
		// rows at a time so each k step writes 16 contiguous bytes rather than 4.
		jj := 0
		for ; jj+4 <= cols; jj += 4 {
			base := (j0+jr+jj)*ldb + p0
			r0 := b[base : base+kc]
			r1 := b[base+ldb : base+ldb+kc]
			r2 := b[base+2*ldb : base+2*ldb+kc]
			r3 := b[base+3*ldb : base+3*ldb+kc]
			r1, r2, r3 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)]
			for p := range r0 {
				d := panel[p*nr+jj : p*nr+jj+4 : p*nr+jj+4]
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
			base := (j0+jr+jj)*ldb + p0
			for p, v := range b[base : base+kc] {
				panel[p*nr+jj] = v
			}
		}
	}
}
