package sgemm

import (
	"fmt"
	"sync"
)

// Matrix–vector products of a stored dense projection: A is m×n row-major (row stride lda),
// usually d×D with d in the hundreds and D in the hundreds of thousands, so a product is bound
// by streaming A from memory once (0.8 GB for d = 1,000 at D = 199,210). The kernels read four
// rows of A per pass with 64-byte (AVX-512) or 32-byte (AVX2) vectors and leave the fan-out over
// cores to the caller: GemvDots works on a range of rows, GemvAccCols on a range of columns,
// and every output element is computed by one call in an order fixed by the sizes, so
// results do not depend on how the caller splits the work. They run on the kernel path of the
// rest of the package (Current, GAZE_CPU); paths differ in rounding (lanes, fused
// multiply-adds), not in what they compute.

// GemvDots sets y[i] = alpha·Σ_{j<n} a[i·lda+j]·x[j] + beta·y[i] for lo ≤ i < hi (y is not read
// when beta is 0). Each dot product is summed in 16 (AVX-512) or 8 (AVX2, pure Go) float32 lanes
// combined, with the tail, in float64.
func GemvDots(lo, hi, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	if lo >= hi {
		return
	}
	if n == 0 {
		for i := lo; i < hi; i++ {
			y[i] = float32(float64(beta) * float64(y[i]))
		}
		return
	}
	_ = a[(hi-1)*lda+n-1] // the bounds of every row the kernels read
	_ = x[n-1]
	_ = y[hi-1]
	level := Current()
	if level == Generic {
		for i := lo; i < hi; i++ {
			y[i] = gemvRowGo(a[i*lda:i*lda+n], x, alpha, beta, y[i])
		}
		return
	}
	var lanes [64]float32
	nv, width := n&^31, 16
	if level == AVX2 {
		nv, width = n&^15, 8
	}
	finish := func(i, r int) {
		var s float64
		for _, v := range lanes[r*width : (r+1)*width] {
			s += float64(v)
		}
		row := a[i*lda : i*lda+n]
		for p := nv; p < n; p++ {
			s += float64(row[p]) * float64(x[p])
		}
		v := float64(alpha) * s
		if beta != 0 {
			v += float64(beta) * float64(y[i])
		}
		y[i] = float32(v)
	}
	dot := func(i, stride int) {
		if nv == 0 {
			clear(lanes[:])
			return
		}
		if level == AVX512 {
			gemvDot4Z(nv, &a[i*lda], stride, &x[0], &lanes)
		} else {
			gemvDot4Y(nv, &a[i*lda], stride, &x[0], (*[32]float32)(lanes[:32]))
		}
	}
	i := lo
	for ; i+4 <= hi; i += 4 {
		dot(i, lda)
		for r := range 4 {
			finish(i+r, r)
		}
	}
	// Leftover rows one at a time (stride 0: the kernel reads the row four times), with the same
	// per-row arithmetic as inside a group of four.
	for ; i < hi; i++ {
		dot(i, 0)
		finish(i, 0)
	}
}

