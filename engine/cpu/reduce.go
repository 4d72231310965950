package cpu

import (
	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// reduceBlock is the fixed block size of the float64 reductions. Blocks are summed on their own
// and the block sums are then added in order, so the result depends only on the input, never on
// how many cores took part; the two-level sum is also more accurate than one running sum.
const reduceBlock = 1 << 13

// reduceArgs is one of the float64 reductions: Σx (y nil), Σx² (y == x) or Σx·y.
type reduceArgs struct {
	x, y []float32
	part []float64 // block sums
}

// block returns the reduction of [lo, hi).
func (a *reduceArgs) block(lo, hi int) float64 {
	if a.y == nil {
		return sum64(a.x[lo:hi])
	}
	return dot64(a.x[lo:hi], a.y[lo:hi])
}

// run computes the sums of blocks [blo, bhi).
func (a *reduceArgs) run(blo, bhi int) {
	for b := blo; b < bhi; b++ {
		a.part[b] = a.block(b*reduceBlock, min((b+1)*reduceBlock, len(a.x)))
	}
}

// reduce splits x (and y) into reduceBlock-sized blocks, reduces each (in parallel when it
// pays) and returns the in-order sum of the block results.
func (d *Device) reduce(x, y []float32) float64 {
	n := len(x)
	if n <= reduceBlock {
		a := reduceArgs{x: x, y: y}
		return a.block(0, n)
	}
	nb := (n + reduceBlock - 1) / reduceBlock
	part := d.scratch64(nb)
	launch(d, &d.k.reduce, reduceArgs{x, y, part}, nb, max(grainStream/reduceBlock, 1))
	var s float64
	for _, v := range part {
		s += v
	}
	return s
}

// sum64 returns Σ x in float64, with four accumulators (in a fixed pattern) for speed; the
// AVX2 version in sgemm is bit-identical to the scalar loop.
func sum64(x []float32) float64 { return sgemm.Sum64(x) }

// dot64 returns Σ x·y in float64.
func dot64(x, y []float32) float64 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float64(x[i]) * float64(y[i])
		s1 += float64(x[i+1]) * float64(y[i+1])
		s2 += float64(x[i+2]) * float64(y[i+2])
		s3 += float64(x[i+3]) * float64(y[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i]) * float64(y[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// Sum returns Σ x accumulated in float64.
func (d *Device) Sum(x engine.Buffer) float64 {
	xs := Data(x)
	return d.reduce(xs, nil)
}

// SumSquares returns Σ x² accumulated in float64.
func (d *Device) SumSquares(x engine.Buffer) float64 {
	xs := Data(x)
	return d.reduce(xs, xs)
}

// Dot returns Σ x·y accumulated in float64.
func (d *Device) Dot(x, y engine.Buffer) float64 {
	xs, ys := Data(x), Data(y)
	return d.reduce(xs, ys)
}
