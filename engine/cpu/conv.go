package cpu

import (
	"fmt"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// Convolution lowers to GEMM. For image n, im2col builds col, a (C·R·S)×(OutH·OutW) matrix whose
// column (oh, ow) holds the input taps under output pixel (oh, ow) (zero where a tap falls in
// the padding), so that
//
//	forward:         y_n  = W · col_n                    (W is K×CRS)
//	backward data:   dx_n = col2im(Wᵀ · dy_n)
//	backward filter: dW  += dy_n · col_nᵀ
//
// A 1×1, stride-1, unpadded convolution needs no im2col: x_n itself is the C×HW col matrix.
//
// Small images make thin GEMMs (lenet's 14×14 conv has 196 columns per image), so images are
// processed in groups of G whose col matrices sit side by side, giving one GEMM with G·OutH·OutW
// columns; dy and y are gathered into / scattered from the K×(G·OHW) layout that GEMM uses. The
// scratch (d.col) holds one group's col and gathered matrices; G is cut so that it stays within
// convMaxFloats (only a single image whose col matrix alone is larger exceeds it).
//
// Parallelism: groups run one after another. sgemm.Sgemm spreads each product over the cores
// itself (splitting M or N, never the sum over K), and the O(n) stages around it (im2col,
// col2im, gather, scatter) fan out over (image, channel) planes that write disjoint memory. So
// every output is computed in a fixed order and results are bit-identical whatever the core
// count; the filter gradient in particular accumulates group by group straight into dw.

// Group sizing, measured with internal/sgemm on the two benchmark layers: its throughput on these
// thin products (M = K output channels, 16 to 64) keeps rising up to a few thousand columns and
// falls off once the col matrix outgrows the cache. The first two are defaults of Device fields,
// so that tests can force single-image and ragged groups.
const (
	convTargetCols  = 4096     // aim for GEMMs this wide (G·OutH·OutW columns),
	convColFloats   = 1 << 20  // but with a col matrix of at most 4 MiB,
	convTargetFlops = 4 << 20  // and at least this much work, so that sgemm goes parallel
	convMaxFloats   = 16 << 20 // hard scratch bound (64 MiB) unless one image needs more
)

// convPlan is the grouping and scratch layout of one convolution call.
type convPlan struct {
	g      engine.ConvGeom
	crs    int  // rows of col: C·R·S
	ohw    int  // output pixels per image
	direct bool // 1×1 stride-1 unpadded: col_n is x_n
	group  int  // images per GEMM
}

func (d *Device) planConv(kernel string, g engine.ConvGeom) convPlan {
	if err := g.Validate(); err != nil {
		panic(fmt.Sprintf("cpu: %s: %v", kernel, err))
	}
	p := convPlan{g: g, crs: g.C * g.R * g.S, ohw: g.OutH * g.OutW}
	p.direct = g.R == 1 && g.S == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0 && g.OutH == g.H && g.OutW == g.W
	if p.direct {
		p.group = 1
		return p
	}
	perImage := (p.crs + g.K) * p.ohw
	flops := 2 * g.K * p.crs * p.ohw
	p.group = min(ceilDiv(d.convCols, p.ohw), convColFloats/(p.crs*p.ohw))
	p.group = max(p.group, ceilDiv(d.convFlops, max(flops, 1)), 1)
	p.group = min(p.group, g.N, max(convMaxFloats/perImage, 1))
	return p
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// scratch returns the col matrix (crs × nb·ohw) and the gathered-output matrix (K × nb·ohw) for
// a group of nb images, both with row stride nb·ohw.
func (p *convPlan) scratch(d *Device) (col, out []float32) {
	ld := p.group * p.ohw
	s := d.scratch((p.crs + p.g.K) * ld)
	return s[:p.crs*ld], s[p.crs*ld:]
}

// planeGrain is the number of (image, channel) planes per goroutine in the O(n) conv stages.
func (p *convPlan) planeGrain() int {
	return max(grainStream/max(p.g.R*p.g.S*p.ohw, 1), 1)
}

// im2colGroup writes the col matrices of images x[n0 : n0+nb] side by side (row stride nb·ohw).
func (d *Device) im2colGroup(p *convPlan, xs, col []float32, n0, nb int) {
	g := &p.g
	hw, ld := g.H*g.W, nb*p.ohw
	rows := g.R * g.S * ld
	d.parallel(nb*g.C, p.planeGrain(), func(lo, hi int) {
		for u := lo; u < hi; u++ {
			j, c := u/g.C, u%g.C
			plane := xs[((n0+j)*g.C+c)*hw : ((n0+j)*g.C+c+1)*hw]
			im2colPlane(g, plane, col[c*rows+j*p.ohw:], ld)
		}
	})
}

// gatherOut copies nb images of a [nb, K, OHW] tensor into dst as one K×(nb·OHW) matrix.
func (d *Device) gatherOut(p *convPlan, dst, src []float32, nb int) {
	k, ohw := p.g.K, p.ohw
	ld := nb * ohw
	d.parallel(nb, max(grainStream/(k*ohw), 1), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			for kk := 0; kk < k; kk++ {
				copy(dst[kk*ld+j*ohw:kk*ld+(j+1)*ohw], src[(j*k+kk)*ohw:])
			}
		}
	})
}

