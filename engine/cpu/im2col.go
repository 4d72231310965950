package cpu

import (
	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// im2col (a span of one col row at a time, for the implicit im2col of conv.go) and col2im (one
// input channel plane at a time: planes are the unit of parallel work, disjoint dx planes).

// rowAligned reports whether input and output rows have the same pitch (stride 1, OutW == W:
// every stride-1 "same" convolution). Then a col row is the input plane shifted by a constant
// offset, with the taps that wrapped around a row edge zeroed, so im2col and col2im work on whole
// planes instead of OutW-long runs.
func rowAligned(g *engine.ConvGeom) bool {
	return g.StrideH == 1 && g.StrideW == 1 && g.OutW == g.W
}

// alignedSpan returns, for tap (r, s) of a row-aligned convolution, the flat output range
// [dlo, dhi) whose source range [dlo+shift, dhi+shift) lies inside the plane, and the valid
// output rows [ohLo, ohHi). Outputs outside [dlo, dhi) read padding.
func alignedSpan(g *engine.ConvGeom, r, s int) (dlo, dhi, shift, ohLo, ohHi int) {
	hw := g.H * g.W
	shift = (r-g.PadH)*g.W + s - g.PadW
	ohLo, ohHi = max(g.PadH-r, 0), min(g.OutH, g.H+g.PadH-r)
	if ohLo >= ohHi {
		return 0, 0, shift, 0, 0
	}
	dlo, dhi = max(ohLo*g.OutW, -shift), min(ohHi*g.OutW, hw-shift)
	return dlo, max(dhi, dlo), shift, ohLo, ohHi
}

// colSpan writes columns [a, b) of the col row of tap (r, s) of one input channel plane (the
// plane's values under output pixels a … b-1, zero where the tap falls in the padding) into
// dst[:b-a].
func colSpan(g *engine.ConvGeom, plane []float32, r, s, a, b int, dst []float32) {
	dst = dst[:b-a]
	ow := g.OutW
	lo, hi := validRange(s, g.StrideW, g.PadW, g.W, ow)
	if rowAligned(g) {
		// One shifted copy of the plane, clipped to [a, b).
		dlo, dhi, shift, ohLo, ohHi := alignedSpan(g, r, s)
		dlo, dhi = min(max(dlo, a), b), min(max(dhi, a), b)
		dhi = max(dhi, dlo)
		clear(dst[:dlo-a])
		if dlo < dhi {
			copy(dst[dlo-a:dhi-a], plane[dlo+shift:dhi+shift])
		}
		clear(dst[dhi-a:])
		// Taps that wrapped into the neighbouring row read padding.
		if lo > 0 || hi < ow {
			for oh := max(ohLo, a/ow); oh < ohHi && oh*ow < b; oh++ {
				base := oh*ow - a
				if base < 0 || base+ow > len(dst) {
					zeroSpan(dst, base, base+lo) // a row cut by the span
					zeroSpan(dst, base+hi, base+ow)
					continue
				}
				// Only a few taps per row: index loops, not clear (a call to memclr).
				row := dst[base : base+ow]
				for i := 0; i < lo; i++ {
					row[i] = 0
				}
				for i := hi; i < ow; i++ {
					row[i] = 0
				}
			}
		}
		return
	}
	if g.StrideW == 1 && a%ow == 0 && b%ow == 0 {
		// Whole output rows at unit stride (valid and partially padded convolutions): each
		// row is zeros, one run of the input row, zeros. The zero runs are a few taps, so they
		// are index loops rather than calls to memclr.
		v0, v1 := lo, max(hi, lo)
		for oh := a / ow; oh < b/ow; oh++ {
			d := dst[oh*ow-a : oh*ow-a+ow]
			ih := oh*g.StrideH - g.PadH + r
			if ih < 0 || ih >= g.H || v0 == v1 {
				for i := 0; i < len(d); i++ {
					d[i] = 0
				}
				continue
			}
			for i := 0; i < v0; i++ {
				d[i] = 0
			}
			iw := ih*g.W + v0 - g.PadW + s
			copy(d[v0:v1], plane[iw:iw+v1-v0])
			for i := v1; i < ow; i++ {
				d[i] = 0
			}
		}
		return
	}
	for oh := a / ow; oh*ow < b; oh++ {
		// Output row oh covers columns [oh*ow, oh*ow+ow); write its part inside [a, b).
		c0, c1 := max(oh*ow, a), min(oh*ow+ow, b)
		d := dst[c0-a : c1-a]
		ih := oh*g.StrideH - g.PadH + r
		if ih < 0 || ih >= g.H || lo >= hi {
			clear(d)
			continue
		}
		w0, w1 := c0-oh*ow, c1-oh*ow // output columns of this piece
		v0, v1 := min(max(lo, w0), w1), max(min(hi, w1), w0)
		v1 = max(v1, v0)
		zeroSpan(d, 0, v0-w0)
		zeroSpan(d, v1-w0, len(d))
		if v0 == v1 {
			continue
		}
		src := plane[ih*g.W:]
		iw := v0*g.StrideW - g.PadW + s
		if g.StrideW == 1 {
			copy(d[v0-w0:v1-w0], src[iw:iw+v1-v0])
			continue
		}
		for j := v0; j < v1; j++ {
			d[j-w0] = src[iw]
			iw += g.StrideW
		}
	}
}

// zeroSpan clears dst[lo:hi] clipped to dst.
func zeroSpan(dst []float32, lo, hi int) {
	for i := max(lo, 0); i < min(hi, len(dst)); i++ {
		dst[i] = 0
	}
}

// col2imPlane adds the R·S col rows of one channel (row stride ld) into its dx plane: the
// adjoint of im2colPlane. In the row-aligned case it zeroes the wrapped taps of col in place
// (col is scratch) before adding whole shifted planes.
func col2imPlane(g *engine.ConvGeom, col, plane []float32, ld int) {
	ow := g.OutW
	aligned := rowAligned(g)
	for r := 0; r < g.R; r++ {
		for s := 0; s < g.S; s++ {
			row := col[(r*g.S+s)*ld:]
			lo, hi := validRange(s, g.StrideW, g.PadW, g.W, ow)
			if aligned {
				dlo, dhi, shift, ohLo, ohHi := alignedSpan(g, r, s)
				if lo > 0 || hi < ow {
					for oh := ohLo; oh < ohHi; oh++ {
						// A few taps per row: index loops, not calls to memclr.
						r := row[oh*ow : oh*ow+ow]
						for i := 0; i < lo; i++ {
							r[i] = 0
						}
						for i := hi; i < ow; i++ {
							r[i] = 0
						}
					}
				}
				if dlo < dhi { // a tap whose rows all fall in the padding has shift < 0 and nothing to add
					addTo(plane[dlo+shift:dhi+shift], row[dlo:dhi])
				}
				continue
			}
			if lo >= hi {
				continue
			}
			for oh := 0; oh < g.OutH; oh++ {
				ih := oh*g.StrideH - g.PadH + r
				if ih < 0 || ih >= g.H {
					continue
				}
				src := row[oh*ow+lo : oh*ow+hi]
				iw := lo*g.StrideW - g.PadW + s
				dst := plane[ih*g.W:]
				if g.StrideW == 1 {
					addTo(dst[iw:iw+len(src)], src)
					continue
				}
				for _, v := range src {
					dst[iw] += v
					iw += g.StrideW
				}
			}
		}
	}
}

// addTo adds src into dst (same length), with sgemm's vector add.
func addTo(dst, src []float32) { sgemm.Add(dst, src) }

// validRange returns the output columns [lo, hi) whose tap s lands inside the input:
// 0 ≤ ow·stride − pad + s < w.
func validRange(s, stride, pad, w, outW int) (lo, hi int) {
	// ow·stride ≥ pad − s
	if d := pad - s; d > 0 {
		lo = (d + stride - 1) / stride
	}
	// ow·stride ≤ w − 1 + pad − s
	if d := w - 1 + pad - s; d < 0 {
		hi = 0
	} else {
		hi = min(d/stride+1, outW)
	}
	return min(lo, outW), hi
}
