package sgemm

// Gather sets dst[i] = src[idx[i]] for i < len(dst), idx holding indices as float32 bits
// (engine.IndexBits), and returns the largest index. An index outside src does not fault: that
// element gets src's last one, and the caller, seeing the returned index ≥ len(src), refuses the
// call (the AVX-512 kernel clamps its loads the same way, so the check costs no second pass).
func Gather(src, idx, dst []float32) (maxIndex int) {
	idx = idx[:len(dst)]
	if len(src) == 0 {
		for _, v := range idx {
			maxIndex = max(maxIndex, bitsIndex(v))
		}
		return maxIndex
	}
	n := zLen(len(dst))
	if n > 0 {
		maxIndex = gatherZ(&src[0], &idx[0], &dst[0], n, len(src))
	}
	last := len(src) - 1
	for i := n; i < len(dst); i++ {
		j := bitsIndex(idx[i])
		maxIndex = max(maxIndex, j)
		dst[i] = src[min(j, last)]
	}
	return maxIndex
}
