package sgemm

// kernelGo is the portable micro-kernel: t = A·B for one packed mr-row A micro-panel and one
// packed nr-column B micro-panel of depth kc. It walks the 6×16 tile in 2×4 sub-blocks so the
// 8 accumulators plus 6 operands fit the 16 float registers amd64 and arm64 compilers use
// without spilling; each sub-block re-streams the panels from L1.
func kernelGo(kc int, ap, bp []float32, t *[mr * nr]float32) {
	ap = ap[:kc*mr]
	bp = bp[:kc*nr]
	for i := 0; i < mr; i += 2 {
		for j := 0; j < nr; j += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			ai, bi := i, j
			for p := 0; p < kc; p++ {
				a := ap[ai : ai+2 : ai+2]
				b := bp[bi : bi+4 : bi+4]
				a0, a1 := a[0], a[1]
				b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
				c00 += a0 * b0
				c01 += a0 * b1
				c02 += a0 * b2
				c03 += a0 * b3
				c10 += a1 * b0
				c11 += a1 * b1
				c12 += a1 * b2
				c13 += a1 * b3
				ai += mr
				bi += nr
			}
			r0 := t[i*nr+j : i*nr+j+4 : i*nr+j+4]
			r1 := t[(i+1)*nr+j : (i+1)*nr+j+4 : (i+1)*nr+j+4]
			r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
			r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
		}
	}
}
