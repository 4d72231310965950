package sgemm

// MaxPool2x2 sets yp[i·ow + j] to the maximum (Go's max: NaN wins, +0 over -0) of the 2×2 window
// at row 2i, column 2j of the plane xp (row stride w), for i < oh, j < ow.
func MaxPool2x2(xp, yp []float32, w, oh, ow int) {
	if oh == 0 || ow == 0 {
		return
	}
	_ = xp[(2*oh-1)*w+2*ow-1]
	_ = yp[oh*ow-1]
	if Current() == AVX512 {
		klo, khi, kout := poolMasks(ow)
		maxPool2x2Z(&xp[0], &yp[0], w, oh, ow, klo, khi, kout)
		return
	}
	for i := 0; i < oh; i++ {
		r0 := xp[2*i*w : 2*i*w+w]
		r1 := xp[(2*i+1)*w : (2*i+1)*w+w]
		yr := yp[i*ow : (i+1)*ow]
		for j := range yr {
			yr[j] = max(max(r0[2*j], r0[2*j+1]), max(r1[2*j], r1[2*j+1]))
		}
	}
}

// MaxPool2x2Backward routes each dyp[i·ow + j] to the cell of its window that MaxPool2x2's
// maximum came from (the first maximum in row-major order) and zeroes the window's other cells,
// for the windows of an h×w plane; cells outside every window (odd h or w) are zeroed too.
func MaxPool2x2Backward(xp, dyp, dxp []float32, h, w, oh, ow int) {
	if 2*oh != h || 2*ow != w {
		clear(dxp[:h*w])
	}
	if oh == 0 || ow == 0 {
		return
	}
	_ = xp[(2*oh-1)*w+2*ow-1]
	_ = dxp[(2*oh-1)*w+2*ow-1]
	_ = dyp[oh*ow-1]
	if Current() == AVX512 {
		klo, khi, kout := poolMasks(ow)
		maxPool2x2BackZ(&xp[0], &dyp[0], &dxp[0], w, oh, ow, klo, khi, kout)
		return
	}
	for i := 0; i < oh; i++ {
		r0 := xp[2*i*w : 2*i*w+w]
		r1 := xp[(2*i+1)*w : (2*i+1)*w+w]
		d0 := dxp[2*i*w : 2*i*w+w]
		d1 := dxp[(2*i+1)*w : (2*i+1)*w+w]
		dr := dyp[i*ow : (i+1)*ow]
		for j, g := range dr {
			a, b, c, e := r0[2*j], r0[2*j+1], r1[2*j], r1[2*j+1]
			// A branch-free tournament (random data mispredicts every branchy version): the
			// first pair wins ties, and within a pair the first cell does, so this is the
			// first maximum in row-major order.
			k1, k2 := b2i(b > a), 2+b2i(e > c)
			k := k1 + b2i(max(c, e) > max(a, b))*(k2-k1)
			d0[2*j], d0[2*j+1], d1[2*j], d1[2*j+1] = 0, 0, 0, 0
			dxp[(2*i+k>>1)*w+2*j+k&1] = g
		}
	}
}

// poolMasks returns the lane masks of the last, partial block of 16 outputs of a pooled row of
// ow: its 2·(ow%16) inputs in the first and second input vector, and its ow%16 outputs.
func poolMasks(ow int) (klo, khi, kout int) {
	rem := ow % 16
	in := 2 * rem
	klo = 1<<min(in, 16) - 1
	khi = 1<<max(in-16, 0) - 1
	kout = 1<<rem - 1
	return
}

// Deinterleave sets even[j] = src[2j] and, unless odd is nil, odd[j] = src[2j+1] for every
// pair of src (even also takes src's last element when its length is odd): the column phases of
// a row for a stride-2 convolution (the cpu device's stack form).
func Deinterleave(src, even, odd []float32) {
	pairs := len(src) / 2
	even = even[:(len(src)+1)/2]
	if odd != nil {
		odd = odd[:pairs]
	}
	z := 0
	if Current() == AVX512 {
		z = pairs &^ 7
	}
	if z > 0 {
		var o *float32
		if odd != nil {
			o = &odd[0]
		}
		deinterleaveRowsZ(&src[0], &even[0], o, z, 1, 0, z)
	}
	for j := z; j < pairs; j++ {
		even[j] = src[2*j]
	}
	if odd != nil {
		for j := z; j < pairs; j++ {
			odd[j] = src[2*j+1]
		}
	}
	if len(src)%2 == 1 {
		even[pairs] = src[2*pairs]
	}
}

