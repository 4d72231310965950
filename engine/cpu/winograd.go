package cpu

import (
	"os"
	"sync"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// Winograd F(2×2, 3×3) for 3×3, stride-1, pad-1 ("same") convolutions. Each 2×2 block of
// output pixels (a tile) is computed from the 4×4 block of input around it as
//
//	Y = Aᵀ [ Σ_c (G g_kc Gᵀ) ⊙ (Bᵀ d_c B) ] A,
//
// which costs 16 multiply-adds per (tile, c, k) instead of the 36 of the direct form (2.25×
// fewer). With U[ξ][k][c] = (G g_kc Gᵀ)_ξ (the filters, transformed once per call) and
// V[ξ][c][t] = (Bᵀ d_ct B)_ξ (the input tiles t of a chunk of images), the sum over c is 16
// independent products M[ξ] = U[ξ]·V[ξ] (K×C by C×T), run by sgemm.SgemmShifted with B read in
// place from V (the rows of V[ξ] are windows of V at offsets (ξ·C + c)·tp). The output transform
// Aᵀ M A then writes y = conv + beta·y.
//
//	Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],
//	Aᵀ = [1 1 1 0; 0 1 -1 -1].
//
// Tiles that reach past an odd H or W read zeros there and drop the outputs that fall outside.
// The backward data pass of such a convolution is again one (transposedGeom: flipped, transposed
// filters, padding 3-1-1 = 1), so it takes this form too. The filter gradient is the transposed
// algorithm F(3×3, 2×2) on the same input tiles (convFilterWinograd).
//
// The tiles are "virtual" (sgemm's winograd.go): each tile row has one garbage tile past its end
// (6% more tiles on 32×32 planes, 11% on 16×16, 25% on 8×8), computed and dropped, so that the
// transforms run 16 tiles per AVX-512 step over whole planes. As in the stack form, a NaN or Inf
// in x can reach a filter-gradient entry through a garbage tile.
//
// Images run in chunks sized so that V and M (16·(C+K) floats per tile) stay near winoTargetFloats.
// Each chunk runs from its input transform through its 16 (36) products to its output transform on
// one goroutine (winoChunkArgs); chunks write disjoint outputs, and every output element is one
// fixed sequence of float32 operations, so results are bit-identical whatever the core count.
//
// 5×5, stride-1, pad-2 convolutions (lenet-lca's) take F(2×2, 5×5) the same way, on 6×6 input
// tiles: 36 multiply-adds per (tile, c, k) instead of 100 (2.78× fewer), 36 products M[ξ], two
// garbage tiles per tile row, and the transforms of sgemm's winograd5.go. Only the tiles and the
// transforms differ (winoTile); chunks, products and output stores are shared.
//
// Accuracy: the transforms add and subtract up to 16 terms (input) and 9 (output) around a sum of
// C products, so the error is a small multiple of the direct form's; for resnet20's shapes the
// maximum error relative to the float64 reference's largest output is about 1e-6 (the tests).
// F(2×2, 5×5)'s transforms (coefficients up to 5 in Bᵀ, down to 1/24 in G) cost more: on
// lenet-lca's conv2, 2–4e-6 forward and backward data and up to 1.1e-5 for the filter gradient,
// against the direct form's 3–5e-7 (TestWinogradError). GAZE_WINOGRAD=off takes the direct form.

// winoUse says when 3×3 and 5×5 "same" stride-1 convolutions take the Winograd form.
type winoUse int8

const (
	winoAuto winoUse = iota // where it was measured faster (useWinograd)
	winoAlways
	winoNever
)

// winoFromEnv reads GAZE_WINOGRAD (on, off; anything else or unset: auto), for benchmarks that
// compare the forms within one binary.
func winoFromEnv() winoUse {
	switch os.Getenv("GAZE_WINOGRAD") {
	case "on", "1":
		return winoAlways
	case "off", "0":
		return winoNever
	}
	return winoAuto
}

// winoTargetFloats is the scratch (V and M) a chunk of images aims at: 2 MiB. On resnet20's
// shapes (one thread, three alternating rounds) 2 and 4 MiB ran 32→32 and 64→64 at 4.2–4.5 CPU ms
// per call, 1 MiB at 5.0–5.4 (more, smaller products, each packing its U), 8 MiB at 4.7–5.9 and
// 16 MiB at 6.7–7.5; 16→16 on 32×32 was best at 0.5–2 MiB.
const winoTargetFloats = 1 << 19

// winoTile is one of the Winograd forms: F(2×2, r×r) on (r+1)×(r+1) input tiles, r = 3 or 5.
type winoTile struct {
	r     int // kernel size; the padding is r/2
	xi    int // transformed components per tile: (r+1)²
	extra int // garbage tiles past the end of each tile row: r/2
}

// winogradFits returns the Winograd form of g, and false when g is not a convolution one computes
// (a "same" stride-1 3×3 or 5×5 convolution whose planes fit the transforms' buffers).
func winogradFits(g engine.ConvGeom) (winoTile, bool) {
	r := g.R
	if (r != 3 && r != 5) || g.S != r || g.StrideH != 1 || g.StrideW != 1 || g.PadH != r/2 || g.PadW != r/2 ||
		g.OutH != g.H || g.OutW != g.W || g.C <= 0 || g.K <= 0 {
		return winoTile{}, false
	}
	t := winoTile{r: r, xi: (r + 1) * (r + 1), extra: r / 2}
	th, tw := (g.H+1)/2, (g.W+1)/2
	rt := tw + t.extra
	return t, 2*rt*(th+t.extra)+2*t.extra <= winoPad
}

// in, out and grad run the form's tile transforms (sgemm.WinoIn and Wino5In, and so on).
func (t winoTile) in(pe, po []float32, rowTiles, n int, v []float32, vs int) {
	if t.r == 3 {
		sgemm.WinoIn(pe, po, rowTiles, n, v, vs)
	} else {
		sgemm.Wino5In(pe, po, rowTiles, n, v, vs)
	}
}

func (t winoTile) out(m []float32, ms, n int, qe, qo []float32) {
	if t.r == 3 {
		sgemm.WinoOut(m, ms, n, qe, qo)
	} else {
		sgemm.Wino5Out(m, ms, n, qe, qo)
	}
}

func (t winoTile) grad(qe, qo []float32, n int, w []float32, ws int) {
	if t.r == 3 {
		sgemm.WinoGrad(qe, qo, n, w, ws)
	} else {
		sgemm.Wino5Grad(qe, qo, n, w, ws)
	}
}

// g is the filter transform G of the form ((r+1)×r, row-major).
func (t winoTile) g() []float64 {
	if t.r == 3 {
		return winoG3[:]
	}
	return winoG5[:]
}

var (
	winoG3 = [...]float64{1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1}
	winoG5 = [...]float64{
		1.0 / 4, 0, 0, 0, 0,
		-1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6,
		-1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6,
		1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 3, 2.0 / 3,
		1.0 / 24, -1.0 / 12, 1.0 / 6, -1.0 / 3, 2.0 / 3,
		0, 0, 0, 0, 1,
	}
)

// useWinograd says whether convForward takes the Winograd form for g.
func (d *Device) useWinograd(g engine.ConvGeom) bool {
	t, ok := winogradFits(g)
	if !ok {
		return false
	}
	switch d.winoForm {
	case winoAlways:
		return true
	case winoNever:
		return false
	}
	// Auto: on the AVX-512 path (the others transform tiles one at a time in Go), for at least
	// 32 input and output channels. The transforms cost the same per pixel and channel whatever
	// C and K, and the products have depth C (K for backward data), so the form pays where the
	// channels are many. Measured on the AVX-512 build machine (CPU ms per call at one thread,
	// N = 128, medians of seven alternating rounds; README in
	// bench/results/cpu-2026-12-04/resnet20-winograd): forward 32→32 on 16×16 3.40 against the
	// stack form's 4.08, 64→64 on 8×8 3.20 against 4.38 (backward data the same), but 16→16 on
	// 32×32 4.70 against 3.95 (products of depth 16 and four times the tiles per flop of 8×8).
	if t.r == 5 {
		// F(2×2, 5×5) saves 2.78× of the multiply-adds against 2.25×, on the same transforms'
		// cost per pixel and channel.
		return sgemm.Current() == sgemm.AVX512 && min(g.C, g.K) >= winoMin5
	}
	return sgemm.Current() == sgemm.AVX512 && min(g.C, g.K) >= 32
}

// winoMin5 is the fewest channels (in and out) for which 5×5 convolutions take the Winograd form.
const winoMin5 = 16

// winoState is the Device's scratch for the Winograd form.
type winoState struct {
	u     []float32 // transformed filters [ξ][K][C] (ξ stride K·C + 16)
	off   []int     // window offsets of V ([ξ][C]) or of Ŷ ([ξ][K])
	chunk winoChunkArgs
	filt  winoFilterArgs
	parts []float32   // the filter gradient's per-chunk products [chunk][ξ][K][C] (or [C][K])
	size  int         // floats of a chunk's scratch (V, M and the plane buffers)
	mu    sync.Mutex  // guards free
	free  [][]float32 // chunk scratch buffers not in use
}

// transformFilters sets u[ξ·us + k·c + c] = (G w_kc Gᵀ)_ξ (in float64, rounded once). The ξ
// stride us is K·C plus one vector: at K·C (a power of two for resnet's 64→64, 16 KiB) the ξ
// streams fell into the same L1 sets and the transform cost 4% of the call.
func (t winoTile) transformFilters(u, w []float32, k, c, us int) {
	r, a, gm := t.r, t.r+1, t.g()
	var gg [6 * 5]float64 // G·g
	for kk := 0; kk < k; kk++ {
		for cc := 0; cc < c; cc++ {
			f := w[(kk*c+cc)*r*r:][:r*r]
			for i := 0; i < a; i++ {
				for q := 0; q < r; q++ {
					var s float64
					for p := 0; p < r; p++ {
						s += gm[i*r+p] * float64(f[p*r+q])
					}
					gg[i*r+q] = s
				}
			}
			for i := 0; i < a; i++ {
				for j := 0; j < a; j++ {
					var s float64
					for q := 0; q < r; q++ {
						s += gg[i*r+q] * gm[j*r+q]
					}
					u[(i*a+j)*us+kk*c+cc] = float32(s)
				}
			}
		}
	}
}

// winoLayout is the chunking of a Winograd call: nb images per chunk of tiles virtual tiles each
// (th tile rows of rt), and the row stride tp of the transformed planes (V, M, Ŷ), in tiles.
type winoLayout struct {
	th, tw, rt, tiles, nb, tp int
}

// layout chunks g's images so that the scratch (xi·(C+K) floats per tile) stays near flts, twice
// that for 5×5: lenet-lca's conv2 (one thread, N = 250) ran forward 13.5, 11.9, 9.9, 9.9 and 10.7
// ms per call at 1, 2, 4, 8 and 16 MiB, backward data 15.8, 13.9, 12.5, 12.4 and 13.5; its
// products are shallow (C = 20) and gain from more columns.
// tp is rounded to whole vectors and made an odd number of them: the xi transforms of a tile are
// written (read) as xi streams, and at power-of-two strides they fall into the same L1 sets and
// evict each other (the first version, with tp = 1024 and a ξ stride of 64 KiB, spent 28 ms per
// resnet20 16→16 call in the input transform).
func (t winoTile) layout(g engine.ConvGeom, flts int) winoLayout {
	l := winoLayout{th: (g.H + 1) / 2, tw: (g.W + 1) / 2}
	l.rt = l.tw + t.extra
	l.tiles = l.th * l.rt
	if t.r == 5 {
		flts *= 2
	}
	l.nb = min(max(flts/(t.xi*(g.C+g.K)*l.tiles), 1), g.N)
	l.tp = (l.nb*l.tiles + 15) / 16 * 16
	if l.tp/16%2 == 0 {
		l.tp += 16
	}
	return l
}

// offsets returns the window offsets of V's rows for the products: off[ξ·C + c] = ξ·vs + c·tp.
func (st *winoState) offsets(xi, c, vs, tp int) []int {
	if cap(st.off) < xi*c {
		st.off = make([]int, xi*c)
	}
	off := st.off[:xi*c]
	for x := 0; x < xi; x++ {
		for cc := 0; cc < c; cc++ {
			off[x*c+cc] = x*vs + cc*tp
		}
	}
	return off
}

// convForwardWinograd sets y = beta·y + x ⋆ w for a geometry winogradFits accepts.
func (d *Device) convForwardWinograd(g engine.ConvGeom, xs, ws, ys []float32, beta float32) {
	t, _ := winogradFits(g)
	l := t.layout(g, d.winoFlts)
	vs, ms := g.C*l.tp+16, g.K*l.tp+16 // ξ strides of V and M
	st := &d.wino
	us := g.K*g.C + 16
	if cap(st.u) < t.xi*us {
		st.u = make([]float32, t.xi*us)
	}
	u := st.u[:t.xi*us]
	t.transformFilters(u, ws, g.K, g.C, us)
	off := st.offsets(t.xi, g.C, vs, l.tp)
	st.size = scratchSize(t.xi, vs, ms)
	args := winoChunkArgs{g: g, t: t, l: l, x: xs, y: ys, u: u, off: off, beta: beta, vs: vs, ms: ms, us: us, st: st}
	launch(d, &st.chunk, args, ceilDiv(g.N, l.nb), 1)
}

// winoChunkArgs: the Winograd form of a convolution, one chunk of nb images per index, each chunk
// from its input transform through its 16 products to its output transform on one goroutine,
// in scratch of its own (a chunk's V and M stay in that core's caches, and a call costs one
// parallel launch instead of three per chunk: with a launch per stage, two threads took 25–35%
// more CPU time than one on resnet20's 32→32, and more wall time).
type winoChunkArgs struct {
	g          engine.ConvGeom
	t          winoTile
	l          winoLayout
	x, y, u    []float32
	off        []int
	beta       float32
	vs, ms, us int // ξ strides of V, M and U
	st         *winoState
}

func (a *winoChunkArgs) run(lo, hi int) {
	g, l, xi := &a.g, &a.l, a.t.xi
	buf := a.st.get()
	defer a.st.put(buf)
	// The input planes' even and odd rows pe and po (transformInputs), and the output's even and
	// odd rows qe and qo. The padding is zeroed here; the planes overwrite the rest.
	v, m, pe, po, qe, qo := splitScratch(buf, xi, a.vs, a.ms)
	clear(pe)
	clear(po)
	hw, pitch := g.H*g.W, 2*l.rt
	for ch := lo; ch < hi; ch++ {
		n0 := ch * l.nb
		cur := min(l.nb, g.N-n0)
		a.t.transformInputs(g, l, a.x, n0, cur, pe, po, v, a.vs)
		for x := 0; x < xi; x++ {
			sgemm.SgemmShifted(g.K, cur*l.tiles, g.C, 1, a.u[x*a.us:], g.C, v, a.off[x*g.C:(x+1)*g.C], 0, m[x*a.ms:], l.tp)
		}
		for i := 0; i < cur; i++ {
			for k := 0; k < g.K; k++ {
				y := a.y[((n0+i)*g.K+k)*hw:][:hw]
				a.t.out(m[k*l.tp+i*l.tiles:], a.ms, l.tiles, qe, qo)
				for oh := 0; oh < g.H; oh++ {
					src := qe[oh/2*pitch:][:g.W]
					if oh%2 == 1 {
						src = qo[oh/2*pitch:][:g.W]
					}
					dst := y[oh*g.W : (oh+1)*g.W]
					storeBeta(dst, src, a.beta)
				}
			}
		}
	}
}

// transformInputs writes V (row c·tp + i·tiles of each ξ block, ξ stride vs) for the cur images
// from n0: each input plane as the zero-padded plane P (P[ih+r/2][iw+r/2] = x[ih][iw]) split
// into its even rows pe and odd rows po, rows of 2·rt floats, then its tile transforms. The
// caller zeroes pe and po once; the planes overwrite the same places each time.
func (t winoTile) transformInputs(g *engine.ConvGeom, l *winoLayout, x []float32, n0, cur int, pe, po, v []float32, vs int) {
	hw := g.H * g.W
	for i := 0; i < cur; i++ {
		for c := 0; c < g.C; c++ {
			splitRows(x[((n0+i)*g.C+c)*hw:][:hw], g.W, t.r/2, pe, po, 2*l.rt)
			t.in(pe, po, l.rt, l.tiles, v[c*l.tp+i*l.tiles:], vs)
		}
	}
}

// winoPad bounds the plane buffers of the transforms (floats per row parity).
const winoPad = 4096

// scratchSize is the floats of a chunk's scratch: two blocks of xi transformed planes (ξ strides
// s1 and s2) and the four plane buffers.
func scratchSize(xi, s1, s2 int) int { return xi*(s1+s2) + 4*winoPad }

// splitScratch cuts a chunk's scratch (scratchSize floats) into its two blocks of transformed
// planes (V and M, or V and Ŷ) and the plane buffers pe, po, qe and qo.
func splitScratch(buf []float32, xi, s1, s2 int) (a, b, pe, po, qe, qo []float32) {
	a, b = buf[:xi*s1], buf[xi*s1:xi*(s1+s2)]
	pad := buf[xi*(s1+s2):]
	return a, b, pad[:winoPad], pad[winoPad : 2*winoPad], pad[2*winoPad : 3*winoPad], pad[3*winoPad : 4*winoPad]
}

// get returns a chunk scratch buffer of st.size floats, from the free list or new; put returns it.
// Parts run at once on several goroutines, so the list is locked. Which part gets which buffer
// does not matter: a part overwrites everything it reads.
func (st *winoState) get() []float32 {
	st.mu.Lock()
	defer st.mu.Unlock()
	for len(st.free) > 0 {
		b := st.free[len(st.free)-1]
		st.free = st.free[:len(st.free)-1]
		if cap(b) >= st.size {
			return b[:st.size]
		}
	}
	return make([]float32, st.size)
}

func (st *winoState) put(b []float32) {
	st.mu.Lock()
	st.free = append(st.free, b)
	st.mu.Unlock()
}

// convFilterWinograd adds the filter gradient of x and dy to dw for a geometry winogradFits
// accepts: F(r×r, 2×2), the transpose of the forward form. With V the input tiles' transforms
// (as forward) and Ŷ[ξ][k][t] = (A dy_kt Aᵀ)_ξ those of the output gradient's 2×2 tiles
// (garbage tiles zero), each chunk's products Ŵ[ξ] = Ŷ[ξ]·V[ξ]ᵀ (K×C, summed over the chunk's
// tiles) land in a part of their own; the parts are added in chunk order and dw += Gᵀ Ŵ G (in
// float64). Results do not depend on the core count.
func (d *Device) convFilterWinograd(g engine.ConvGeom, xs, dys, dws []float32) {
	t, _ := winogradFits(g)
	l := t.layout(g, d.winoFlts)
	vs, ys := g.C*l.tp+16, g.K*l.tp+16
	st := &d.wino
	// The products as Ŵ[ξ] = Ŷ[ξ]·V[ξ]ᵀ (K×C, V's rows read as windows), or for C < K as
	// Ŵ[ξ]ᵀ = V[ξ]·Ŷ[ξ]ᵀ (C×K): sgemm then takes the thin product's dot kernel, which reads
	// both in place (lenet-lca's 20→40: 17.4 CPU ms per call as K×C, packing V's windows and
	// running 20 of a panel's 32 columns).
	cByK := g.C < g.K
	var off []int
	if cByK {
		off = st.offsets(t.xi, g.K, ys, l.tp)
	} else {
		off = st.offsets(t.xi, g.C, vs, l.tp)
	}
	chunks, kc := ceilDiv(g.N, l.nb), g.K*g.C
	if cap(st.parts) < chunks*t.xi*kc {
		st.parts = make([]float32, chunks*t.xi*kc)
	}
	parts := st.parts[:chunks*t.xi*kc]
	st.size = scratchSize(t.xi, vs, ys)
	args := winoFilterArgs{g: g, t: t, l: l, x: xs, dy: dys, parts: parts, off: off, vs: vs, ys: ys, cByK: cByK, st: st}
	launch(d, &st.filt, args, chunks, 1)
	sum := parts[:t.xi*kc]
	for ch := 1; ch < chunks; ch++ {
		addTo(sum, parts[ch*t.xi*kc:(ch+1)*t.xi*kc])
	}
	// dw[k][c] += Gᵀ Ŵ G.
	r, a, gm := t.r, t.r+1, t.g()
	var w [36]float64
	var tg [5 * 6]float64 // Gᵀ Ŵ
	for k := 0; k < g.K; k++ {
		for c := 0; c < g.C; c++ {
			for x := 0; x < t.xi; x++ {
				if cByK {
					w[x] = float64(sum[x*kc+c*g.K+k])
				} else {
					w[x] = float64(sum[x*kc+k*g.C+c])
				}
			}
			for p := 0; p < r; p++ {
				for j := 0; j < a; j++ {
					var s float64
					for i := 0; i < a; i++ {
						s += gm[i*r+p] * w[i*a+j]
					}
					tg[p*a+j] = s
				}
			}
			f := dws[(k*g.C+c)*r*r:][:r*r]
			for p := 0; p < r; p++ {
				for q := 0; q < r; q++ {
					var s float64
					for j := 0; j < a; j++ {
						s += tg[p*a+j] * gm[j*r+q]
					}
					f[p*r+q] += float32(s)
				}
			}
		}
	}
}

// winoFilterArgs: the filter gradient's chunks, one per index (see convFilterWinograd).
type winoFilterArgs struct {
	g      engine.ConvGeom
	t      winoTile
	l      winoLayout
	x, dy  []float32
	parts  []float32
	off    []int
	vs, ys int  // ξ strides of V and Ŷ
	cByK   bool // the parts are Ŵᵀ (C×K), off Ŷ's window offsets
	st     *winoState
}

func (a *winoFilterArgs) run(lo, hi int) {
	g, l, xi := &a.g, &a.l, a.t.xi
	buf := a.st.get()
	defer a.st.put(buf)
	v, yh, pe, po, qe, qo := splitScratch(buf, xi, a.vs, a.ys)
	// The padding of the input planes and the garbage tiles of the output gradient's (the
	// columns past W, and for an odd H the last bottom row) are zeros.
	clear(buf[xi*(a.vs+a.ys):])
	hw, pitch := g.H*g.W, 2*l.rt
	kc := g.K * g.C
	for ch := lo; ch < hi; ch++ {
		n0 := ch * l.nb
		cur := min(l.nb, g.N-n0)
		a.t.transformInputs(g, l, a.x, n0, cur, pe, po, v, a.vs)
		for i := 0; i < cur; i++ {
			for k := 0; k < g.K; k++ {
				splitRows(a.dy[((n0+i)*g.K+k)*hw:][:hw], g.W, 0, qe, qo, pitch)
				a.t.grad(qe, qo, l.tiles, yh[k*l.tp+i*l.tiles:], a.ys)
			}
		}
		// The products' depth, rounded up to whole vectors (tp is) over zeros, so that the
		// dot kernel has no tail to run in Go (a third of lenet-lca's filter gradient).
		depth := (cur*l.tiles + 15) &^ 15
		for x := 0; x < xi; x++ {
			for c := 0; c < g.C; c++ {
				clear(v[x*a.vs+c*l.tp+cur*l.tiles : x*a.vs+c*l.tp+depth])
			}
			for k := 0; k < g.K; k++ {
				clear(yh[x*a.ys+k*l.tp+cur*l.tiles : x*a.ys+k*l.tp+depth])
			}
		}
		part := a.parts[ch*xi*kc : (ch+1)*xi*kc]
		for x := 0; x < xi; x++ {
			if a.cByK {
				sgemm.SgemmShiftedT(g.C, g.K, depth, 1, v[x*a.vs:], l.tp, yh, a.off[x*g.K:(x+1)*g.K], 0, part[x*kc:(x+1)*kc], g.K)
			} else {
				sgemm.SgemmShiftedT(g.K, g.C, depth, 1, yh[x*a.ys:], l.tp, v, a.off[x*g.C:(x+1)*g.C], 0, part[x*kc:(x+1)*kc], g.C)
			}
		}
	}
}

// useWinogradFilter says whether ConvBackwardFilter takes the Winograd form for g: where the
// forward does. Measured as the forward (one thread, three rounds), CPU ms per call against the
// stack form: 32→32 on 16×16 3.83 against 4.88, 64→64 on 8×8 3.42 against 4.85, 16→16 on
// 32×32 5.90 against 4.88; lenet-lca's 5×5 20→40 on 14×14 (N = 250, two rounds) 12.7–12.9
// against 15.0–15.1.
func (d *Device) useWinogradFilter(g engine.ConvGeom) bool {
	return d.useWinograd(g)
}

// splitRows copies a plane of rows of w floats into its even rows (pe) and odd rows (po), rows
// of pitch floats, with shift rows and columns of zero padding before it (row ih lands in padded
// row ih+shift at column shift): the layout the tile transforms read.
func splitRows(plane []float32, w, shift int, pe, po []float32, pitch int) {
	for ih := 0; ih*w < len(plane); ih++ {
		row := plane[ih*w : (ih+1)*w]
		if p := ih + shift; p%2 == 0 {
			copy(pe[p/2*pitch+shift:], row)
		} else {
			copy(po[p/2*pitch+shift:], row)
		}
	}
}
