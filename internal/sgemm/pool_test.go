package sgemm

import (
	"math"
	"math/rand"
	"testing"
)

// The 2×2 pooling kernels on every path against the pure-Go loops (bit for bit, special values
// and ties included), on planes whose rows take whole and partial 16-output blocks, odd sizes,
// and rows far wider than the windows read.
func TestMaxPool2x2(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	type shape struct{ h, w, oh, ow int }
	var shapes []shape
	for _, hw := range [][2]int{{2, 2}, {28, 28}, {14, 14}, {7, 7}, {32, 32}, {6, 66}, {4, 35}, {9, 40}, {2, 64}} {
		h, w := hw[0], hw[1]
		shapes = append(shapes, shape{h, w, h / 2, w / 2})
	}
	shapes = append(shapes, shape{8, 50, 3, 17}) // windows cover only part of the plane
	want := func(x, dy []float32, s shape) (y, dx []float32) {
		prev, _ := SetPath(Generic)
		defer SetPath(prev)
		y, dx = make([]float32, s.oh*s.ow), make([]float32, s.h*s.w)
		for i := range dx {
			dx[i] = 7 // stale values, overwritten (or, in odd planes, cleared)
		}
		MaxPool2x2(x, y, s.w, s.oh, s.ow)
		MaxPool2x2Backward(x, dy, dx, s.h, s.w, s.oh, s.ow)
		return y, dx
	}
	forPaths(t, func(t *testing.T, p Path) {
		for _, s := range shapes {
			for _, ties := range []bool{false, true} {
				x := vecInput(r, s.h*s.w)
				if ties {
					for i := range x { // few distinct values: many ties, ±0 among them
						x[i] = []float32{0, float32(math.Copysign(0, -1)), 1, -1}[r.Intn(4)]
					}
				}
				dy := vecInput(r, s.oh*s.ow)
				wy, wdx := want(x, dy, s)
				y, dx := make([]float32, s.oh*s.ow), make([]float32, s.h*s.w)
				for i := range dx {
					dx[i] = 7
				}
				MaxPool2x2(x, y, s.w, s.oh, s.ow)
				MaxPool2x2Backward(x, dy, dx, s.h, s.w, s.oh, s.ow)
				sameBits(t, "MaxPool2x2", p, s.h*s.w, y, wy)
				sameBits(t, "MaxPool2x2Backward", p, s.h*s.w, dx, wdx)
			}
		}
	})
}