// DeinterleaveRows is Deinterleave over rows rows of src (srcStride floats apart, each of length
// w), into rows of even and odd dstStride floats apart, each zero from its ⌈w/2⌉ (even) or
// ⌊w/2⌋ (odd) values up to dstStride; odd may be nil. On AVX-512, when w is a multiple of 16,
// the whole plane is one kernel call: row by row, the calls cost more than the copying on
// resnet20's 32- and 16-wide rows.
func DeinterleaveRows(src []float32, srcStride, w int, even, odd []float32, dstStride, rows int) {
	if rows == 0 {
		return
	}
	_ = src[(rows-1)*srcStride+w-1]
	_ = even[rows*dstStride-1]
	if odd != nil {
		_ = odd[rows*dstStride-1]
	}
	if Current() == AVX512 && w%16 == 0 && w > 0 {
		var o *float32
		if odd != nil {
			o = &odd[0]
		}
		deinterleaveRowsZ(&src[0], &even[0], o, w/2, rows, srcStride, dstStride)
		return
	}
	var ro []float32
	for r := 0; r < rows; r++ {
		re := even[r*dstStride : (r+1)*dstStride]
		if odd != nil {
			ro = odd[r*dstStride : (r+1)*dstStride]
		}
		Deinterleave(src[r*srcStride:r*srcStride+w], re, ro)
		clear(re[(w+1)/2:])
		if odd != nil {
			clear(ro[w/2:])
		}
	}
}

// InterleaveRows is the inverse of DeinterleaveRows, blended into dst: for each of rows rows of
// dst (dstStride floats apart, each of length w) and of even and odd (srcStride apart),
// dst[2j] = beta·dst[2j] + even[j] and dst[2j+1] = beta·dst[2j+1] + odd[j] (beta 0 overwrites,
// 1 adds, as the kernels' beta argument), or with odd nil dst[2j+1] = beta·dst[2j+1] (beta 0:
// zero). On AVX-512, for beta 0 or 1 and w a multiple of 16, the whole plane is one kernel call.
func InterleaveRows(dst []float32, dstStride, w int, even, odd []float32, srcStride, rows int, beta float32) {
	if rows == 0 || w == 0 {
		return
	}
	_ = dst[(rows-1)*dstStride+w-1]
	_ = even[(rows-1)*srcStride+(w+1)/2-1]
	if odd != nil && w > 1 {
		_ = odd[(rows-1)*srcStride+w/2-1]
	}
	if Current() == AVX512 && w%16 == 0 && (beta == 0 || beta == 1) {
		var o *float32
		if odd != nil {
			o = &odd[0]
		}
		interleaveRowsZ(&dst[0], &even[0], o, w/2, rows, dstStride, srcStride, int(beta))
		return
	}
	for r := 0; r < rows; r++ {
		d := dst[r*dstStride : r*dstStride+w]
		e := even[r*srcStride : r*srcStride+(w+1)/2]
		for j, v := range e {
			d[2*j] = blend(d[2*j], v, beta)
		}
		if odd == nil {
			for j := 1; j < w; j += 2 {
				switch beta {
				case 0:
					d[j] = 0
				case 1:
				default:
					d[j] *= beta
				}
			}
			continue
		}
		for j, v := range odd[r*srcStride : r*srcStride+w/2] {
			d[2*j+1] = blend(d[2*j+1], v, beta)
		}
	}
}

// blend returns beta·d + v (beta 0: v, 1: d + v).
func blend(d, v, beta float32) float32 {
	switch beta {
	case 0:
		return v
	case 1:
		return d + v
	}
	return float32(beta*d) + v
}
