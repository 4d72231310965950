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
// (6% more tiles on 32×32 planes, 11% on 16×16, 25% on 8×8, 14% for 5×5 filters on 14×14),
// computed and dropped, so that the transforms run 16 tiles per AVX-512 step over whole planes
// (rowTiles). As in the stack form, a NaN or Inf in x can reach a filter-gradient entry through a
// garbage tile.
//
// Images run in chunks sized so that V and M (ξ·(C+K) floats per tile, ξ = 16 or 36) stay near
// winoTargetFloats. Each chunk runs from its input transform through its ξ products to its output
// transform on one goroutine (winoChunkArgs); chunks write disjoint outputs, and every output
// element is one fixed sequence of float32 operations, so results are bit-identical whatever the
// core count.
//
// 5×5, stride-1, pad-2 convolutions (lenet-lca's) take F(2×2, 5×5) the same way, on 6×6 input
// tiles: 36 multiply-adds per (tile, c, k) instead of 100 (2.78× fewer), 36 products M[ξ], and
// the transforms of sgemm's winograd5.go. 3×3 convolutions on planes of 16×16 or more take
// F(4×4, 3×3) (sgemm's winograd4.go): 6×6 input tiles for 4×4 output tiles, 36 multiply-adds
// per 16 outputs instead of F(2×2)'s 64 and the direct form's 144, on planes split into four row
// phases instead of two. Only the tiles and the transforms differ
// (winoTile); chunks, products and output stores are shared.
//
// Planes of few tiles lie side by side in the plane buffers (winoLayout.b images per row of
// phases), so that one transform call runs at least 64 tiles: the transforms step 16 tiles and
// redo a last partial step, so 20 tiles cost 32 and 6 (8×8 planes in F(4×4)) ran in Go.
//
// Accuracy: the transforms add and subtract up to 16 terms (input) and 9 (output) around a sum of
// C products, so the error is a small multiple of the direct form's; for resnet20's shapes the
// maximum error relative to the float64 reference's largest output is about 1e-6 (the tests).
// The 6×6 tiles' transforms (coefficients up to 5 in Bᵀ and 8 in Aᵀ, down to 1/24 in G) cost
// about a decimal digit more: F(4×4, 3×3) on resnet20's shapes 3–5e-6 forward and backward data
// and 2–5e-6 for the filter gradient; F(2×2, 5×5) on lenet-lca's conv2 2–4e-6 forward and
// backward data and up to 1.1e-5 for the filter gradient; the direct form 3–5e-7
// (TestWinogradError). GAZE_WINOGRAD_TILE=2 keeps 3×3 convolutions in F(2×2, 3×3), and
// GAZE_WINOGRAD=off takes the direct form.

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

// wino4FromEnv reads GAZE_WINOGRAD_TILE: 4 for F(4×4, 3×3) wherever a 3×3 convolution takes the
// Winograd form, 2 for F(2×2, 3×3); anything else or unset: auto (useWino4).
func wino4FromEnv() winoUse {
	switch os.Getenv("GAZE_WINOGRAD_TILE") {
	case "4":
		return winoAlways
	case "2":
		return winoNever
	}
	return winoAuto
}

// winoTileOf returns the Winograd form d takes for g (see winogradFits).
func (d *Device) winoTileOf(g engine.ConvGeom) (winoTile, bool) {
	return winogradFits(g, d.useWino4(g))
}

// useWino4 says whether a 3×3 convolution in the Winograd form takes F(4×4, 3×3).
func (d *Device) useWino4(g engine.ConvGeom) bool {
	switch d.wino4 {
	case winoAlways:
		return true
	case winoNever:
		return false
	}
	// Auto: on the AVX-512 path, for planes of 16×16 or more. F(4×4, 3×3) costs 36
	// multiply-adds per 16 outputs instead of 4·16 = 64, and its transforms read and write 2.25
	// floats per pixel and channel instead of 4; on 8×8 planes a third of its tiles are garbage
	// (a fifth of F(2×2)'s) and the chunks' products are narrow. Measured (CPU ms per call, one
	// thread, N = 128, forward / backward data / filter gradient): 32→32 on 16×16 2.5–2.7,
	// 2.5–2.8, 2.6–2.9 against F(2×2)'s 3.3–3.4, 3.2–3.3, 3.5; 64→64 on 8×8 3.2–4.1, 3.2–4.1,
	// 3.6–4.3 against 3.2, 3.2–3.4, 3.4.
	return sgemm.Current() == sgemm.AVX512 && min(g.H, g.W) >= 16
}