// gemvRowGo is alpha·row·x + beta·y0 with eight float32 partial sums combined in float64.
func gemvRowGo(row, x []float32, alpha, beta, y0 float32) float32 {
	x = x[:len(row)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	k := 0
	for ; k+8 <= len(row); k += 8 {
		r, v := row[k:k+8:k+8], x[k:k+8:k+8]
		s0 += r[0] * v[0]
		s1 += r[1] * v[1]
		s2 += r[2] * v[2]
		s3 += r[3] * v[3]
		s4 += r[4] * v[4]
		s5 += r[5] * v[5]
		s6 += r[6] * v[6]
		s7 += r[7] * v[7]
	}
	s := (float64(s0) + float64(s1)) + (float64(s2) + float64(s3)) + (float64(s4) + float64(s5)) + (float64(s6) + float64(s7))
	for ; k < len(row); k++ {
		s += float64(row[k]) * float64(x[k])
	}
	v := float64(alpha) * s
	if beta != 0 {
		v += float64(beta) * float64(y0)
	}
	return float32(v)
}

// GemvColAlign: GemvAccCols' column ranges start at multiples of it (the AVX-512 kernel's step
// of 32 columns; the AVX2 kernel's 16 divides it), so that every column is summed by the same
// instructions however the caller splits the columns: only the last n mod 32 (or 16) columns
// take the scalar tail, whichever range holds them.
const GemvColAlign = 32

// gemvTile is how many columns GemvAccCols sums together while the rows of A stream through:
// each row's part of a tile is 128 KB of consecutive memory, and the tile's float32 sums (128
// KB) stay in L2 (1 MB per core on the Zen 5 build machine). On one core there (variants
// interleaved rep by rep, the machine under load), 32,768 read A 4–14 % faster than 8,192 with
// the sums in L1 on the sweeps' shapes: a longer run per row keeps the prefetchers ahead.
const gemvTile = 32768

// gemvAccBufs holds the tile sums: a pool rather than the goroutine's stack, which would grow
// (and be copied) to 128 KB in every goroutine the cpu device starts per product.
var gemvAccBufs = sync.Pool{New: func() any { return new([gemvTile]float32) }}

// GemvAccCols sets y[j] = alpha·Σ_{i<m} a[i·lda+j]·x[i] + beta·y[j] (y not read when beta is 0)
// for lo ≤ j < hi, lo a multiple of GemvColAlign and hi one too or n. Each column's sum is
// float32, accumulated over the rows of A in order, four at a time; rows whose x is 0 are skipped
// (they add exactly 0 for finite A). A column's result does not depend on lo and hi.
func GemvAccCols(lo, hi, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	if lo%GemvColAlign != 0 || (hi%GemvColAlign != 0 && hi != n) {
		// A misaligned range would still be right to rounding, but its columns would not be
		// those of another split: a caller's bug that no test of the values would see.
		panic(fmt.Sprintf("sgemm: GemvAccCols columns [%d, %d) of %d: not at multiples of %d", lo, hi, n, GemvColAlign))
	}
	if lo >= hi {
		return
	}
	if m == 0 {
		for k := lo; k < hi; k++ {
			if beta == 0 {
				y[k] = 0
			} else {
				y[k] *= beta
			}
		}
		return
	}
	_ = a[(m-1)*lda+n-1]
	_ = x[m-1]
	_ = y[n-1]
	level := Current()
	buf := gemvAccBufs.Get().(*[gemvTile]float32)
	defer gemvAccBufs.Put(buf)
	for j0 := lo; j0 < hi; j0 += gemvTile {
		w := min(gemvTile, hi-j0)
		s := buf[:w]
		clear(s)
		if level == Generic {
			gemvAccGo(s, a, lda, j0, x[:m])
		} else {
			wv := w &^ 31
			if level == AVX2 {
				wv = w &^ 15
			}
			add := func(i, stride int, c *[4]float32) {
				if wv > 0 {
					if level == AVX512 {
						gemvAcc4Z(wv, &a[i*lda+j0], stride, c, &s[0])
					} else {
						gemvAcc4Y(wv, &a[i*lda+j0], stride, c, &s[0])
					}
				}
				for k := wv; k < w; k++ {
					v := s[k]
					for r, cr := range c {
						v += cr * a[(i+r*min(stride, 1))*lda+j0+k] // stride 0: one row, c[1:] zero
					}
					s[k] = v
				}
			}
			i := 0
			for ; i+4 <= m; i += 4 {
				c := [4]float32{x[i], x[i+1], x[i+2], x[i+3]}
				if c == [4]float32{} {
					continue
				}
				add(i, lda, &c)
			}
			for ; i < m; i++ {
				if x[i] != 0 {
					add(i, 0, &[4]float32{x[i]})
				}
			}
		}
		out := y[j0 : j0+w]
		for k := range out {
			v := alpha * s[k]
			if beta != 0 {
				v += beta * out[k]
			}
			out[k] = v
		}
	}
}

// gemvAccGo adds Σ_i x[i]·a[i·lda+j0 : …+len(s)] to s, four rows at a time, in pure Go.
func gemvAccGo(s, a []float32, lda, j0 int, x []float32) {
	w, m := len(s), len(x)
	i := 0
	for ; i+4 <= m; i += 4 {
		c0, c1, c2, c3 := x[i], x[i+1], x[i+2], x[i+3]
		if c0 == 0 && c1 == 0 && c2 == 0 && c3 == 0 {
			continue
		}
		r0 := a[i*lda+j0 : i*lda+j0+w]
		r1 := a[(i+1)*lda+j0 : (i+1)*lda+j0+w]
		r2 := a[(i+2)*lda+j0 : (i+2)*lda+j0+w]
		r3 := a[(i+3)*lda+j0 : (i+3)*lda+j0+w]
		for k := range s {
			s[k] += c0*r0[k] + c1*r1[k] + c2*r2[k] + c3*r3[k]
		}
	}
	for ; i < m; i++ {
		if c := x[i]; c != 0 {
			for k, v := range a[i*lda+j0 : i*lda+j0+w] {
				s[k] += c * v
			}
		}
	}
}
