package cpu

import (
	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// Convolution lowers to GEMM. For image n, col_n is the (C·R·S)×(OutH·OutW) im2col matrix whose
// column (oh, ow) holds the input taps under output pixel (oh, ow) (zero where a tap falls in
// the padding), so that
//
//	forward:         y_n  = W · col_n                    (W is K×CRS)
//	backward filter: dW  += dy_n · col_nᵀ
//	backward data:   dx_n = col2im(Wᵀ · dy_n)
//
// col is never stored: sgemm takes op(B) from a BPacker (colPacker), which generates each
// kc×nc block of col (or colᵀ) straight into sgemm's packing buffer, a row at a time through an
// L1-sized buffer. This implicit im2col saves writing and re-reading a col matrix that is
// C·R·S times larger than the input (the dominant memory traffic of the explicit form).
//
// Backward data with unit strides is itself a convolution: dx = dy ⋆ W', with W' the filters
// transposed (C×K) and flipped (r → R-1-r, s → S-1-s) and padding R-1-PadH, S-1-PadW. It runs as
// a forward convolution (implicit im2col of dy, one GEMM with depth K·R·S), so there is no col2im
// scatter-add. Strided convolutions keep the explicit col = Wᵀ·dy followed by col2im.
//
// A 1×1, stride-1, unpadded convolution needs no im2col: x_n itself is the C×HW col matrix. Its
// products run one image per worker part (direct1x1Args, filter1x1Args): the filter gradient with
// sgemm.AddABt, which reads dy_n and x_n in place, into per-image scratch added to dw in image
// order.
//
// Small images make thin GEMMs (lenet's 14×14 conv has 196 columns per image), so images are
// processed in groups of G side by side, giving one GEMM with G·OutH·OutW columns; dy and y are
// gathered into / scattered from the K×(G·OHW) layout that GEMM uses.
//
// Parallelism (other than the 1×1 case above): groups run one after another. sgemm spreads
// each product over the cores itself (splitting M or N, never the sum over K), and the O(n)
// stages around it (gather, scatter, col2im) fan out over images or (image, channel) planes that
// write disjoint memory. So every output is computed in a fixed order and results are
// bit-identical whatever the core count; the filter gradient in particular accumulates group by
// group straight into dw.

// Group sizing, measured with internal/sgemm on the two benchmark layers: its throughput on these
// thin products (M = K output channels, 16 to 64) keeps rising up to a few thousand columns. The
// first two are defaults of Device fields, so that tests can force single-image and ragged
// groups.
const (
	convTargetCols  = 4096     // aim for GEMMs this wide (G·OutH·OutW columns),
	convColFloats   = 1 << 18  // with an explicit col matrix (backward data) of at most 1 MiB (L2-sized: 4 MiB cost 11% more CPU on lenet_conv2),
	convTargetFlops = 4 << 20  // and at least this much work, so that sgemm goes parallel
	convMaxFloats   = 16 << 20 // hard scratch bound (64 MiB) unless one image needs more
)

// convPlan is the grouping and scratch layout of one convolution call.
type convPlan struct {
	g      engine.ConvGeom
	crs    int  // rows of col: C·R·S
	ohw    int  // output pixels per image
	direct bool // 1×1 stride-1 unpadded: col_n is x_n
	col    bool // the call stores col explicitly (strided backward data)
	group  int  // images per GEMM
}

func (d *Device) planConv(g engine.ConvGeom, col bool) convPlan {
	p := convPlan{g: g, crs: g.C * g.R * g.S, ohw: g.OutH * g.OutW, col: col}
	p.direct = g.R == 1 && g.S == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0 && g.OutH == g.H && g.OutW == g.W
	if p.direct {
		p.group = 1
		return p
	}
	perImage := g.K * p.ohw
	p.group = ceilDiv(d.convCols, p.ohw)
	if col {
		perImage += p.crs * p.ohw
		p.group = min(p.group, convColFloats/(p.crs*p.ohw))
	}
	flops := 2 * g.K * p.crs * p.ohw
	p.group = max(p.group, ceilDiv(d.convFlops, max(flops, 1)), 1)
	p.group = min(p.group, g.N, max(convMaxFloats/perImage, 1))
	return p
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// scratch returns the col matrix (crs × nb·ohw, empty unless p.col) and the gathered-output
// matrix (K × nb·ohw) for a group of nb images, both with row stride nb·ohw.
func (p *convPlan) scratch(d *Device) (col, out []float32) {
	ld := p.group * p.ohw
	rows := p.g.K
	if p.col {
		rows += p.crs
	}
	s := d.scratch(rows * ld)
	return s[:len(s)-p.g.K*ld], s[len(s)-p.g.K*ld:]
}

// planeGrain is the number of (image, channel) planes per chunk in the O(n) conv stages.
func (p *convPlan) planeGrain() int {
	return max(grainStream/max(p.g.R*p.g.S*p.ohw, 1), 1)
}

// colPacker is the implicit im2col: it presents col of images x[n0 : n0+nb] (side by side, so
// column j is pixel j%ohw of image n0+j/ohw) to sgemm as op(B) = col, or op(B) = colᵀ with
// trans (the filter gradient). It only reads x, so sgemm may call it from several goroutines.
type colPacker struct {
	g     engine.ConvGeom
	x     []float32
	n0    int
	trans bool
}

// PackB implements sgemm.BPacker.
func (cp *colPacker) PackB(dst, tmp []float32, p0, kc, j0, nc int) {
	if !cp.trans {
		// op(B) rows are col rows: generate each row segment, then store it as one k step.
		row := tmp[:nc]
		for p := 0; p < kc; p++ {
			cp.row(p0+p, j0, j0+nc, row)
			sgemm.PackBRow(dst, kc, p, row)
		}
		return
	}
	// op(B) = colᵀ: its columns are col rows over pixels [p0, p0+kc).
	for jr := 0; jr < nc; jr += sgemm.NR {
		cols := min(sgemm.NR, nc-jr)
		for jj := 0; jj < cols; jj++ {
			cp.row(j0+jr+jj, p0, p0+kc, tmp[jj*kc:(jj+1)*kc])
		}
		sgemm.PackBColumns(dst[jr*kc:], kc, tmp[:cols*kc], cols)
	}
}

// row writes columns [a, b) of col row q = (c, r, s) into out[:b-a].
func (cp *colPacker) row(q, a, b int, out []float32) {
	g := &cp.g
	rs := g.R * g.S
	c, r, s := q/rs, q%rs/g.S, q%g.S
	hw, ohw := g.H*g.W, g.OutH*g.OutW
	for a < b {
		img, pix := a/ohw, a%ohw
		n := min(b-a, ohw-pix)
		off := ((cp.n0+img)*g.C + c) * hw
		colSpan(g, cp.x[off:off+hw], r, s, pix, pix+n, out[:n])
		out = out[n:]
		a += n
	}
}

// convArgs is the GEMM side of a convolution call, kept in the Device so that the packer handed
// to sgemm (an interface holding a pointer to cp) allocates nothing.
type convArgs struct {
	cp colPacker
}

// ConvForward: y = x ⋆ w (cross-correlation), overwriting y.
func (d *Device) ConvForward(g engine.ConvGeom, x, w, y engine.Buffer) {
	xs, ws, ys := Data(x), Data(w), Data(y)
	if conv1Fits(g) {
		d.conv1Forward(g, xs, ws, ys)
		return
	}
	d.convForward(d.planConv(g, false), xs, ws, ys, 0)
}

// convForward sets y = beta*y + x ⋆ w.
func (d *Device) convForward(p convPlan, xs, ws, ys []float32, beta float32) {
	g := p.g
	out := g.K * p.ohw
	if p.direct {
		// y_n = W·x_n.
		args := direct1x1Args{m: g.K, n: p.ohw, k: g.C, a: ws, lda: g.C, b: xs, c: ys, beta: beta}
		launch(d, &d.k.direct1x1, args, g.N, 1)
		return
	}
	if d.useWinograd(g) {
		d.convForwardWinograd(g, xs, ws, ys, beta)
		return
	}
	if s, ok := d.planStack(g); ok {
		d.convForwardStack(&s, xs, ws, ys, beta)
		return
	}
	_, tmpAll := p.scratch(d)
	cp := &d.conv.cp
	defer func() { *cp = colPacker{} }()
	for n0 := 0; n0 < g.N; n0 += p.group {
		nb := min(p.group, g.N-n0)
		ld := nb * p.ohw
		*cp = colPacker{g: g, x: xs, n0: n0}
		if nb == 1 {
			sgemm.SgemmPacked(false, g.K, ld, p.crs, 1, ws, p.crs, cp, beta, ys[n0*out:(n0+1)*out], ld)
			continue
		}
		tmp := tmpAll[:g.K*ld]
		sgemm.SgemmPacked(false, g.K, ld, p.crs, 1, ws, p.crs, cp, 0, tmp, ld)
		d.scatterOut(&p, ys[n0*out:(n0+nb)*out], tmp, nb, beta)
	}
}

// im2colArgs: col2im of the explicit col matrix of images n0 : n0+nb (row stride nb·ohw), one
// (image, channel) plane per index: dx = beta*dx + col2im(col).
type im2colArgs struct {
	p      convPlan
	dx     []float32
	col    []float32
	n0, nb int
	beta   float32
}

func (a *im2colArgs) run(lo, hi int) {
	g := &a.p.g
	hw, ld := g.H*g.W, a.nb*a.p.ohw
	rows := g.R * g.S * ld
	for u := lo; u < hi; u++ {
		j, c := u/g.C, u%g.C
		plane := a.dx[((a.n0+j)*g.C+c)*hw : ((a.n0+j)*g.C+c+1)*hw]
		scaleBeta(plane, a.beta)
		col2imPlane(g, a.col[c*rows+j*a.p.ohw:], plane, ld)
	}
}

// gatherArgs copies nb images between a [nb, K, OHW] tensor and one K×(nb·OHW) matrix:
// gather (tensor → matrix) or, with scatter, back (tensor = beta·tensor + matrix).
type gatherArgs struct {
	k, ohw, nb int
	dst, src   []float32
	scatter    bool
	beta       float32
}

func (a *gatherArgs) run(lo, hi int) {
	k, ohw, ld := a.k, a.ohw, a.nb*a.ohw
	for j := lo; j < hi; j++ {
		for kk := 0; kk < k; kk++ {
			t, m := (j*k+kk)*ohw, kk*ld+j*ohw // tensor and matrix offsets
			if !a.scatter {
				copy(a.dst[m:m+ohw], a.src[t:t+ohw])
				continue
			}
			dst, src := a.dst[t:t+ohw], a.src[m:m+ohw]
			storeBeta(dst, src, a.beta)
		}
	}
}

// gatherOut copies nb images of a [nb, K, OHW] tensor into dst as one K×(nb·OHW) matrix.
func (d *Device) gatherOut(p *convPlan, dst, src []float32, nb int) {
	args := gatherArgs{k: p.g.K, ohw: p.ohw, nb: nb, dst: dst, src: src}
	launch(d, &d.k.gather, args, nb, max(grainStream/(p.g.K*p.ohw), 1))
}

// scatterOut is the inverse of gatherOut, blended as dst = beta·dst + src.
func (d *Device) scatterOut(p *convPlan, dst, src []float32, nb int, beta float32) {
	args := gatherArgs{k: p.g.K, ohw: p.ohw, nb: nb, dst: dst, src: src, scatter: true, beta: beta}
	launch(d, &d.k.gather, args, nb, max(grainStream/(p.g.K*p.ohw), 1))
}

// transposedGeom returns the geometry of dx = dy ⋆ W' (see the top of the file), and false when
// g has strides or a padding of a whole kernel or more, or when the explicit col2im form is
// cheaper. With im2col both spend O(1) memory operations per element of a matrix beside a GEMM:
// the transposed form packs K·R·S × G·H·W of dy, the explicit one writes and scatters C·R·S ×
// G·OutH·OutW of col. Per multiply-add that is 1/C against 1/K: measured (single-threaded CPU
// time) the transposed form is 12% cheaper for resnet's 16→16 and 30% dearer for lenet's 20→40.
// When the transposed convolution fits the stack form (conv_stack.go), which packs nothing, it
// is the cheaper one as long as its product has rows enough for the micro-kernel: C ≥ 4 (lenet5's
// 6→16 spent 22% of its step's CPU time in the explicit form's col2im, and the step went from
// 10.1 to 8.8 CPU ms; lenet's first layer has C = 1, a product of one row).
func (d *Device) transposedGeom(g engine.ConvGeom) (engine.ConvGeom, bool) {
	if g.StrideH != 1 || g.StrideW != 1 || g.PadH >= g.R || g.PadW >= g.S {
		return g, false
	}
	t := engine.ConvGeom{N: g.N, C: g.K, H: g.OutH, W: g.OutW, K: g.C, R: g.R, S: g.S, StrideH: 1, StrideW: 1,
		PadH: g.R - 1 - g.PadH, PadW: g.S - 1 - g.PadW, OutH: g.H, OutW: g.W}
	if t.Validate() != nil {
		return g, false
	}
	if _, stack := d.planStack(t); g.C < g.K && (!stack || g.C < 4) {
		return g, false
	}
	return t, true
}

// ConvBackwardData: dx = beta*dx + ∂(x ⋆ w)/∂x · dy. This is also a transposed convolution of
// dy.
func (d *Device) ConvBackwardData(g engine.ConvGeom, dy, w, dx engine.Buffer, beta float32) {
	dxs, ws, dys := Data(dx), Data(w), Data(dy)
	p := d.planConv(g, false)
	out := g.K * p.ohw
	if p.direct {
		// dx_n = Wᵀ·dy_n.
		args := direct1x1Args{transA: true, m: g.C, n: p.ohw, k: g.K, a: ws, lda: g.C, b: dys, c: dxs, beta: beta}
		launch(d, &d.k.direct1x1, args, g.N, 1)
		return
	}
	if t, ok := d.transposedGeom(g); ok {
		// W'[c, k, r, s] = W[k, c, R-1-r, S-1-s].
		if cap(d.wflip) < len(ws) {
			d.wflip = make([]float32, len(ws))
		}
		wf := d.wflip[:len(ws)]
		rs := g.R * g.S
		for k := 0; k < g.K; k++ {
			for c := 0; c < g.C; c++ {
				src := ws[(k*g.C+c)*rs : (k*g.C+c+1)*rs]
				dst := wf[(c*g.K+k)*rs : (c*g.K+k+1)*rs]
				for i, v := range src {
					dst[rs-1-i] = v
				}
			}
		}
		d.convForward(d.planConv(t, false), dys, wf, dxs, beta)
		return
	}
	if ph, ok := d.planPhases(g); ok {
		d.convDataPhases(&ph, dys, ws, dxs, beta)
		return
	}
	p = d.planConv(g, true)
	colAll, tmpAll := p.scratch(d)
	for n0 := 0; n0 < g.N; n0 += p.group {
		nb := min(p.group, g.N-n0)
		ld := nb * p.ohw
		col := colAll[:p.crs*ld]
		dyg := dys[n0*out : (n0+1)*out]
		if nb > 1 {
			dyg = tmpAll[:g.K*ld]
			d.gatherOut(&p, dyg, dys[n0*out:(n0+nb)*out], nb)
		}
		sgemm.Sgemm(true, false, p.crs, ld, g.K, 1, ws, p.crs, dyg, ld, 0, col, ld)
		args := im2colArgs{p: p, dx: dxs, col: col, n0: n0, nb: nb, beta: beta}
		launch(d, &d.k.im2col, args, nb*g.C, p.planeGrain())
	}
}

// ConvBackwardFilter: dw += ∂(x ⋆ w)/∂w · dy, accumulated group by group in image order.
func (d *Device) ConvBackwardFilter(g engine.ConvGeom, x, dy, dw engine.Buffer) {
	xs, dws, dys := Data(x), Data(dw), Data(dy)
	p := d.planConv(g, false)
	out := g.K * p.ohw
	if p.direct {
		// dw += Σ_n dy_n·x_nᵀ: both operands run along the pixels, so sgemm.AddABt reads them
		// in place. Images are the parallel unit (a part per image, each serial); their
		// products land in scratch and are added to dw in image order, so the result does not
		// depend on the core count.
		part := d.scratch(g.N * g.K * g.C)
		launch(d, &d.k.filter1x1, filter1x1Args{g: g, x: xs, dy: dys, part: part}, g.N, 1)
		for n := 0; n < g.N; n++ {
			addTo(dws, part[n*len(dws):(n+1)*len(dws)])
		}
		return
	}
	if d.useWinogradFilter(g) {
		d.convFilterWinograd(g, xs, dys, dws)
		return
	}
	if conv1FilterFits(g) {
		d.conv1Filter(g, xs, dys, dws)
		return
	}
	if s, ok := d.planStack(g); ok {
		d.convFilterStack(&s, xs, dys, dws)
		return
	}
	_, tmpAll := p.scratch(d)
	cp := &d.conv.cp
	defer func() { *cp = colPacker{} }()
	for n0 := 0; n0 < g.N; n0 += p.group {
		nb := min(p.group, g.N-n0)
		ld := nb * p.ohw
		dyg := dys[n0*out : (n0+1)*out]
		if nb > 1 {
			dyg = tmpAll[:g.K*ld]
			d.gatherOut(&p, dyg, dys[n0*out:(n0+nb)*out], nb)
		}
		*cp = colPacker{g: g, x: xs, n0: n0, trans: true}
		sgemm.SgemmPacked(false, g.K, p.crs, ld, 1, dyg, ld, cp, 1, dws, p.crs)
	}
}

// direct1x1Args: c_n = op(A)·b_n + beta·c_n for the images n of a 1×1, stride-1 convolution
// (b_n: k×n and c_n: m×n, consecutive in b and c; op(A) is m×k, stored with row stride lda, or
// transposed). Images are the parallel unit: each part runs whole images (sgemm's own split of a
// product then runs serially inside it, as the worker pool is busy), which measured 5–8% less CPU
// than splitting every image's product over the cores, and keeps each core on its own image.
//
// A product with fewer than 6 output rows (the painter's last layer has one) is too thin for
// sgemm's 6×16 micro-kernel, which would compute six and pack all of b_n for them; it runs as
// rank-1 row updates (sgemm.Axpy) over column chunks that keep a chunk of c_n in L1.
type direct1x1Args struct {
	transA  bool
	m, n, k int
	a       []float32
	lda     int
	b, c    []float32
	beta    float32
}

const thinChunk = 1024 // columns per chunk of the thin product

func (a *direct1x1Args) run(lo, hi int) {
	m, n, k := a.m, a.n, a.k
	for img := lo; img < hi; img++ {
		b, c := a.b[img*k*n:(img+1)*k*n], a.c[img*m*n:(img+1)*m*n]
		if m >= 6 {
			sgemm.Sgemm(a.transA, false, m, n, k, 1, a.a, a.lda, b, n, a.beta, c, n)
			continue
		}
		ars, aps := a.lda, 1 // op(A)(i, p) = a[i·ars + p·aps]
		if a.transA {
			ars, aps = 1, a.lda
		}
		for j0 := 0; j0 < n; j0 += thinChunk {
			j1 := min(j0+thinChunk, n)
			for i := 0; i < m; i++ {
				row := c[i*n+j0 : i*n+j1]
				scaleBeta(row, a.beta)
				for p := 0; p < k; p++ {
					sgemm.Axpy(row, a.a[i*ars+p*aps], b[p*n+j0:p*n+j1])
				}
			}
		}
	}
}

// filter1x1Args: part[n] = dy_n·x_nᵀ (K×C) for the images of a 1×1, stride-1 convolution.
type filter1x1Args struct {
	g           engine.ConvGeom
	x, dy, part []float32
}

func (a *filter1x1Args) run(lo, hi int) {
	g := &a.g
	hw, kc := g.H*g.W, g.K*g.C
	for n := lo; n < hi; n++ {
		part := a.part[n*kc : (n+1)*kc]
		clear(part)
		sgemm.AddABt(g.K, g.C, hw, a.dy[n*g.K*hw:(n+1)*g.K*hw], hw, a.x[n*g.C*hw:(n+1)*g.C*hw], hw, part, g.C)
	}
}

// scaleBeta applies the beta of an accumulate-into output: beta 0 overwrites (the output is
// never read, so it may hold NaN), 1 keeps it, anything else scales it.
func scaleBeta(dst []float32, beta float32) {
	switch beta {
	case 0:
		clear(dst)
	case 1:
	default:
		for i := range dst {
			dst[i] *= beta
		}
	}
}

// storeBeta sets dst = src + beta·dst (beta 0: a copy, 1: an add, as the kernels' beta argument).
func storeBeta(dst, src []float32, beta float32) {
	switch beta {
	case 0:
		copy(dst, src)
	case 1:
		addTo(dst, src)
	default:
		for i, v := range src {
			dst[i] = beta*dst[i] + v
		}
	}
}