// scatterOut is the inverse of gatherOut.
func (d *Device) scatterOut(p *convPlan, dst, src []float32, nb int) {
	k, ohw := p.g.K, p.ohw
	ld := nb * ohw
	d.parallel(nb, max(grainStream/(k*ohw), 1), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			for kk := 0; kk < k; kk++ {
				copy(dst[(j*k+kk)*ohw:(j*k+kk+1)*ohw], src[kk*ld+j*ohw:])
			}
		}
	})
}

// convBuffers checks and returns the x, w, y (or dx, w, dy) memory of a convolution.
func convBuffers(kernel string, g engine.ConvGeom, x, w, y engine.Buffer, xn, wn, yn string) ([]float32, []float32, []float32) {
	xs, ws, ys := Data(x), Data(w), Data(y)
	need(kernel, xn, xs, g.InputLen())
	need(kernel, wn, ws, g.WeightLen())
	need(kernel, yn, ys, g.OutputLen())
	return xs, ws, ys
}

// ConvForward: y = x ⋆ w (cross-correlation), overwriting y.
func (d *Device) ConvForward(g engine.ConvGeom, x, w, y engine.Buffer) {
	xs, ws, ys := convBuffers("ConvForward", g, x, w, y, "x", "w", "y")
	p := d.planConv("ConvForward", g)
	in, out := g.C*g.H*g.W, g.K*p.ohw
	if p.direct {
		for n := 0; n < g.N; n++ {
			sgemm.Sgemm(false, false, g.K, p.ohw, g.C, 1, ws, g.C, xs[n*in:(n+1)*in], p.ohw, 0, ys[n*out:(n+1)*out], p.ohw)
		}
		return
	}
	colAll, tmpAll := p.scratch(d)
	for n0 := 0; n0 < g.N; n0 += p.group {
		nb := min(p.group, g.N-n0)
		ld := nb * p.ohw
		col := colAll[:p.crs*ld]
		d.im2colGroup(&p, xs, col, n0, nb)
		if nb == 1 {
			sgemm.Sgemm(false, false, g.K, ld, p.crs, 1, ws, p.crs, col, ld, 0, ys[n0*out:(n0+1)*out], ld)
			continue
		}
		tmp := tmpAll[:g.K*ld]
		sgemm.Sgemm(false, false, g.K, ld, p.crs, 1, ws, p.crs, col, ld, 0, tmp, ld)
		d.scatterOut(&p, ys[n0*out:(n0+nb)*out], tmp, nb)
	}
}

// ConvBackwardData: dx = beta*dx + ∂(x ⋆ w)/∂x · dy. This is also a transposed convolution of
// dy.
func (d *Device) ConvBackwardData(g engine.ConvGeom, dy, w, dx engine.Buffer, beta float32) {
	dxs, ws, dys := convBuffers("ConvBackwardData", g, dx, w, dy, "dx", "w", "dy")
	p := d.planConv("ConvBackwardData", g)
	hw, in, out := g.H*g.W, g.C*g.H*g.W, g.K*p.ohw
	if p.direct {
		for n := 0; n < g.N; n++ {
			sgemm.Sgemm(true, false, g.C, p.ohw, g.K, 1, ws, g.C, dys[n*out:(n+1)*out], p.ohw, beta, dxs[n*in:(n+1)*in], p.ohw)
		}
		return
	}
	colAll, tmpAll := p.scratch(d)
	rows := g.R * g.S
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
		d.parallel(nb*g.C, p.planeGrain(), func(lo, hi int) {
			for u := lo; u < hi; u++ {
				j, c := u/g.C, u%g.C
				plane := dxs[((n0+j)*g.C+c)*hw : ((n0+j)*g.C+c+1)*hw]
				switch beta {
				case 0:
					clear(plane) // beta 0: dx is never read, it may hold NaN
				case 1:
				default:
					for i := range plane {
						plane[i] *= beta
					}
				}
				col2imPlane(&p.g, col[c*rows*ld+j*p.ohw:], plane, ld)
			}
		})
	}
}

// ConvBackwardFilter: dw += ∂(x ⋆ w)/∂w · dy, accumulated group by group in image order.
func (d *Device) ConvBackwardFilter(g engine.ConvGeom, x, dy, dw engine.Buffer) {
	xs, dws, dys := convBuffers("ConvBackwardFilter", g, x, dw, dy, "x", "dw", "dy")
	p := d.planConv("ConvBackwardFilter", g)
	in, out := g.C*g.H*g.W, g.K*p.ohw
	if p.direct {
		for n := 0; n < g.N; n++ {
			sgemm.Sgemm(false, true, g.K, g.C, p.ohw, 1, dys[n*out:(n+1)*out], p.ohw, xs[n*in:(n+1)*in], p.ohw, 1, dws, g.C)
		}
		return
	}
	colAll, tmpAll := p.scratch(d)
	for n0 := 0; n0 < g.N; n0 += p.group {
		nb := min(p.group, g.N-n0)
		ld := nb * p.ohw
		col := colAll[:p.crs*ld]
		d.im2colGroup(&p, xs, col, n0, nb)
		dyg := dys[n0*out : (n0+1)*out]
		if nb > 1 {
			dyg = tmpAll[:g.K*ld]
			d.gatherOut(&p, dyg, dys[n0*out:(n0+nb)*out], nb)
		}
		sgemm.Sgemm(false, true, g.K, p.crs, ld, 1, dyg, ld, col, ld, 1, dws, p.crs)
	}
}
