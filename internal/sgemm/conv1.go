package sgemm

import "fmt"

// Conv1Filter5 is the inner loop of the filter gradient of a one-channel convolution with
// filters 5 wide and output rows of 17 to 32 columns (lenet-lca's first layer), on the AVX512
// path: for four output channels k and the five column shifts s,
//
//	acc[(5k+s)·16 + l] += Σ_{i<nimg} Σ_{r<rows} Σ_{ow ≡ l mod 16} dy[i·dyImg + k·ks + r·ow + ow]·x[i·xImg + r·pitch + ow + s]
//
// (ow < ow, the row width), in float32 with fused multiply-adds, row by row. x is the
// zero-padded input advanced to a filter row: each of its rows needs 36 floats (pitch ≥ 36).
// dy is read in place (the last columns under a mask), where the stack form copied it into
// padded rows first. It returns false, doing nothing, off the AVX512 path.
func Conv1Filter5(acc *[20 * 16]float32, dy []float32, dyImg, ks, ow int, x []float32, xImg, pitch, nimg, rows int) bool {
	if Current() != AVX512 {
		return false
	}
	if nimg <= 0 || rows <= 0 {
		return true
	}
	if ow <= 16 || ow > 32 || pitch < 36 {
		panic(fmt.Sprintf("sgemm: Conv1Filter5: rows of %d columns, pitch %d (need 16 < ow ≤ 32, pitch ≥ 36)", ow, pitch))
	}
	if last := (nimg-1)*dyImg + 3*ks + (rows-1)*ow + ow; last > len(dy) {
		panic(fmt.Sprintf("sgemm: Conv1Filter5: dy needs %d floats, has %d", last, len(dy)))
	}
	if last := (nimg-1)*xImg + (rows-1)*pitch + 36; last > len(x) {
		panic(fmt.Sprintf("sgemm: Conv1Filter5: x needs %d floats, has %d", last, len(x)))
	}
	conv1FilterZ(&acc[0], &dy[0], dyImg, ks, ow, &x[0], xImg, pitch, nimg, rows)
	return true
}

// Conv1Forward5 is the forward pass of the same convolutions on the AVX512 path: for the output
// channels k < kn (at most 8) and rows row < rows,
//
//	y[k·ks + row·ow + ow'] = Σ_{r<rr} Σ_{s<5} x[(row+r)·pitch + ow' + s]·wt[(r·5+s)·8 + k]
//
// (ow' < ow), one fused multiply-add per term in that order. x is the zero-padded input plane
// (pitch ≥ 36), wt the eight channels' filters transposed (zeros for the channels past kn). It
// returns false, doing nothing, off the AVX512 path.
func Conv1Forward5(y []float32, ks, ow, kn int, x []float32, pitch, rows, rr int, wt []float32) bool {
	if Current() != AVX512 {
		return false
	}
	if rows <= 0 || kn <= 0 {
		return true
	}
	if ow <= 16 || ow > 32 || pitch < 36 || kn > 8 || rr <= 0 {
		panic(fmt.Sprintf("sgemm: Conv1Forward5: rows of %d columns, pitch %d, %d channels, %d filter rows (need 16 < ow ≤ 32, pitch ≥ 36, at most 8 channels)", ow, pitch, kn, rr))
	}
	if last := (kn-1)*ks + rows*ow; last > len(y) {
		panic(fmt.Sprintf("sgemm: Conv1Forward5: y needs %d floats, has %d", last, len(y)))
	}
	if last := (rows+rr-2)*pitch + 36; last > len(x) {
		panic(fmt.Sprintf("sgemm: Conv1Forward5: x needs %d floats, has %d", last, len(x)))
	}
	if len(wt) < rr*40 {
		panic(fmt.Sprintf("sgemm: Conv1Forward5: wt needs %d floats, has %d", rr*40, len(wt)))
	}
	conv1ForwardZ(&y[0], ks, ow, kn, &x[0], pitch, rows, rr, &wt[0])
	return true
}
