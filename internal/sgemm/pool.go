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
