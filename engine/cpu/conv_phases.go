package cpu

import (
	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// The backward-data pass of a strided convolution, phase by phase. With stride (sh, sw), input
// pixel (sh·i + a, sw·j + b) of phase (a, b) receives
//
//	dx[c, sh·i+a, sw·j+b] = Σ_k Σ_{r ∈ R_a, t ∈ S_b} W[k, c, r, t] · dy[k, i + qh(r), j + qw(t)],
//
// where R_a are the filter rows with (a + PadH − r) divisible by sh and qh(r) = (a + PadH − r)/sh
// (columns alike): each phase of dx is a stride-1 correlation of dy with the taps that reach it.
// So the pass runs as stride-1 products on one zero-padded stack of dy (conv_stack.go's layout,
// K channels of OutH×OutW planes) with sgemm.SgemmShifted, one per phase with taps (C rows, depth
// K·|R_a|·|S_b|), and one parallel pass scatters the phases' virtual columns into dx (with beta;
// phases no tap reaches get beta·dx). Every phase's taps are a subset of W's, so together the
// phases' products do the convolution's multiply-adds once, where the explicit form wrote the
// C·R·S × OutH·OutW col matrix and scattered it back with col2im.
//
// Results do not depend on the core count: each dx element is one sgemm sum in a fixed order.

// phaseAxis is one axis of the phase split: phase a is reached by the taps first[a],
// first[a]+st, … (count[a] of them), shifted by q0[a], q0[a]−1, … .
type phaseAxis struct {
	first, count, q0 [maxStackStride]int
	st               int
	qmin, qmax       int // the range of the shifts over every phase
}

// splitAxis splits a filter axis of n taps with padding pad and stride st into phases.
func splitAxis(n, pad, st int) phaseAxis {
	ax := phaseAxis{st: st, qmin: 1 << 30, qmax: -1 << 30}
	for a := range st {
		// Tap r reaches phase a when a + pad − r is a multiple of st, with shift (a+pad−r)/st.
		q, r := floorMod(a+pad, st)
		if r >= n {
			continue
		}
		ax.first[a], ax.count[a], ax.q0[a] = r, ceilDiv(n-r, st), q
		ax.qmin, ax.qmax = min(ax.qmin, q-ax.count[a]+1), max(ax.qmax, q)
	}
	return ax
}

// phasePlan is the phase form of a strided convolution's backward-data pass.
type phasePlan struct {
	g       engine.ConvGeom // the convolution
	s       stackPlan       // the stack of dy: a stride-1 convolution over OutH×OutW planes
	rows    phaseAxis
	cols    phaseAxis
	phases  [maxStackStride * maxStackStride]phaseOf // the phases with taps, in (a, b) order
	nphases int
}

// phaseOf is phase (a, b), one with taps: its filter matrix (C × depth) starts at wOff in the
// packed filters and its depth tap offsets at offOff.
type phaseOf struct {
	a, b         int
	depth        int
	wOff, offOff int
}

// planPhases returns the phase form of g's backward-data pass, and false when g has unit
// strides, strides above maxStackStride, or a geometry the stack cannot hold (those keep the
// explicit col2im form), or when the stack form is not in use.
func (d *Device) planPhases(g engine.ConvGeom) (phasePlan, bool) {
	sh, sw := g.StrideH, g.StrideW
	if sh == 1 && sw == 1 || sh > maxStackStride || sw > maxStackStride {
		return phasePlan{}, false
	}
	p := phasePlan{g: g, rows: splitAxis(g.R, g.PadH, sh), cols: splitAxis(g.S, g.PadW, sw)}
	if p.rows.qmin > p.rows.qmax || p.cols.qmin > p.cols.qmax {
		return phasePlan{}, false // no tap reaches any input pixel
	}
	// The stack of dy as the input of a stride-1 convolution whose taps shift by qmin…qmax
	// and whose output is the largest phase (phase 0: ⌈H/sh⌉ × ⌈W/sw⌉).
	t := engine.ConvGeom{N: g.N, C: g.K, H: g.OutH, W: g.OutW, K: g.C,
		R: p.rows.qmax - p.rows.qmin + 1, S: p.cols.qmax - p.cols.qmin + 1, StrideH: 1, StrideW: 1,
		PadH: -p.rows.qmin, PadW: -p.cols.qmin, OutH: ceilDiv(g.H, sh), OutW: ceilDiv(g.W, sw)}
	if t.PadH < 0 || t.PadW < 0 {
		return phasePlan{}, false
	}
	s, ok := d.planStack(t)
	if !ok {
		return phasePlan{}, false
	}
	p.s = s
	wOff, offOff := 0, 0
	for a := range sh {
		for b := range sw {
			if p.rows.count[a] == 0 || p.cols.count[b] == 0 {
				continue
			}
			depth := g.K * p.rows.count[a] * p.cols.count[b]
			p.phases[p.nphases] = phaseOf{a: a, b: b, depth: depth, wOff: wOff, offOff: offOff}
			p.nphases++
			wOff += g.C * depth
			offOff += depth
		}
	}
	return p, true
}

// pack writes each phase's filter matrix (C × depth, column (k, r, t)) into w and its tap
// offsets on a stack of channel stride cs into off.
func (p *phasePlan) pack(ws, w []float32, off []int, cs int) {
	g, s := &p.g, &p.s
	for _, ph := range p.phases[:p.nphases] {
		col := 0
		for k := 0; k < g.K; k++ {
			for i := range p.rows.count[ph.a] {
				r, qh := p.rows.first[ph.a]+i*g.StrideH, p.rows.q0[ph.a]-i
				for j := range p.cols.count[ph.b] {
					t, qw := p.cols.first[ph.b]+j*g.StrideW, p.cols.q0[ph.b]-j
					off[ph.offOff+col] = k*cs + s.lead + (s.gh+qh)*s.pitch + qw
					for c := 0; c < g.C; c++ {
						w[ph.wOff+c*ph.depth+col] = ws[((k*g.C+c)*g.R+r)*g.S+t]
					}
					col++
				}
			}
		}
	}
}

// convDataPhases sets dx = beta·dx + ∂(x ⋆ w)/∂x · dy through the phase form, one chunk of
// images per core at a time (phaseChunkArgs), as the stack form's forward.
func (d *Device) convDataPhases(p *phasePlan, dys, ws, dxs []float32, beta float32) {
	g, s := &p.g, &p.s
	rows := g.K + p.nphases*g.C
	nb := d.stackGroup(s, rows)
	cs := s.channelStride(nb)
	ld := (nb*s.perImage + 15) &^ 15
	d.stk.size = g.K*cs + p.nphases*g.C*ld
	if cap(d.wflip) < len(ws) {
		d.wflip = make([]float32, len(ws))
	}
	crs := g.K * g.R * g.S // at most: taps no phase reads are left out
	if cap(d.stk.off) < crs {
		d.stk.off = make([]int, crs)
	}
	w, off := d.wflip[:len(ws)], d.stk.off[:crs]
	p.pack(ws, w, off, cs)
	args := phaseChunkArgs{p: *p, dy: dys, w: w, dx: dxs, off: off, nb: nb, cs: cs, ld: ld, beta: beta, st: &d.stk.chunkPool}
	launch(d, &d.stk.phases, args, ceilDiv(g.N, nb), 1)
}

// phaseChunkArgs: the phase form of a backward-data pass, one chunk of nb images per index, each
// from the stack of its dy through the phases' products to the scatter into dx on one goroutine.
type phaseChunkArgs struct {
	p          phasePlan
	dy, w, dx  []float32
	off        []int
	nb, cs, ld int
	beta       float32
	st         *chunkPool
}

func (a *phaseChunkArgs) run(lo, hi int) {
	g, s := &a.p.g, &a.p.s
	buf := a.st.get()
	defer a.st.put(buf)
	stack, out := buf[:g.K*a.cs], buf[g.K*a.cs:]
	for ch := lo; ch < hi; ch++ {
		n0 := ch * a.nb
		cur := min(a.nb, g.N-n0)
		fill := stackArgs{s: *s, op: stackFill, planes: g.K, n0: n0, nb: cur, tensor: a.dy, stack: stack, ld: a.cs}
		fill.run(0, cur*g.K)
		for i, ph := range a.p.phases[:a.p.nphases] {
			sgemm.SgemmShiftedPacked(g.C, cur*s.perImage, ph.depth, 1, a.w[ph.wOff:], ph.depth, nil, stack, a.off[ph.offOff:], 0,
				out[i*g.C*a.ld:(i+1)*g.C*a.ld], a.ld, true)
		}
		sc := phaseScatterArgs{p: a.p, dx: a.dx, out: out, ld: a.ld, n0: n0, beta: a.beta}
		sc.run(0, cur*g.C)
	}
}

// phaseScatterArgs writes the phases of a chunk's dx planes from their products' virtual
// columns (dx = beta·dx + value, as storeBeta), one (image, channel) plane per index; pixels of
// the phases no tap reaches get beta·dx (as scaleBeta).
type phaseScatterArgs struct {
	p    phasePlan
	dx   []float32
	out  []float32
	ld   int
	n0   int
	beta float32
}

func (a *phaseScatterArgs) run(lo, hi int) {
	g, s, beta := &a.p.g, &a.p.s, a.beta
	sh, sw := g.StrideH, g.StrideW
	hw := g.H * g.W
	for u := lo; u < hi; u++ {
		i, c := u/g.C, u%g.C
		plane := a.dx[((a.n0+i)*g.C+c)*hw:][:hw]
		pi := 0 // the next phase with taps
		for pa := range sh {
			var src [maxStackStride][]float32 // the virtual columns of phases (pa, pb) (nil: no taps)
			tapped := false
			for pb := range sw {
				if pi < a.p.nphases && a.p.phases[pi].a == pa && a.p.phases[pi].b == pb {
					src[pb] = a.out[(pi*g.C+c)*a.ld+i*s.perImage:]
					pi++
					tapped = true
				}
			}
			rows := ceilDiv(g.H-pa, sh)
			if !tapped {
				for r := range rows {
					scaleBeta(plane[(sh*r+pa)*g.W:][:g.W], beta) // no taps reach these rows
				}
				continue
			}
			if sw == 2 && src[0] != nil {
				// Both column phases of each row in one pass (on AVX-512 a plane a call).
				sgemm.InterleaveRows(plane[pa*g.W:], sh*g.W, g.W, src[0], src[1], s.pitch, rows, beta)
				continue
			}
			for r := range rows {
				row := plane[(sh*r+pa)*g.W:][:g.W]
				for pb := range sw {
					if src[pb] == nil {
						for j := pb; j < g.W; j += sw {
							switch beta {
							case 0:
								row[j] = 0
							case 1:
							default:
								row[j] *= beta
							}
						}
						continue
					}
					for j, x := range src[pb][r*s.pitch:][:ceilDiv(g.W-pb, sw)] {
						switch beta {
						case 0:
							row[sw*j+pb] = x
						case 1:
							row[sw*j+pb] += x
						default:
							row[sw*j+pb] = beta*row[sw*j+pb] + x
						}
					}
				}
			}
		}
	}
}
