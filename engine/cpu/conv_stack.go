package cpu

import (
	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// The padded-stack form of a stride-1 convolution. The input planes of a chunk of images are
// copied, channel by channel, into one zero-padded "stack": each row of W values is followed by
// gw zeros (which are also the left padding of the next row), and each image by gh zero rows
// (the bottom padding of one image and the top padding of the next), with gh zero rows and gw
// zeros before the first:
//
//	stack[c·cs + lead + (gh + i·(H+gh) + ih)·pitch + iw] = x[i, c, ih, iw],   pitch = W + gw.
//
// Output pixel (i, oh, ow) becomes the "virtual" column j = i·(H+gh)·pitch + oh·pitch + ow, and
// tap (c, r, s) reads stack[off(c,r,s) + j] with off(c,r,s) = c·cs + lead + (gh-PadH+r)·pitch +
// s-PadW: the im2col matrix of the chunk is B(p, j) = stack[off[p] + j], a shifted product that
// sgemm runs without generating or packing B (sgemm.SgemmShifted). The virtual columns include
// gw garbage columns per row and gh garbage rows per image (with 3×3 taps 6% more columns on
// 32×32 planes, 13% on 16×16, 27% on 8×8; 31% on lenet's 14×14 with 5×5 taps), which are
// computed and dropped; the stack costs one copy of the input instead of R·S copies into im2col
// panels. On the AVX-512 build machine this took resnet20's stride-1 convolutions from 55–90 to
// 120–136 GFLOP/s per core-second and lenet's 20→40 from 65–76 to 105–126.
//
// A strided convolution runs on a stack of its input's phases: with stride (sh, sw), phase (a, b)
// of an input plane is the subsampled plane x[sh·i + a, sw·j + b], and tap (r, s) of output
// pixel (oh, ow) reads phase ((r-PadH) mod sh, (s-PadW) mod sw) at row oh + ⌊(r-PadH)/sh⌋ and
// column ow + ⌊(s-PadW)/sw⌋. So in phase space the convolution has stride 1 (on planes of
// ⌈H/sh⌉×⌈W/sw⌉, a phase that runs out early padded with zeros), and the stack holds, for every
// input channel, the phases some tap reads, one stack channel each. The filters keep their
// layout: only the tap offsets change. For resnet's 3×3 stride-2 convolutions (four phases,
// 2×2 shifts) this replaces the implicit im2col, whose per-element gathers ran the forward and
// filter-gradient passes at about a third of the stride-1 rate; for its 1×1 stride-2 projections
// the stack is one phase, the even pixels, with no garbage columns at all.
//
// The backward-data pass of a stride-1 convolution is a forward convolution of dy with the
// flipped, transposed filters (see transposedGeom) and runs the same way. The filter gradient
// is dW += dyv·Bᵀ (sgemm.SgemmShiftedT), with dyv the output gradient laid out in virtual
// columns and zeros in the garbage ones. (A NaN or Inf in x can therefore reach a filter
// gradient entry through a garbage column, where the im2col form would multiply it by nothing.)
//
// Results do not depend on the core count: the chunks are cut by shape only, every output
// element is one sgemm sum in a fixed order, the filter gradient's chunk products are added in
// chunk order, and the copies in and out write disjoint memory.

// stackPlan is the stack layout of a convolution for chunks of up to nb images.
type stackPlan struct {
	x        engine.ConvGeom                      // the convolution
	g        engine.ConvGeom                      // its stride-1 form on the stack's planes (x itself at stride 1)
	np       int                                  // stack channels (phases) per input channel: 1 at stride 1
	phase    [maxStackStride][maxStackStride]int8 // stack channel of phase (a, b) within its input channel, -1 if no tap reads it
	gh, gw   int                                  // zero rows between images, zero columns between rows
	pitch    int                                  // W + gw
	perImage int                                  // virtual columns per image: (H+gh)·pitch
	lead     int                                  // zeros before the first row of a channel: gw
	span     int                                  // the slack a window needs past the virtual columns of nb images
}

// stackUse says when convolutions take the stack form.
type stackUse int8

const (
	// stackAuto: when sgemm's current path reads shifted operands in place (AVX512). On the
	// paths that pack them, the garbage columns and the row copies made the stack form slower
	// than im2col on lenet's 14×14 planes (AVX2: backward data 43 against 34 ms, filter 43
	// against 39), so they keep the im2col form.
	stackAuto stackUse = iota
	stackAlways
	stackNever
)

// maxStackStride bounds the strides the stack form takes (larger ones keep the im2col form).
const maxStackStride = 4

// floorMod returns ⌊v/m⌋ and v - m·⌊v/m⌋ (in [0, m)) for m > 0.
func floorMod(v, m int) (q, r int) {
	r = (v%m + m) % m
	return (v - r) / m, r
}

// planStack returns the stack layout of g, and false when the stack cannot hold it (padding of a
// whole kernel or more in phase space, or a stride above maxStackStride; those keep the im2col
// form), or when the stack form is not in use (see stackUse).
func (d *Device) planStack(x engine.ConvGeom) (stackPlan, bool) {
	switch d.stackForm {
	case stackNever:
		return stackPlan{}, false
	case stackAuto:
		if !sgemm.ShiftedInPlace() {
			return stackPlan{}, false
		}
	}
	if x.StrideH > maxStackStride || x.StrideW > maxStackStride {
		return stackPlan{}, false
	}
	s := stackPlan{x: x}
	for a := range s.phase {
		for b := range s.phase[a] {
			s.phase[a][b] = -1
		}
	}
	for r := range x.R {
		_, a := floorMod(r-x.PadH, x.StrideH)
		for t := range x.S {
			if _, b := floorMod(t-x.PadW, x.StrideW); s.phase[a][b] < 0 {
				s.phase[a][b] = int8(s.np)
				s.np++
			}
		}
	}
	// The stride-1 convolution in phase space: tap shifts ⌊(r-PadH)/sh⌋ from qh0 to qh1.
	qh0, _ := floorMod(-x.PadH, x.StrideH)
	qh1, _ := floorMod(x.R-1-x.PadH, x.StrideH)
	qw0, _ := floorMod(-x.PadW, x.StrideW)
	qw1, _ := floorMod(x.S-1-x.PadW, x.StrideW)
	g := engine.ConvGeom{N: x.N, C: x.C * s.np, H: ceilDiv(x.H, x.StrideH), W: ceilDiv(x.W, x.StrideW), K: x.K,
		R: qh1 - qh0 + 1, S: qw1 - qw0 + 1, StrideH: 1, StrideW: 1, PadH: -qh0, PadW: -qw0, OutH: x.OutH, OutW: x.OutW}
	s.g = g
	bottom := g.OutH - 1 + g.R - g.PadH - g.H // padding below and right of the input
	right := g.OutW - 1 + g.S - g.PadW - g.W
	s.gh, s.gw = max(g.PadH, bottom, 0), max(g.PadW, right, 0)
	if s.gh >= g.R || s.gw >= g.S || g.OutH > g.H+s.gh || g.OutW > g.W+s.gw {
		return stackPlan{}, false
	}
	s.pitch = g.W + s.gw
	s.perImage = (g.H + s.gh) * s.pitch
	s.lead = s.gw
	// The largest offset is that of tap (R-1, S-1); its windows reach 16-float vectors past
	// the last virtual column.
	s.span = (s.gh-g.PadH+g.R-1)*s.pitch + g.S - 1 - g.PadW + 16
	return s, true
}

// channelStride is the stack's channel stride for nb images.
func (s *stackPlan) channelStride(nb int) int { return s.lead + nb*s.perImage + s.span }

// offsets fills off[p] for the C·R·S taps p = (c, r, s) of the convolution on a stack of nb
// images (at stride 1, c·cs + lead + (gh-PadH+r)·pitch + s-PadW).
func (s *stackPlan) offsets(off []int, nb int) {
	x, cs := &s.x, s.channelStride(nb)
	p := 0
	for c := 0; c < x.C; c++ {
		for r := 0; r < x.R; r++ {
			qh, a := floorMod(r-x.PadH, x.StrideH)
			for t := 0; t < x.S; t++ {
				qw, b := floorMod(t-x.PadW, x.StrideW)
				off[p] = (c*s.np+int(s.phase[a][b]))*cs + s.lead + (s.gh+qh)*s.pitch + qw
				p++
			}
		}
	}
}

// stackArgs is a copy between nb images and their stack form (a chunk's, on its goroutine), one
// (image, channel) plane per index: fill (x planes → stack, each of its phases at strides, padding zeroed), extract (virtual columns of a K×nv
// matrix → y planes, y = beta·y + value), or toVirtual (dy planes → the virtual layout of a K×nv
// matrix, garbage columns zeroed).
type stackArgs struct {
	s             stackPlan
	op            stackOp
	planes        int // channels per image of the tensor side
	n0, nb        int
	tensor, stack []float32
	ld            int // channel (fill) or row (extract, toVirtual) stride on the stack side
	beta          float32
}

type stackOp int

const (
	stackFill stackOp = iota
	stackExtract
	stackToVirtual
)

func (a *stackArgs) run(lo, hi int) {
	s, g := &a.s, &a.s.g
	for u := lo; u < hi; u++ {
		i, c := u/a.planes, u%a.planes
		switch a.op {
		case stackFill:
			x := &s.x
			plane := a.tensor[((a.n0+i)*a.planes+c)*x.H*x.W:][:x.H*x.W]
			for ph := range x.StrideH {
				if x.StrideW == 2 && s.phase[ph][0] >= 0 {
					a.fillW2(plane, c, i, ph)
					continue
				}
				for pw := range x.StrideW {
					if s.phase[ph][pw] >= 0 {
						a.fill(plane, c*s.np+int(s.phase[ph][pw]), i, ph, pw)
					}
				}
			}
		case stackExtract:
			out := a.tensor[((a.n0+i)*a.planes+c)*g.OutH*g.OutW:][:g.OutH*g.OutW]
			// The virtual columns are the rows of one phase, pitch floats apart.
			joinRows(out, g.OutW, a.stack[c*a.ld+i*s.perImage:], 1, s.pitch, a.beta)
		case stackToVirtual:
			in := a.tensor[((a.n0+i)*a.planes+c)*g.OutH*g.OutW:][:g.OutH*g.OutW]
			dst := a.stack[c*a.ld+i*s.perImage:][:s.perImage]
			for oh := 0; oh < g.OutH; oh++ {
				row := dst[oh*s.pitch : (oh+1)*s.pitch]
				copy(row, in[oh*g.OutW:(oh+1)*g.OutW])
				for k := g.OutW; k < s.pitch; k++ {
					row[k] = 0
				}
			}
			clear(dst[g.OutH*s.pitch:])
		}
	}
}

// imageRows clears the zero rows of image i in stack channel cc and returns the offset of the
// image's first row.
func (a *stackArgs) imageRows(cc, i int) int {
	s, g := &a.s, &a.s.g
	base := cc * a.ld
	start := base + s.lead + (s.gh+i*(g.H+s.gh))*s.pitch
	// The zero rows above this image (for image 0, also the zeros before them), and for the
	// last image those below it and the slack after them, to the end of the channel. Each
	// plane clears its own gap, so the parallel copies never overlap.
	if i == 0 {
		clear(a.stack[base:start])
	} else {
		clear(a.stack[start-s.gh*s.pitch : start])
	}
	if i == a.nb-1 {
		clear(a.stack[start+g.H*s.pitch : base+a.ld])
	}
	return start
}

// fillW2 copies the phases (ph, 0) and, when a tap reads it, (ph, 1) of an input plane of image
// i and input channel c of a convolution with column stride 2: one pass over each input row,
// split into its even and odd columns by sgemm.DeinterleaveRows (on AVX-512 a plane a call, 16
// pairs a step, where fill's gather takes an element at a time: resnet20's stride-2
// convolutions spent more time in it than in their products).
func (a *stackArgs) fillW2(plane []float32, c, i, ph int) {
	s, g, x := &a.s, &a.s.g, &a.s.x
	start0, start1 := a.imageRows(c*s.np+int(s.phase[ph][0]), i), -1
	if s.phase[ph][1] >= 0 {
		start1 = a.imageRows(c*s.np+int(s.phase[ph][1]), i)
	}
	// Input rows ph, ph+sh, … fill the phase's first rows; a phase with fewer rows than ⌈H/sh⌉
	// has zero rows after them.
	rows := min(ceilDiv(x.H-ph, x.StrideH), g.H)
	stack0 := a.stack[start0 : start0+g.H*s.pitch]
	var stack1 []float32
	if start1 >= 0 {
		stack1 = a.stack[start1 : start1+g.H*s.pitch]
		clear(stack1[rows*s.pitch:])
	}
	clear(stack0[rows*s.pitch:])
	sgemm.DeinterleaveRows(plane[ph*x.W:], x.StrideH*x.W, x.W, stack0, stack1, s.pitch, rows)
}

// fill copies phase (ph, pw) of an input plane of image i (the whole plane at stride 1) into
// stack channel cc.
func (a *stackArgs) fill(plane []float32, cc, i, ph, pw int) {
	s, g, x := &a.s, &a.s.g, &a.s.x
	start := a.imageRows(cc, i) // image i's first row
	for ih := 0; ih < g.H; ih++ {
		row := a.stack[start+ih*s.pitch : start+(ih+1)*s.pitch]
		if x.StrideH == 1 && x.StrideW == 1 {
			copy(row, plane[ih*g.W:(ih+1)*g.W])
			clear(row[g.W:])
			continue
		}
		src := x.StrideH*ih + ph // the input row
		if src >= x.H {
			clear(row) // a phase with fewer rows than ⌈H/sh⌉
			continue
		}
		in := plane[src*x.W : (src+1)*x.W]
		j := 0
		for iw := pw; iw < x.W; iw += x.StrideW {
			row[j] = in[iw]
			j++
		}
		clear(row[j:])
	}
}

// stackState is the Device's scratch for the stack form: the tap offsets, the packed filters,
// the chunks' scratch and per-chunk filter gradients, and the argument blocks of its parallel
// calls.
type stackState struct {
	off       []int
	ap        []float32 // the filters packed for sgemm.SgemmShiftedPacked
	parts     []float32 // the filter gradient's per-chunk products [chunk][K][C·R·S]
	chunkPool           // the chunks' scratch (stack and product)
	chunk     stackChunkArgs
	phases    phaseChunkArgs // the phase form's chunks (conv_phases.go)
}

// stackTargetFloats is the scratch a chunk of the stack form aims at (the stack and the product,
// rows floats per virtual column): 512 KiB, half of the build machine's 1 MiB L2. Each chunk of
// images runs its copy in, product and copy out on one core, in scratch of its own, as the
// Winograd form's chunks do. Before, the images went in groups of 2 MiB (at least 4096 virtual
// columns), each group a parallel copy in, a parallel product and a parallel copy out: a core's
// product read the stack the other core had filled (through the shared cache), and resnet20's
// stride-2 3×3 convolutions ran no faster on two cores than on one (2.6 ms per pass, about 55 %
// of one core's peak in the product).
const stackTargetFloats = 1 << 17

// stackMinChunks is the fewest chunks the stack form cuts a batch into (when it has the images),
// so that the cores share the work; by shape only, so that the filter gradient's sum of the
// chunks' products, in chunk order, does not depend on the core count.
const stackMinChunks = 8

// stackGroup sizes the chunks of the stack form: the images whose stack and product fill about
// d.stackFlts floats (rows per virtual column), at least one.
func (d *Device) stackGroup(s *stackPlan, rows int) int {
	per := max(rows*s.perImage, 1)
	return max(min(d.stackFlts/per, ceilDiv(s.g.N, stackMinChunks), convMaxFloats/per), 1)
}

// stackOffsets returns the tap offsets of a stack of nb images.
func (d *Device) stackOffsets(s *stackPlan, nb int) []int {
	crs := s.x.C * s.x.R * s.x.S
	if cap(d.stk.off) < crs {
		d.stk.off = make([]int, crs)
	}
	off := d.stk.off[:crs]
	s.offsets(off, nb)
	return off
}

// stackChunks lays out the chunks of the stack form: nb images each, the stack's channel stride
// cs and the product's row stride ld (whole vectors, so that the products store their last
// columns in place), and sizes the chunk scratch.
func (d *Device) stackChunks(s *stackPlan) (nb, cs, ld int) {
	g := &s.g
	nb = d.stackGroup(s, g.C+g.K)
	cs = s.channelStride(nb)
	ld = (nb*s.perImage + 15) &^ 15
	d.stk.size = g.C*cs + g.K*ld
	return nb, cs, ld
}

// convForwardStack sets y = beta·y + x ⋆ w through the stack, one chunk of images per core at a
// time (stackChunkArgs).
func (d *Device) convForwardStack(s *stackPlan, xs, ws, ys []float32, beta float32) {
	g, st := &s.g, &d.stk
	crs := s.x.C * s.x.R * s.x.S
	nb, cs, ld := d.stackChunks(s)
	// The offsets depend on the channel stride, that of nb images for every chunk (a short
	// last chunk leaves the end of each channel unused).
	off := d.stackOffsets(s, nb)
	// The filters are the A of every chunk's product: packed once here (only the AVX512 path
	// reads the packing).
	var ap []float32
	if sgemm.Current() == sgemm.AVX512 {
		n := sgemm.ShiftedALen(g.K, crs)
		if cap(st.ap) < n {
			st.ap = make([]float32, n)
		}
		ap = st.ap[:n]
		sgemm.PackShiftedA(ap, g.K, crs, ws, crs)
	}
	args := stackChunkArgs{s: *s, x: xs, w: ws, y: ys, ap: ap, off: off, nb: nb, cs: cs, ld: ld, beta: beta, st: &st.chunkPool}
	launch(d, &st.chunk, args, ceilDiv(g.N, nb), 1)
}

// convFilterStack adds the filter gradient of x and dy to dw through the stack: each chunk's
// product dyv·Bᵀ lands in a part of its own, and the parts are added in chunk order (so that the
// sum does not depend on the core count) before dw += their sum.
func (d *Device) convFilterStack(s *stackPlan, xs, dys, dws []float32) {
	g, st := &s.g, &d.stk
	crs := s.x.C * s.x.R * s.x.S
	nb, cs, ld := d.stackChunks(s)
	off := d.stackOffsets(s, nb)
	chunks, kc := ceilDiv(g.N, nb), g.K*crs
	if cap(st.parts) < chunks*kc {
		st.parts = make([]float32, chunks*kc)
	}
	parts := st.parts[:chunks*kc]
	args := stackChunkArgs{s: *s, x: xs, y: dys, parts: parts, off: off, nb: nb, cs: cs, ld: ld, st: &st.chunkPool}
	launch(d, &st.chunk, args, chunks, 1)
	addTo(dws, d.sumParts(parts, kc))
}

// stackChunkArgs: the stack form of a convolution, one chunk of nb images per index, each from
// its copy in through its product to its copy out on one goroutine (the calls below run their
// parallel loops on it alone). Forward (parts nil): the stack of x, out = W·B and y = beta·y +
// out. Filter gradient: the stack of x, out = dy in virtual columns, and the chunk's part =
// out·Bᵀ (K × C·R·S).
type stackChunkArgs struct {
	s          stackPlan
	x, w, y    []float32 // y: the output, or dy for the filter gradient
	ap         []float32 // w packed (nil: packed in the products)
	parts      []float32
	off        []int
	nb, cs, ld int
	beta       float32
	st         *chunkPool
}

func (a *stackChunkArgs) run(lo, hi int) {
	s, g := &a.s, &a.s.g
	crs := s.x.C * s.x.R * s.x.S
	buf := a.st.get()
	defer a.st.put(buf)
	stack, out := buf[:g.C*a.cs], buf[g.C*a.cs:]
	for ch := lo; ch < hi; ch++ {
		n0 := ch * a.nb
		cur := min(a.nb, g.N-n0)
		fill := stackArgs{s: *s, op: stackFill, planes: s.x.C, n0: n0, nb: cur, tensor: a.x, stack: stack, ld: a.cs}
		fill.run(0, cur*s.x.C)
		if a.parts == nil {
			sgemm.SgemmShiftedPacked(g.K, cur*s.perImage, crs, 1, a.w, crs, a.ap, stack, a.off, 0, out, a.ld, true)
			ext := stackArgs{s: *s, op: stackExtract, planes: g.K, n0: n0, nb: cur, tensor: a.y, stack: out, ld: a.ld, beta: a.beta}
			ext.run(0, cur*g.K)
			continue
		}
		toV := stackArgs{s: *s, op: stackToVirtual, planes: g.K, n0: n0, nb: cur, tensor: a.y, stack: out, ld: a.ld}
		toV.run(0, cur*g.K)
		kc := g.K * crs
		sgemm.SgemmShiftedT(g.K, crs, cur*s.perImage, 1, out, a.ld, stack, a.off, 0, a.parts[ch*kc:(ch+1)*kc], crs)
	}
}
