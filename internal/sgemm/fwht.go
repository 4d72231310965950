package sgemm

// Walsh–Hadamard butterflies for the Fastfood projection (engine/cpu's FWHT drives them).
// Stage h of the unnormalised transform (natural order) replaces each pair (v[j], v[j+h]),
// j mod 2h < h, by (a+c, a−c). Every element's value after each stage is fixed by the stages
// before it, so any order of the butterflies within a stage, and any grouping of consecutive
// stages, gives the same bits: the kernels below (pure Go or AVX-512, whole arrays or ranges
// of offsets) all equal the plain stage-by-stage loop bit for bit.

// FWHTPlain transforms each block of n in v stage by stage (n a power of two dividing len(v)):
// the reference the kernels below equal bit for bit, and the transform of blocks below 16.
func FWHTPlain(v []float32, n int) {
	for b := 0; b+n <= len(v); b += n {
		w := v[b : b+n]
		for h := 1; h < n; h *= 2 {
			for i := 0; i < n; i += 2 * h {
				lo, hi := w[i:i+h], w[i+h:i+2*h]
				for k := range lo {
					a, c := lo[k], hi[k]
					lo[k], hi[k] = a+c, a-c
				}
			}
		}
	}
}

// FWHTLow applies stages 1, 2, 4 and 8 to each group of 16 in v (len(v) a multiple of 16).
func FWHTLow(v []float32) {
	n := zLen(len(v))
	if n > 0 {
		fwhtLowZ(&v[0], n/16)
	}
	FWHTPlain(v[n:], 16)
}

// FWHTPair applies stages h and 2h to v (len(v) a multiple of 4h, h ≥ 16 a multiple of 16),
// at the offsets k0 ≤ k < k1 within each group of 4h (multiples of 16, k1 ≤ h): the butterflies
// touching v[i+k], v[i+h+k], v[i+2h+k], v[i+3h+k]. Disjoint offset ranges may run at once.
func FWHTPair(v []float32, h, k0, k1 int) {
	if Current() == AVX512 {
		fwhtPairZ(&v[0], len(v), h, k0, k1)
		return
	}
	for i := 0; i < len(v); i += 4 * h {
		p, q, r, s := v[i+k0:i+k1], v[i+h+k0:i+h+k1], v[i+2*h+k0:i+2*h+k1], v[i+3*h+k0:i+3*h+k1]
		for k := range p {
			a, b, c, d := p[k], q[k], r[k], s[k]
			a, b = a+b, a-b
			c, d = c+d, c-d
			p[k], r[k] = a+c, a-c
			q[k], s[k] = b+d, b-d
		}
	}
}

// FWHTStage applies stage h to v (len(v) a multiple of 2h, h ≥ 16 a multiple of 16) at the
// offsets k0 ≤ k < k1 within each group of 2h (multiples of 16, k1 ≤ h).
func FWHTStage(v []float32, h, k0, k1 int) {
	if Current() == AVX512 {
		fwhtStageZ(&v[0], len(v), h, k0, k1)
		return
	}
	for i := 0; i < len(v); i += 2 * h {
		p, q := v[i+k0:i+k1], v[i+h+k0:i+h+k1]
		for k := range p {
			a, c := p[k], q[k]
			p[k], q[k] = a+c, a-c
		}
	}
}
