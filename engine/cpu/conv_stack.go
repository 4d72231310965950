package cpu

import (
	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// The padded-stack form of a stride-1 convolution. The input planes of a group of images are
// copied, channel by channel, into one zero-padded "stack": each row of W values is followed by
// gw zeros (which are also the left padding of the next row), and each image by gh zero rows
// (the bottom padding of one image and the top padding of the next), with gh zero rows and gw
// zeros before the first:
//
//	stack[c·cs + lead + (gh + i·(H+gh) + ih)·pitch + iw] = x[i, c, ih, iw],   pitch = W + gw.
//
// Output pixel (i, oh, ow) becomes the "virtual" column j = i·(H+gh)·pitch + oh·pitch + ow, and
// tap (c, r, s) reads stack[off(c,r,s) + j] with off(c,r,s) = c·cs + lead + (gh-PadH+r)·pitch +
// s-PadW: the im2col matrix of the group is B(p, j) = stack[off[p] + j], a shifted product that
// sgemm runs without generating or packing B (sgemm.SgemmShifted). The virtual columns include
// gw garbage columns per row and gh garbage rows per image (with 3×3 taps 6% more columns on
// 32×32 planes, 13% on 16×16, 27% on 8×8; 31% on lenet's 14×14 with 5×5 taps), which are
// computed and dropped; the stack costs one copy of the input instead of R·S copies into im2col
// panels. On the AVX-512 build machine this took resnet20's stride-1 convolutions from 55–90 to
// 120–136 GFLOP/s per core-second and lenet's 20→40 from 65–76 to 105–126.
//
// The backward-data pass of a stride-1 convolution is a forward convolution of dy with the
// flipped, transposed filters (see transposedGeom) and runs the same way. The filter gradient
// is dW += dyv·Bᵀ (sgemm.SgemmShiftedT), with dyv the output gradient laid out in virtual
// columns and zeros in the garbage ones. (A NaN or Inf in x can therefore reach a filter
// gradient entry through a garbage column, where the im2col form would multiply it by nothing.)
//
// Results do not depend on the core count: every output element is one sgemm sum in a fixed
// order, and the copies in and out write disjoint memory.

// stackPlan is the stack layout of a convolution for groups of up to nb images.
type stackPlan struct {
	g        engine.ConvGeom
	gh, gw   int // zero rows between images, zero columns between rows
	pitch    int // W + gw
	perImage int // virtual columns per image: (H+gh)·pitch
	lead     int // zeros before the first row of a channel: gw
	span     int // the slack a window needs past the virtual columns of nb images
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

// planStack returns the stack layout of g, and false when g has strides, or padding of a whole
// kernel or more, so that the stack cannot hold it (those keep the im2col form), or when the
// stack form is not in use (see stackUse).
func (d *Device) planStack(g engine.ConvGeom) (stackPlan, bool) {
	switch d.stackForm {
	case stackNever:
		return stackPlan{}, false
	case stackAuto:
		if !sgemm.ShiftedInPlace() {
			return stackPlan{}, false
		}
	}
	if g.StrideH != 1 || g.StrideW != 1 {
		return stackPlan{}, false
	}
	bottom := g.OutH - 1 + g.R - g.PadH - g.H // padding below and right of the input
	right := g.OutW - 1 + g.S - g.PadW - g.W
	s := stackPlan{g: g, gh: max(g.PadH, bottom, 0), gw: max(g.PadW, right, 0)}
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

// offsets fills off[p] for the C·R·S taps p = (c, r, s) of a stack of nb images.
func (s *stackPlan) offsets(off []int, nb int) {
	g, cs := &s.g, s.channelStride(nb)
	p := 0
	for c := 0; c < g.C; c++ {
		for r := 0; r < g.R; r++ {
			for t := 0; t < g.S; t++ {
				off[p] = c*cs + s.lead + (s.gh-g.PadH+r)*s.pitch + t - g.PadW
				p++
			}
		}
	}
}

// stackArgs is a parallel copy between nb images and their stack form, one (image, channel)
// plane per index: fill (x planes → stack, padding zeroed), extract (virtual columns of a K×nv
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
			plane := a.tensor[((a.n0+i)*a.planes+c)*g.H*g.W:][:g.H*g.W]
			base := c * a.ld
			start := base + s.lead + (s.gh+i*(g.H+s.gh))*s.pitch // image i's first row
			// The zero rows above this image (for image 0, also the zeros before them), and
			// for the last image those below it and the slack after them, to the end of the
			// channel. Each plane clears its own gap, so the parallel copies never overlap.
			if i == 0 {
				clear(a.stack[base:start])
			} else {
				clear(a.stack[start-s.gh*s.pitch : start])
			}
			for ih := 0; ih < g.H; ih++ {
				row := a.stack[start+ih*s.pitch : start+(ih+1)*s.pitch]
				copy(row, plane[ih*g.W:(ih+1)*g.W])
				for k := g.W; k < s.pitch; k++ {
					row[k] = 0
				}
			}
			if i == a.nb-1 {
				clear(a.stack[start+g.H*s.pitch : base+a.ld])
			}
		case stackExtract:
			out := a.tensor[((a.n0+i)*a.planes+c)*g.OutH*g.OutW:][:g.OutH*g.OutW]
			src := a.stack[c*a.ld+i*s.perImage:]
			for oh := 0; oh < g.OutH; oh++ {
				o, v := out[oh*g.OutW:(oh+1)*g.OutW], src[oh*s.pitch:oh*s.pitch+g.OutW]
				switch a.beta {
				case 0:
					copy(o, v)
				case 1:
					addTo(o, v)
				default:
					for k, x := range v {
						o[k] = a.beta*o[k] + x
					}
				}
			}
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

// stackState is the Device's scratch for the stack form: the tap offsets and the argument
// block of its parallel copies.
type stackState struct {
	off  []int
	args stackArgs
}

// stackGroup sizes the image groups of the stack form: enough virtual columns to make sgemm's
// products wide (convCols, as the im2col form), within the scratch bound.
func (d *Device) stackGroup(s *stackPlan, rows int) int {
	g := &s.g
	nb := ceilDiv(d.convCols, s.perImage)
	nb = max(nb, ceilDiv(d.convFlops, max(2*g.K*g.C*g.R*g.S*s.perImage, 1)), 1)
	return min(nb, g.N, max(convMaxFloats/(rows*s.perImage), 1))
}

// stackCopy runs one of the parallel copies.
func (d *Device) stackCopy(s *stackPlan, op stackOp, planes, n0, nb int, tensor, stack []float32, ld int, beta float32) {
	args := stackArgs{s: *s, op: op, planes: planes, n0: n0, nb: nb, tensor: tensor, stack: stack, ld: ld, beta: beta}
	grain := max(grainStream/max(s.perImage, 1), 1)
	launch(d, &d.stk.args, args, nb*planes, grain)
}

// stackOffsets returns the tap offsets of a stack of nb images.
func (d *Device) stackOffsets(s *stackPlan, nb int) []int {
	crs := s.g.C * s.g.R * s.g.S
	if cap(d.stk.off) < crs {
		d.stk.off = make([]int, crs)
	}
	off := d.stk.off[:crs]
	s.offsets(off, nb)
	return off
}

// convForwardStack sets y = beta·y + x ⋆ w through the stack.
func (d *Device) convForwardStack(s *stackPlan, xs, ws, ys []float32, beta float32) {
	g := &s.g
	crs := g.C * g.R * g.S
	nb := d.stackGroup(s, g.C+g.K)
	cs := s.channelStride(nb)
	ld := nb * s.perImage
	buf := d.scratch(g.C*cs + g.K*ld)
	stack, out := buf[:g.C*cs], buf[g.C*cs:]
	// The offsets depend on the channel stride, that of nb images for every group (a short
	// last group leaves the end of each channel unused).
	off := d.stackOffsets(s, nb)
	for n0 := 0; n0 < g.N; n0 += nb {
		cur := min(nb, g.N-n0)
		d.stackCopy(s, stackFill, g.C, n0, cur, xs, stack, cs, 0)
		sgemm.SgemmShifted(g.K, cur*s.perImage, crs, 1, ws, crs, stack, off, 0, out, ld)
		d.stackCopy(s, stackExtract, g.K, n0, cur, ys, out, ld, beta)
	}
}

// convFilterStack adds the filter gradient of x and dy to dw through the stack.
func (d *Device) convFilterStack(s *stackPlan, xs, dys, dws []float32) {
	g := &s.g
	crs := g.C * g.R * g.S
	nb := d.stackGroup(s, g.C+g.K)
	cs := s.channelStride(nb)
	ld := nb * s.perImage
	buf := d.scratch(g.C*cs + g.K*ld)
	stack, dyv := buf[:g.C*cs], buf[g.C*cs:]
	off := d.stackOffsets(s, nb)
	for n0 := 0; n0 < g.N; n0 += nb {
		cur := min(nb, g.N-n0)
		d.stackCopy(s, stackFill, g.C, n0, cur, xs, stack, cs, 0)
		d.stackCopy(s, stackToVirtual, g.K, n0, cur, dys, dyv, ld, 0)
		// dw (K × CRS) += dyv (K × virtual columns) · Bᵀ, B(p, j) = stack[off[p] + j].
		sgemm.SgemmShiftedT(g.K, crs, cur*s.perImage, 1, dyv, ld, stack, off, 1, dws, crs)
	}
}
