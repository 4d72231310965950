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
// Each chunk runs from its input transform through its 16 products to its output transform on
// one goroutine (winoChunkArgs); chunks write disjoint outputs, and every output element is one
// fixed sequence of float32 operations, so results are bit-identical whatever the core count.
//
// Accuracy: the transforms add and subtract up to 16 terms (input) and 9 (output) around a sum of
// C products, so the error is a small multiple of the direct form's; for resnet20's shapes the
// maximum error relative to the float64 reference's largest output is about 1e-6 (the tests).

// winoUse says when 3×3 stride-1 pad-1 convolutions take the Winograd form.
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

// winogradFits reports whether g is a convolution the Winograd form computes.
func winogradFits(g engine.ConvGeom) bool {
	th, tw := (g.H+1)/2, (g.W+1)/2
	return g.R == 3 && g.S == 3 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 1 && g.PadW == 1 &&
		g.OutH == g.H && g.OutW == g.W && 2*(th+1)*(tw+1)+2 <= winoPad && g.C > 0 && g.K > 0
}

// useWinograd says whether convForward takes the Winograd form for g.
func (d *Device) useWinograd(g engine.ConvGeom) bool {
	if !winogradFits(g) {
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
	return sgemm.Current() == sgemm.AVX512 && min(g.C, g.K) >= 32
}

// winoState is the Device's scratch for the Winograd form.
type winoState struct {
	u     []float32 // transformed filters [16][K][C] (ξ stride K·C + 16)
	off   []int     // window offsets of V: [16][C]
	chunk winoChunkArgs
	filt  winoFilterArgs
	parts []float32   // the filter gradient's per-chunk products [chunk][16][K][C]
	size  int         // floats of a chunk's scratch (V, M and the plane buffers)
	mu    sync.Mutex  // guards free
	free  [][]float32 // chunk scratch buffers not in use
}

// winoTransformFilters sets u[ξ·us + k·c + c] = (G w_kc Gᵀ)_ξ (in float64, rounded once). The ξ
// stride us is K·C plus one vector: at K·C (a power of two for resnet's 64→64, 16 KiB) the 16
// streams fell into the same L1 sets and the transform cost 4% of the call.
func winoTransformFilters(u, w []float32, k, c, us int) {
	for kk := 0; kk < k; kk++ {
		for cc := 0; cc < c; cc++ {
			f := w[(kk*c+cc)*9:][:9]
			var t [4][3]float64 // G·g
			for s := 0; s < 3; s++ {
				g0, g1, g2 := float64(f[s]), float64(f[3+s]), float64(f[6+s])
				t[0][s] = g0
				t[1][s] = 0.5 * (g0 + g1 + g2)
				t[2][s] = 0.5 * (g0 - g1 + g2)
				t[3][s] = g2
			}
			for i := 0; i < 4; i++ {
				g0, g1, g2 := t[i][0], t[i][1], t[i][2]
				r := [4]float64{g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2}
				for j := 0; j < 4; j++ {
					u[(i*4+j)*us+kk*c+cc] = float32(r[j])
				}
			}
		}
	}
}

// convForwardWinograd sets y = beta·y + x ⋆ w for a geometry winogradFits accepts.
func (d *Device) convForwardWinograd(g engine.ConvGeom, xs, ws, ys []float32, beta float32) {
	th, tw := (g.H+1)/2, (g.W+1)/2
	tiles := th * (tw + 1)  // virtual tiles per image: one garbage tile per tile row
	per := 16 * (g.C + g.K) // scratch floats per tile
	nb := max(d.winoFlts/(per*tiles), 1)
	nb = min(nb, g.N)
	// Row stride tp of V and M (tiles, rounded to whole vectors), and their ξ strides vs and ms.
	// The 16 transforms of a tile are written (read) as 16 streams, one per ξ; at power-of-two
	// strides they fall into the same L1 sets and evict each other (the first version, with
	// tp = 1024 and vs = 64 KiB, spent 28 ms per resnet20 16→16 call in the input transform),
	// so tp is an odd number of vectors and each ξ block has one more vector after it.
	tp := (nb*tiles + 15) / 16 * 16
	if tp/16%2 == 0 {
		tp += 16
	}
	vs, ms := g.C*tp+16, g.K*tp+16

	st := &d.wino
	us := g.K*g.C + 16
	if cap(st.u) < 16*us {
		st.u = make([]float32, 16*us)
	}
	u := st.u[:16*us]
	winoTransformFilters(u, ws, g.K, g.C, us)
	if cap(st.off) < 16*g.C {
		st.off = make([]int, 16*g.C)
	}
	off := st.off[:16*g.C]
	for xi := 0; xi < 16; xi++ {
		for c := 0; c < g.C; c++ {
			off[xi*g.C+c] = xi*vs + c*tp
		}
	}
	st.size = 16*(vs+ms) + 4*winoPad
	args := winoChunkArgs{g: g, x: xs, y: ys, u: u, off: off, beta: beta, nb: nb, tp: tp, vs: vs, ms: ms, us: us,
		th: th, tw: tw, st: st}
	launch(d, &st.chunk, args, ceilDiv(g.N, nb), 1)
}

// winoChunkArgs: the Winograd form of a convolution, one chunk of nb images per index, each chunk
// from its input transform through its 16 products to its output transform on one goroutine,
// in scratch of its own (a chunk's V and M stay in that core's caches, and a call costs one
// parallel launch instead of three per chunk: with a launch per stage, two threads took 25–35%
// more CPU time than one on resnet20's 32→32, and more wall time).
type winoChunkArgs struct {
	g          engine.ConvGeom
	x, y, u    []float32
	off        []int
	beta       float32
	nb, tp     int
	vs, ms, us int // ξ strides of V, M and U
	th, tw     int
	st         *winoState
}

func (a *winoChunkArgs) run(lo, hi int) {
	g := &a.g
	buf := a.st.get()
	defer a.st.put(buf)
	v, m := buf[:16*a.vs], buf[16*a.vs:16*(a.vs+a.ms)]
	pad := buf[16*(a.vs+a.ms):]
	// The zero-padded plane P (P[ih+1][iw+1] = x[ih][iw]) as its even rows pe and odd rows po,
	// rows of 2·(tw+1) floats, and the output's even and odd rows qe and qo. The padding is
	// zeroed here; the planes overwrite the rest.
	pe, po, qe, qo := pad[:winoPad], pad[winoPad:2*winoPad], pad[2*winoPad:3*winoPad], pad[3*winoPad:4*winoPad]
	clear(pe)
	clear(po)
	hw, rt := g.H*g.W, a.tw+1
	n := a.th * rt
	pitch := 2 * rt
	for ch := lo; ch < hi; ch++ {
		n0 := ch * a.nb
		cur := min(a.nb, g.N-n0)
		for i := 0; i < cur; i++ {
			for c := 0; c < g.C; c++ {
				splitRows(a.x[((n0+i)*g.C+c)*hw:][:hw], g.W, 1, pe, po, pitch)
				sgemm.WinoIn(pe, po, rt, n, v[c*a.tp+i*n:], a.vs)
			}
		}
		for xi := 0; xi < 16; xi++ {
			sgemm.SgemmShifted(g.K, cur*n, g.C, 1, a.u[xi*a.us:], g.C, v, a.off[xi*g.C:(xi+1)*g.C], 0, m[xi*a.ms:], a.tp)
		}
		for i := 0; i < cur; i++ {
			for k := 0; k < g.K; k++ {
				y := a.y[((n0+i)*g.K+k)*hw:][:hw]
				sgemm.WinoOut(m[k*a.tp+i*n:], a.ms, n, qe, qo)
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

// winoPad bounds the plane buffers of the transforms (floats per row parity).
const winoPad = 4096

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
// accepts: F(3×3, 2×2), the transpose of the forward form. With V the input tiles' transforms
// (as forward) and Ŷ[ξ][k][t] = (A dy_kt Aᵀ)_ξ those of the output gradient's 2×2 tiles
// (garbage tiles zero), each chunk's 16 products Ŵ[ξ] = Ŷ[ξ]·V[ξ]ᵀ (K×C, summed over the
// chunk's tiles) land in a part of their own; the parts are added in chunk order and
// dw += Gᵀ Ŵ G (in float64). Results do not depend on the core count.
func (d *Device) convFilterWinograd(g engine.ConvGeom, xs, dys, dws []float32) {
	th, tw := (g.H+1)/2, (g.W+1)/2
	tiles := th * (tw + 1)
	per := 16 * (g.C + g.K)
	nb := min(max(d.winoFlts/(per*tiles), 1), g.N)
	tp := (nb*tiles + 15) / 16 * 16
	if tp/16%2 == 0 {
		tp += 16
	}
	vs, ys := g.C*tp+16, g.K*tp+16
	st := &d.wino
	if cap(st.off) < 16*g.C {
		st.off = make([]int, 16*g.C)
	}
	off := st.off[:16*g.C]
	for xi := 0; xi < 16; xi++ {
		for c := 0; c < g.C; c++ {
			off[xi*g.C+c] = xi*vs + c*tp
		}
	}
	chunks, kc := ceilDiv(g.N, nb), g.K*g.C
	if cap(st.parts) < chunks*16*kc {
		st.parts = make([]float32, chunks*16*kc)
	}
	parts := st.parts[:chunks*16*kc]
	st.size = 16*(vs+ys) + 4*winoPad
	args := winoFilterArgs{g: g, x: xs, dy: dys, parts: parts, off: off, nb: nb, tp: tp, vs: vs, ys: ys, th: th, tw: tw, st: st}
	launch(d, &st.filt, args, chunks, 1)
	sum := parts[:16*kc]
	for ch := 1; ch < chunks; ch++ {
		addTo(sum, parts[ch*16*kc:(ch+1)*16*kc])
	}
	// dw[k][c] += Gᵀ Ŵ G, G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
	for k := 0; k < g.K; k++ {
		for c := 0; c < g.C; c++ {
			var w [4][4]float64
			for xi := 0; xi < 16; xi++ {
				w[xi/4][xi%4] = float64(sum[xi*kc+k*g.C+c])
			}
			var t [3][4]float64 // Gᵀ Ŵ
			for j := 0; j < 4; j++ {
				t[0][j] = w[0][j] + 0.5*(w[1][j]+w[2][j])
				t[1][j] = 0.5 * (w[1][j] - w[2][j])
				t[2][j] = 0.5*(w[1][j]+w[2][j]) + w[3][j]
			}
			f := dws[(k*g.C+c)*9:][:9]
			for r := 0; r < 3; r++ {
				a := t[r]
				f[3*r] += float32(a[0] + 0.5*(a[1]+a[2]))
				f[3*r+1] += float32(0.5 * (a[1] - a[2]))
				f[3*r+2] += float32(0.5*(a[1]+a[2]) + a[3])
			}
		}
	}
}

// winoFilterArgs: the filter gradient's chunks, one per index (see convFilterWinograd).
type winoFilterArgs struct {
	g      engine.ConvGeom
	x, dy  []float32
	parts  []float32
	off    []int
	nb, tp int
	vs, ys int // ξ strides of V and Ŷ
	th, tw int
	st     *winoState
}

func (a *winoFilterArgs) run(lo, hi int) {
	g := &a.g
	buf := a.st.get()
	defer a.st.put(buf)
	v, yh := buf[:16*a.vs], buf[16*a.vs:16*(a.vs+a.ys)]
	pad := buf[16*(a.vs+a.ys):]
	pe, po, qe, qo := pad[:winoPad], pad[winoPad:2*winoPad], pad[2*winoPad:3*winoPad], pad[3*winoPad:4*winoPad]
	// The padding of the input planes and the garbage tiles of the output gradient's (the
	// columns past W, and for an odd H the last bottom row) are zeros.
	clear(pad)
	hw, rt := g.H*g.W, a.tw+1
	n := a.th * rt
	pitch := 2 * rt
	kc := g.K * g.C
	for ch := lo; ch < hi; ch++ {
		n0 := ch * a.nb
		cur := min(a.nb, g.N-n0)
		for i := 0; i < cur; i++ {
			for c := 0; c < g.C; c++ {
				splitRows(a.x[((n0+i)*g.C+c)*hw:][:hw], g.W, 1, pe, po, pitch)
				sgemm.WinoIn(pe, po, rt, n, v[c*a.tp+i*n:], a.vs)
			}
			for k := 0; k < g.K; k++ {
				splitRows(a.dy[((n0+i)*g.K+k)*hw:][:hw], g.W, 0, qe, qo, pitch)
				sgemm.WinoGrad(qe, qo, n, yh[k*a.tp+i*n:], a.ys)
			}
		}
		part := a.parts[ch*16*kc : (ch+1)*16*kc]
		for xi := 0; xi < 16; xi++ {
			sgemm.SgemmShiftedT(g.K, g.C, cur*n, 1, yh[xi*a.ys:], a.tp, v, a.off[xi*g.C:(xi+1)*g.C], 0, part[xi*kc:(xi+1)*kc], g.C)
		}
	}
}

// useWinogradFilter says whether ConvBackwardFilter takes the Winograd form for g: where the
// forward does. Measured as the forward (one thread, three rounds), CPU ms per call against the
// stack form: 32→32 on 16×16 3.83 against 4.88, 64→64 on 8×8 3.42 against 4.85, 16→16 on
// 32×32 5.90 against 4.88.
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
