package sgemm

import "math"

// SpMVRows sets y[r] = Σ val[k]·x[idx[k]] over k ∈ [ptr[r], ptr[r+1]), plus beta·y[r] when beta
// ≠ 0, for every r < len(y): each row summed in float64 in k order (the products are exact in
// float64) and rounded once to float32. ptr (len(y)+1 entries) and idx hold indices as float32
// bits (engine.IndexBits). The caller checks that the pointers stay within val and idx and
// the indices within x; the AVX-512 kernel, which takes eight rows at once in float64 lanes
// with the same order and roundings (bit-identical), clamps them instead of faulting.
func SpMVRows(ptr, idx, val, x, y []float32, beta float32) {
	n := 0
	if nnz := min(len(val), len(idx)); Current() == AVX512 && nnz > 0 && len(x) > 0 {
		n = len(y) &^ 7
		if n > 0 {
			useBeta := 0
			if beta != 0 {
				useBeta = 1
			}
			spmvZ(&ptr[0], &idx[0], &val[0], &x[0], &y[0], n, nnz, len(x), beta, useBeta)
		}
	}
	for r := n; r < len(y); r++ {
		var s float64
		for k := bitsIndex(ptr[r]); k < bitsIndex(ptr[r+1]); k++ {
			s += float64(val[k]) * float64(x[bitsIndex(idx[k])])
		}
		if beta != 0 {
			s += float64(beta) * float64(y[r])
		}
		y[r] = float32(s)
	}
}

// bitsIndex reads an index stored as float32 bits (engine.BitsIndex; sgemm does not import engine).
func bitsIndex(f float32) int { return int(math.Float32bits(f)) }