// winoTargetFloats is the scratch (V and M) a chunk of images aims at: 2 MiB. On resnet20's
// shapes (one thread, three alternating rounds) 2 and 4 MiB ran 32→32 and 64→64 at 4.2–4.5 CPU ms
// per call, 1 MiB at 5.0–5.4 (more, smaller products, each packing its U), 8 MiB at 4.7–5.9 and
// 16 MiB at 6.7–7.5; 16→16 on 32×32 was best at 0.5–2 MiB.
const winoTargetFloats = 1 << 19

// winoTile is one of the Winograd forms: F(m×m, r×r) on a×a input tiles, a = m + r − 1:
// F(2×2, 3×3), F(4×4, 3×3) and F(2×2, 5×5).
type winoTile struct {
	r     int // kernel size; the padding is r/2
	m     int // output tile side, and the number of row phases the planes are split into
	a     int // input tile side m + r − 1
	xi    int // transformed components per tile: a²
	extra int // tile rows of padding below the last: ⌈(r−1)/m⌉ (rowTiles has the columns')
}

func newWinoTile(r, m int) winoTile {
	a := m + r - 1
	return winoTile{r: r, m: m, a: a, xi: a * a, extra: (r - 1 + m - 1) / m}
}

// winoShape says whether g is a convolution the Winograd forms compute: a "same" stride-1 3×3
// or 5×5 convolution.
func winoShape(g engine.ConvGeom) bool {
	r := g.R
	return (r == 3 || r == 5) && g.S == r && g.StrideH == 1 && g.StrideW == 1 && g.PadH == r/2 && g.PadW == r/2 &&
		g.OutH == g.H && g.OutW == g.W && g.C > 0 && g.K > 0
}

// winogradFits returns the Winograd form of g (F(4×4, 3×3) for a 3×3 convolution when big,
// else F(2×2, r×r)), and false when g is not a convolution one computes or its planes do not fit
// the transforms' buffers.
func winogradFits(g engine.ConvGeom, big bool) (winoTile, bool) {
	if !winoShape(g) {
		return winoTile{}, false
	}
	t := newWinoTile(g.R, 2)
	if big && g.R == 3 {
		t = newWinoTile(3, 4)
	}
	th := ceilDiv(g.H, t.m)
	rt := t.rowTiles(g.W)
	// The transforms read each phase up to (th + extra) rows of m·rt floats and 16 floats on.
	return t, t.m*rt*(th+t.extra)+16 <= winoPad
}

// rowTiles is the virtual tiles per image in a tile row of planes w wide: the images of a row of
// the plane buffers lie m·rt floats apart, each behind its left padding of r/2 zeros, and the
// zeros after an image are the next image's left padding (or the next row's, after the last).
// So m·rt must hold the image and its padding (w + r/2), and keep the reads of its last real
// tile (m·tw + r − 1 floats from its start) off the next image's columns (≤ m·rt + r/2). The
// tiles past the tw real ones are garbage: for 3×3 filters one per row, as with padding on both
// sides of each image; for 5×5 one instead of two (lenet-lca's 14×14 planes: 63 virtual tiles
// per 49 real ones became 56). Every form here has m ≥ r/2, so rt is tw + 1.
func (t winoTile) rowTiles(w int) int {
	p := t.r / 2
	return ceilDiv(max(w+p, t.m*ceilDiv(w, t.m)+t.r-1-p), t.m)
}

// in, out and grad run the form's tile transforms (sgemm.WinoIn, Wino4In and Wino5In, and so
// on) on the row phases of ph (q), winoPad floats each.
func (t winoTile) in(ph []float32, rowTiles, n int, v []float32, vs int) {
	switch {
	case t.m == 4:
		sgemm.Wino4In(ph, winoPad, rowTiles, n, v, vs)
	case t.r == 3:
		sgemm.WinoIn(ph[:winoPad], ph[winoPad:2*winoPad], rowTiles, n, v, vs)
	default:
		sgemm.Wino5In(ph[:winoPad], ph[winoPad:2*winoPad], rowTiles, n, v, vs)
	}
}

