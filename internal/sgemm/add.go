package sgemm

// Add sets dst[i] += src[i] for every i < len(dst) (src at least as long). The cpu device's
// col2im and output scatters are made of such adds; with AVX it moves 32 floats per step.
func Add(dst, src []float32) {
	src = src[:len(dst)]
	n := 0
	if Current() != Generic && len(dst) >= 32 {
		n = len(dst) &^ 31
		addAVX(&dst[0], &src[0], n)
	}
	d, s := dst[n:], src[n:len(dst)]
	i := 0
	for ; i+4 <= len(d); i += 4 {
		dd, ss := (*[4]float32)(d[i:]), (*[4]float32)(s[i:])
		dd[0] += ss[0]
		dd[1] += ss[1]
		dd[2] += ss[2]
		dd[3] += ss[3]
	}
	for ; i < len(d); i++ {
		d[i] += s[i]
	}
}

// AddTo64 sets acc[i] += float64(x[i]) for every i < len(acc) (x at least as long): one rounding
// per element, so every path gives the same bits.
func AddTo64(acc []float64, x []float32) {
	x = x[:len(acc)]
	n := 0
	if Current() != Generic && len(acc) >= 16 {
		n = len(acc) &^ 15
		addTo64AVX(&acc[0], &x[0], n)
	}
	a, xs := acc[n:], x[n:]
	for i, v := range xs {
		a[i] += float64(v)
	}
}
