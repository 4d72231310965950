package cpu

import "github.com/gazeml/gaze/engine"

// im2col and col2im, one input channel plane at a time: planes are the unit of parallel work
// (disjoint col rows, disjoint dx planes).

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

// im2colPlane writes the R·S col rows of one input channel plane into col (those rows only,
// row stride ld).
func im2colPlane(g *engine.ConvGeom, plane, col []float32, ld int) {
	ow, ohw := g.OutW, g.OutH*g.OutW
	aligned := rowAligned(g)
	for r := 0; r < g.R; r++ {
		for s := 0; s < g.S; s++ {
			row := col[(r*g.S+s)*ld:]
			lo, hi := validRange(s, g.StrideW, g.PadW, g.W, ow)
			if aligned {
				row = row[:ohw]
				dlo, dhi, shift, ohLo, ohHi := alignedSpan(g, r, s)
				clear(row[:dlo])
				copy(row[dlo:dhi], plane[dlo+shift:dhi+shift])
				clear(row[dhi:])
				// Taps that wrapped into the neighbouring row read padding.
				if lo > 0 || hi < ow {
					for oh := ohLo; oh < ohHi; oh++ {
						clear(row[oh*ow : oh*ow+lo])
						clear(row[oh*ow+hi : oh*ow+ow])
					}
				}
				continue
			}
			for oh := 0; oh < g.OutH; oh++ {
				dst := row[oh*ow : oh*ow+ow]
				ih := oh*g.StrideH - g.PadH + r
				if ih < 0 || ih >= g.H || lo >= hi {
					clear(dst)
					continue
				}
				clear(dst[:lo])
				clear(dst[hi:])
				src := plane[ih*g.W:]
				iw := lo*g.StrideW - g.PadW + s
				if g.StrideW == 1 {
					copy(dst[lo:hi], src[iw:iw+hi-lo])
					continue
				}
				for j := lo; j < hi; j++ {
					dst[j] = src[iw]
					iw += g.StrideW
				}
			}
		}
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
						clear(row[oh*ow : oh*ow+lo])
						clear(row[oh*ow+hi : oh*ow+ow])
					}
				}
				addTo(plane[dlo+shift:dhi+shift], row[dlo:dhi])
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

// addTo adds src into dst (same length), four at a time.
func addTo(dst, src []float32) {
	src = src[:len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		d, s := dst[i:i+4:i+4], src[i:i+4:i+4]
		d[0] += s[0]
		d[1] += s[1]
		d[2] += s[2]
		d[3] += s[3]
	}
	for ; i < len(dst); i++ {
		dst[i] += src[i]
	}
}

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