func (t winoTile) out(m []float32, ms, n int, q []float32) {
	switch {
	case t.m == 4:
		sgemm.Wino4Out(m, ms, n, q, winoPad)
	case t.r == 3:
		sgemm.WinoOut(m, ms, n, q[:winoPad], q[winoPad:2*winoPad])
	default:
		sgemm.Wino5Out(m, ms, n, q[:winoPad], q[winoPad:2*winoPad])
	}
}

func (t winoTile) grad(q []float32, n int, w []float32, ws int) {
	switch {
	case t.m == 4:
		sgemm.Wino4Grad(q, winoPad, n, w, ws)
	case t.r == 3:
		sgemm.WinoGrad(q[:winoPad], q[winoPad:2*winoPad], n, w, ws)
	default:
		sgemm.Wino5Grad(q[:winoPad], q[winoPad:2*winoPad], n, w, ws)
	}
}

// g is the filter transform G of the form (a×r, row-major).
func (t winoTile) g() []float64 {
	switch {
	case t.m == 4:
		return winoG4[:]
	case t.r == 3:
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
	winoG4 = [...]float64{
		1.0 / 4, 0, 0,
		-1.0 / 6, -1.0 / 6, -1.0 / 6,
		-1.0 / 6, 1.0 / 6, -1.0 / 6,
		1.0 / 24, 1.0 / 12, 1.0 / 6,
		1.0 / 24, -1.0 / 12, 1.0 / 6,
		0, 0, 1,
	}
)

// useWinograd says whether convForward takes the Winograd form for g.
func (d *Device) useWinograd(g engine.ConvGeom) bool {
	t, ok := d.winoTileOf(g)
	if !ok {
		return false
	}
	switch d.winoForm {
	case winoAlways:
		return true
	case winoNever:
		return false
	}
	// Auto: on the AVX-512 path only (the others transform tiles one at a time in Go), where the
	// channels are many enough. The transforms cost the same per pixel and channel whatever C
	// and K, and the products have depth C (K for backward data), so the form pays where the
	// channels are many.
	if sgemm.Current() != sgemm.AVX512 {
		return false
	}
	switch {
	case t.r == 5:
		// F(2×2, 5×5) saves 2.78× of the multiply-adds against 2.25×, on the same transforms'
		// cost per pixel and channel.
		return min(g.C, g.K) >= winoMin5
	case t.m == 4:
		// F(4×4, 3×3) on 16→16, 32×32 (two threads, as in the step; wall ms per call):
		// forward 2.2–2.3 against the stack form's 2.8–2.9, backward data 2.1 against 2.8–3.0,
		// filter gradient 2.6–2.7 against 3.8 (one thread: 3.5, 3.5, 4.3 against 4.1, 4.0, 4.8).
		return min(g.C, g.K) >= 16
	}
	// F(2×2, 3×3), measured on the AVX-512 build machine (CPU ms per call at one thread,
	// N = 128, medians of seven alternating rounds; README in
	// bench/results/cpu-2026-12-04/resnet20-winograd): forward 32→32 on 16×16 3.40 against the
	// stack form's 4.08, 64→64 on 8×8 3.20 against 4.38 (backward data the same), but 16→16 on
	// 32×32 4.70 against 3.95 (products of depth 16 and four times the tiles per flop of 8×8).
	return min(g.C, g.K) >= 32
}

// winoMin5 is the fewest channels (in and out) for which 5×5 convolutions take the Winograd form.
const winoMin5 = 16

// winoState is the Device's scratch for the Winograd form.
type winoState struct {
	u         []float32 // transformed filters [ξ][K][C] (ξ stride K·C + 16)
	ap        []float32 // each U[ξ] packed for sgemm.SgemmShiftedPacked
	pack      winoPackArgs
	off       []int // window offsets of V ([ξ][C]) or of Ŷ ([ξ][K])
	chunk     winoChunkArgs
	filt      winoFilterArgs
	xform     winoXformArgs
	back      winoBackArgs
	parts     []float32 // the filter gradient's per-chunk products [chunk][ξ][K][C] (or [C][K])
	chunkPool           // the chunks' scratch (V, M and the plane buffers)
}

// winoXformArgs: the filter transforms of the filters [lo, hi) (f = k·C + c) on each core.
// Run on the calling goroutine alone they were 6 % of resnet20's 64→64 CPU time at two threads,
// with the other core idle.
type winoXformArgs struct {
	t    winoTile
	u, w []float32
	us   int
}

func (a *winoXformArgs) run(lo, hi int) { a.t.transformFilters(a.u, a.w, lo, hi, a.us) }

// winoPackArgs: sgemm.PackShiftedA of the m×k matrices U[ξ] for ξ in [lo, hi).
type winoPackArgs struct {
	u, ap         []float32
	us, aps, m, k int
}

func (a *winoPackArgs) run(lo, hi int) {
	for x := lo; x < hi; x++ {
		sgemm.PackShiftedA(a.ap[x*a.aps:(x+1)*a.aps], a.m, a.k, a.u[x*a.us:], a.k)
	}
}

// winoFilterGrain: filters per core below which the transforms stay on one core (each is a few
// hundred flops in float64).
const winoFilterGrain = 64

// transformFilters sets u[ξ·us + f] = (G w_f Gᵀ)_ξ for the filters f in [f0, f1), f = k·C + c (in
// float64, rounded once). The ξ stride us is K·C plus one vector: at K·C (a power of two for
// resnet's 64→64, 16 KiB) the ξ streams fell into the same L1 sets and the transform cost 4% of
// the call. 3×3 filters take transformFilters3; 5×5 filters (and the tests' reference for 3×3)
// the loops over any r and a.
func (t winoTile) transformFilters(u, w []float32, f0, f1, us int) {
	if t.r == 3 {
		transformFilters3(u, w, f0, f1, us, t.a, t.g())
		return
	}
	t.transformFiltersAny(u, w, f0, f1, us)
}

// transformFilters3 is transformFilters for 3×3 filters and an a×3 G (a = 4 or 6), with the sums
// over the filter's rows and columns written out: the same products added in the same order as
// transformFiltersAny (the same bits), in a fifth to a third of the time. The loops over any r
// cost 2 % of resnet20's step.
func transformFilters3(u, w []float32, f0, f1, us, a int, gs []float64) {
	var gm [6][3]float64
	for i := range a {
		gm[i] = [3]float64{gs[3*i], gs[3*i+1], gs[3*i+2]}
	}
	for f := f0; f < f1; f++ {
		x := (*[9]float32)(w[f*9 : f*9+9])
		var gg [6][3]float64 // G·g
		for i := range a {
			g := &gm[i]
			for q := range 3 {
				gg[i][q] = g[0]*float64(x[q]) + g[1]*float64(x[3+q]) + g[2]*float64(x[6+q])
			}
		}
		for i := range a {
			h := &gg[i]
			o := i*a*us + f
			for j := range a {
				g := &gm[j]
				u[o+j*us] = float32(h[0]*g[0] + h[1]*g[1] + h[2]*g[2])
			}
		}
	}
}

// transformFiltersAny is transformFilters for any r and a.
func (t winoTile) transformFiltersAny(u, w []float32, f0, f1, us int) {
	r, a := t.r, t.a
	var gm [6 * 5]float64
	copy(gm[:], t.g())
	for f := f0; f < f1; f++ {
		var fd [5 * 5]float64
		for i, v := range w[f*r*r : (f+1)*r*r] {
			fd[i] = float64(v)
		}
		var gg [6 * 5]float64 // G·g
		for i := 0; i < a; i++ {
			gi := gm[i*r : i*r+r]
			for q := 0; q < r; q++ {
				var s float64
				for p, gv := range gi {
					s += gv * fd[p*r+q]
				}
				gg[i*r+q] = s
			}
		}
		for i := 0; i < a; i++ {
			gi := gg[i*r : i*r+r]
			for j := 0; j < a; j++ {
				var s float64
				for q, gv := range gm[j*r : j*r+r] {
					s += gi[q] * gv
				}
				u[(i*a+j)*us+f] = float32(s)
			}
		}
	}
}

// winoLayout is the chunking of a Winograd call: nb images per chunk of tiles virtual tiles each
// (th tile rows of rt), and the row stride tp of the transformed planes (V, M, Ŷ), in tiles.
type winoLayout struct {
	th, tw, rt, tiles, nb, tp int
	b                         int // images side by side in the plane buffers (nb is a multiple)
}

// cols is the product columns of a chunk of cur images: whole groups of b images.
func (l *winoLayout) cols(cur int) int { return ceilDiv(cur, l.b) * l.b * l.tiles }

// layout chunks g's images so that the scratch (xi·(C+K) floats per tile) stays near flts, twice
// that for 5×5: lenet-lca's conv2 (one thread, N = 250) ran forward 13.5, 11.9, 9.9, 9.9 and 10.7
// ms per call at 1, 2, 4, 8 and 16 MiB, backward data 15.8, 13.9, 12.5, 12.4 and 13.5; its
// products are shallow (C = 20) and gain from more columns.
// tp is rounded to whole vectors and made an odd number of them: the xi transforms of a tile are
// written (read) as xi streams, and at power-of-two strides they fall into the same L1 sets and
// evict each other (the first version, with tp = 1024 and a ξ stride of 64 KiB, spent 28 ms per
// resnet20 16→16 call in the input transform).
func (t winoTile) layout(g engine.ConvGeom, flts int) winoLayout {
	l := winoLayout{th: ceilDiv(g.H, t.m), tw: ceilDiv(g.W, t.m)}
	l.rt = t.rowTiles(g.W)
	l.tiles = l.th * l.rt
	if t.r == 5 {
		flts *= 2
	}
	l.nb = min(max(flts/(t.xi*(g.C+g.K)*l.tiles), 1), g.N)
	// Small planes lie b side by side in the plane buffers, so that one transform call runs at
	// least 64 tiles (a 16-tile step redoes the last partial one: 20 tiles cost 32).
	l.b = min(ceilDiv(64, l.tiles), l.nb, max((winoPad-16)/(t.m*l.rt*(l.th+t.extra)), 1))
	l.nb = l.nb / l.b * l.b
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
	t, _ := d.winoTileOf(g)
	l := t.layout(g, d.winoFlts)
	vs, ms := g.C*l.tp+16, g.K*l.tp+16 // ξ strides of V and M
	st := &d.wino
	us := g.K*g.C + 16
	if cap(st.u) < t.xi*us {
		st.u = make([]float32, t.xi*us)
	}
	u := st.u[:t.xi*us]
	launch(d, &st.xform, winoXformArgs{t: t, u: u, w: ws, us: us}, g.K*g.C, winoFilterGrain)
	// Each U[ξ] is the A of one product per chunk: packed once here for all of them (packing in
	// every product was 8 % of resnet20's 64→64 forward CPU time). Only the AVX512 path reads
	// the packing.
	var ap []float32
	aps := sgemm.ShiftedALen(g.K, g.C)
	if sgemm.Current() == sgemm.AVX512 {
		if cap(st.ap) < t.xi*aps {
			st.ap = make([]float32, t.xi*aps)
		}
		ap = st.ap[:t.xi*aps]
		launch(d, &st.pack, winoPackArgs{u: u, ap: ap, us: us, aps: aps, m: g.K, k: g.C}, t.xi, 1)
	}
	off := st.offsets(t.xi, g.C, vs, l.tp)
	st.size = scratchSize(t.xi, vs, ms)
	args := winoChunkArgs{g: g, t: t, l: l, x: xs, y: ys, u: u, ap: ap, off: off, beta: beta, vs: vs, ms: ms, us: us, aps: aps, st: st}
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
	ap         []float32 // each U[ξ] packed for the products (ξ stride aps; nil: packed in them)
	off        []int
	beta       float32
	vs, ms, us int // ξ strides of V, M and U
	aps        int
	st         *winoState
}

func (a *winoChunkArgs) run(lo, hi int) {
	g, l, xi := &a.g, &a.l, a.t.xi
	buf := a.st.get()
	defer a.st.put(buf)
	// The input planes' row phases ph (transformInputs) and the output's q. The padding is
	// zeroed here; the planes overwrite the rest.
	v, m, ph, q := splitScratch(buf, xi, a.vs, a.ms)
	clear(ph)
	hw, pitch, tm := g.H*g.W, a.t.m*l.rt*l.b, a.t.m
	for ch := lo; ch < hi; ch++ {
		n0 := ch * l.nb
		cur := min(l.nb, g.N-n0)
		a.t.transformInputs(g, l, a.x, n0, cur, ph, v, a.vs)
		for x := 0; x < xi; x++ {
			var ap []float32
			if a.ap != nil {
				ap = a.ap[x*a.aps : (x+1)*a.aps]
			}
			// M's rows (tp floats, whole vectors) have room past the chunk's columns.
			sgemm.SgemmShiftedPacked(g.K, l.cols(cur), g.C, 1, a.u[x*a.us:], g.C, ap, v, a.off[x*g.C:(x+1)*g.C], 0, m[x*a.ms:], l.tp, true)
		}
		for i0 := 0; i0 < cur; i0 += l.b {
			for k := 0; k < g.K; k++ {
				a.t.out(m[k*l.tp+i0*l.tiles:], a.ms, l.b*l.tiles, q)
				for i := i0; i < min(i0+l.b, cur); i++ {
					joinRows(a.y[((n0+i)*g.K+k)*hw:][:hw], g.W, q[(i-i0)*tm*l.rt:], tm, pitch, a.beta)
				}
			}
		}
	}
}

// transformInputs writes V (row c·tp + i·tiles of each ξ block, ξ stride vs) for the cur images
// from n0: each input plane as the zero-padded plane P (P[ih+r/2][iw+r/2] = x[ih][iw]) split
// into its m row phases ph, the planes of b images side by side (m·rt floats each) in rows of
// b·m·rt floats, then the tile transforms of the group. The caller zeroes ph once; the planes
// overwrite the same places each time, and a short last group reads zeros for its missing images.
func (t winoTile) transformInputs(g *engine.ConvGeom, l *winoLayout, x []float32, n0, cur int, ph, v []float32, vs int) {
	hw, w, pitch := g.H*g.W, t.m*l.rt, t.m*l.rt*l.b
	for i0 := 0; i0 < cur; i0 += l.b {
		if i0+l.b > cur {
			clear(ph)
		}
		for c := 0; c < g.C; c++ {
			for i := i0; i < min(i0+l.b, cur); i++ {
				splitRows(x[((n0+i)*g.C+c)*hw:][:hw], g.W, t.r/2, ph[(i-i0)*w:], t.m, pitch)
			}
			t.in(ph, l.b*l.rt, l.b*l.tiles, v[c*l.tp+i0*l.tiles:], vs)
		}
	}
}

// winoPad bounds the plane buffers of the transforms (floats per row phase).
const winoPad = 4096

// scratchSize is the floats of a chunk's scratch: two blocks of xi transformed planes (ξ strides
// s1 and s2) and two plane buffers of four row phases each.
func scratchSize(xi, s1, s2 int) int { return xi*(s1+s2) + 8*winoPad }

// splitScratch cuts a chunk's scratch (scratchSize floats) into its two blocks of transformed
// planes (V and M, or V and Ŷ) and the row phases of the input planes (ph) and of the output
// (gradient) planes (q).
func splitScratch(buf []float32, xi, s1, s2 int) (a, b, ph, q []float32) {
	a, b = buf[:xi*s1], buf[xi*s1:xi*(s1+s2)]
	pad := buf[xi*(s1+s2):]
	return a, b, pad[:4*winoPad], pad[4*winoPad : 8*winoPad]
}

// chunkPool holds the scratch buffers of a parallel call's chunks, size floats each: every chunk
// runs on one goroutine in a buffer of its own, which stays in that core's caches.
type chunkPool struct {
	size int
	mu   sync.Mutex  // guards free
	free [][]float32 // buffers not in use
}

// get returns a buffer of size floats, from the free list or new; put returns it. Chunks run at
// once on several goroutines, so the list is locked. Which chunk gets which buffer does not
// matter: a chunk overwrites everything it reads.
func (st *chunkPool) get() []float32 {
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

func (st *chunkPool) put(b []float32) {
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
	t, _ := d.winoTileOf(g)
	flts := d.winoFlts
	if t.r == 5 {
		// Twice the chunk of the other passes: the products here are dot products as deep as
		// a chunk's tiles, and each 4×6 block of them ends in horizontal sums and a Go merge
		// that shallow ones pay for again and again (lenet-lca's 20→40, four alternating
		// rounds: 7.2–7.3 ms per call against 8.0–8.3, and 7.4–7.7 at three times).
		flts *= 2
	}
	l := t.layout(g, flts)
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
	back := winoBackArgs{t: t, sum: d.sumParts(parts, t.xi*kc), c: g.C, k: g.K, cByK: cByK, dw: dws}
	launch(d, &st.back, back, kc, winoFilterGrain)
}

// winoBackArgs: dw[k][c] += Gᵀ Ŵ G (in float64) for the filters f = k·C + c in [lo, hi), from the
// summed products Ŵ ([ξ][K][C], or [ξ][C][K] where cByK). On the calling goroutine alone, the sum
// and this were 5 % of resnet20's 64→64 CPU time at two threads, with the other core idle.
type winoBackArgs struct {
	t       winoTile
	sum, dw []float32
	c, k    int
	cByK    bool
}

func (b *winoBackArgs) run(lo, hi int) {
	if b.t.r == 3 {
		b.run3(lo, hi)
		return
	}
	b.runAny(lo, hi)
}

// run3 is run for 3×3 filters and an a×3 G (a = 4 or 6), with G's columns in arrays and the
// sums written out: the same products added in the same order as runAny (the same bits).
func (b *winoBackArgs) run3(lo, hi int) {
	t, kc := b.t, b.k*b.c
	a, gs := t.a, t.g()
	var gt [3][6]float64 // Gᵀ
	for i := range a {
		for p := range 3 {
			gt[p][i] = gs[3*i+p]
		}
	}
	var w [36]float64
	for f := lo; f < hi; f++ {
		col := f // Ŵ's column of the filter
		if b.cByK {
			col = f%b.c*b.k + f/b.c
		}
		for x := range a * a {
			w[x] = float64(b.sum[x*kc+col])
		}
		dw := (*[9]float32)(b.dw[f*9 : f*9+9])
		for p := range 3 {
			g := &gt[p]
			var tg [6]float64 // row p of Gᵀ Ŵ
			if a == 4 {
				for j := range 4 {
					tg[j] = g[0]*w[j] + g[1]*w[4+j] + g[2]*w[8+j] + g[3]*w[12+j]
				}
				for q := range 3 {
					dw[p*3+q] += float32(tg[0]*gt[q][0] + tg[1]*gt[q][1] + tg[2]*gt[q][2] + tg[3]*gt[q][3])
				}
				continue
			}
			for j := range 6 {
				tg[j] = g[0]*w[j] + g[1]*w[6+j] + g[2]*w[12+j] + g[3]*w[18+j] + g[4]*w[24+j] + g[5]*w[30+j]
			}
			for q := range 3 {
				dw[p*3+q] += float32(tg[0]*gt[q][0] + tg[1]*gt[q][1] + tg[2]*gt[q][2] + tg[3]*gt[q][3] + tg[4]*gt[q][4] + tg[5]*gt[q][5])
			}
		}
	}
}

// runAny is run for any r and a.
func (b *winoBackArgs) runAny(lo, hi int) {
	t, kc := b.t, b.k*b.c
	r, a, gm := t.r, t.a, t.g()
	var w [36]float64
	var tg [5 * 6]float64 // Gᵀ Ŵ
	for f := lo; f < hi; f++ {
		col := f // Ŵ's column of the filter
		if b.cByK {
			col = f%b.c*b.k + f/b.c
		}
		for x := 0; x < t.xi; x++ {
			w[x] = float64(b.sum[x*kc+col])
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
		dw := b.dw[f*r*r:][:r*r]
		for p := 0; p < r; p++ {
			for q := 0; q < r; q++ {
				var s float64
				for j := 0; j < a; j++ {
					s += tg[p*a+j] * gm[j*r+q]
				}
				dw[p*r+q] += float32(s)
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
	v, yh, ph, q := splitScratch(buf, xi, a.vs, a.ys)
	// The padding of the input planes and the garbage tiles of the output gradient's (the
	// columns past W, and the rows past H) are zeros.
	clear(ph)
	clear(q)
	hw, pitch := g.H*g.W, a.t.m*l.rt*l.b
	kc := g.K * g.C
	for ch := lo; ch < hi; ch++ {
		n0 := ch * l.nb
		cur := min(l.nb, g.N-n0)
		a.t.transformInputs(g, l, a.x, n0, cur, ph, v, a.vs)
		for i0 := 0; i0 < cur; i0 += l.b {
			// A short last group's missing images have zero output gradients, so that their
			// tiles add nothing (their input tiles are zeros too, but a stale Inf in the
			// gradient would make 0·Inf a NaN).
			if i0+l.b > cur {
				clear(q)
			}
			for k := 0; k < g.K; k++ {
				for i := i0; i < min(i0+l.b, cur); i++ {
					splitRows(a.dy[((n0+i)*g.K+k)*hw:][:hw], g.W, 0, q[(i-i0)*a.t.m*l.rt:], a.t.m, pitch)
				}
				a.t.grad(q, l.b*l.tiles, yh[k*l.tp+i0*l.tiles:], a.ys)
			}
		}
		// The products' depth, rounded up to whole vectors (tp is) over zeros, so that the
		// dot kernel has no tail to run in Go (a third of lenet-lca's filter gradient).
		cols := l.cols(cur)
		depth := (cols + 15) &^ 15
		for x := 0; x < xi; x++ {
			for c := 0; c < g.C; c++ {
				clear(v[x*a.vs+c*l.tp+cols : x*a.vs+c*l.tp+depth])
			}
			for k := 0; k < g.K; k++ {
				clear(yh[x*a.ys+k*l.tp+cols : x*a.ys+k*l.tp+depth])
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
// stack form: F(2×2, 3×3) 32→32 on 16×16 3.83 against 4.88, 64→64 on 8×8 3.42 against 4.85,
// 16→16 on 32×32 5.90 against 4.88 (F(4×4, 3×3): 4.2–4.3 against 4.3–4.4, and at two threads
// 2.6 against 2.3–2.4, bench/results/cpu-2026-12-05/wino4/convs.txt); lenet-lca's 5×5 20→40 on
// 14×14 (N = 250, two rounds) 12.7–12.9 against 15.0–15.1.
func (d *Device) useWinogradFilter(g engine.ConvGeom) bool {
	return d.useWinograd(g)
}

// joinRows sets plane = beta·plane + the plane in the m row phases q (splitRows's layout, no
// padding): row oh of w floats from q[(oh mod m)·winoPad + (oh/m)·pitch:]. With beta 0 or 1 the
// rows move in one sgemm.PhaseRows call (a copy call per row of 8–32 floats was slow; beta 1 is
// a residual block's backward data pass, which adds onto the shortcut's gradient); with m = 1
// it is the stack form's output, rows pitch floats apart.
func joinRows(plane []float32, w int, q []float32, m, pitch int, beta float32) {
	switch beta {
	case 0:
		sgemm.PhaseRows(plane, w, q, 0, m, winoPad, pitch, sgemm.PhaseJoin)
		return
	case 1:
		sgemm.PhaseRows(plane, w, q, 0, m, winoPad, pitch, sgemm.PhaseJoinAdd)
		return
	}
	for oh := 0; oh*w < len(plane); oh++ {
		storeBeta(plane[oh*w:(oh+1)*w], q[oh%m*winoPad+oh/m*pitch:][:w], beta)
	}
}

// splitRows copies a plane of rows of w floats into its m row phases (padded row p is row p/m
// of phase p mod m, at ph[(p mod m)·winoPad:]), rows of pitch floats, with shift rows and
// columns of zero padding before it (row ih lands in padded row ih+shift at column shift): the
// layout the tile transforms read (one sgemm.PhaseRows call).
func splitRows(plane []float32, w, shift int, ph []float32, m, pitch int) {
	sgemm.PhaseRows(plane, w, ph[shift:], shift, m, winoPad, pitch, sgemm.PhaseSplit)
}
