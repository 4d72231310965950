package rng

import (
	"math"
	"testing"
)

// Normal4's four outputs must each be standard normal and uncorrelated with each other, and
// NormalAt must index the same stream.
func TestNormal4Moments(t *testing.T) {
	const blocks = 100000
	var s, s2, s4 [4]float64
	var cross float64
	for b := uint64(0); b < blocks; b++ {
		z := Normal4(11, b)
		for k, v := range z {
			s[k] += v
			s2[k] += v * v
			s4[k] += v * v * v * v
			if got := NormalAt(11, 4*b+uint64(k)); got != v {
				t.Fatalf("NormalAt(11, %d) = %v, Normal4 gives %v", 4*b+uint64(k), got, v)
			}
		}
		cross += z[0]*z[1] + z[2]*z[3] + z[0]*z[2]
	}
	for k := range 4 {
		mean, vr, kurt := s[k]/blocks, s2[k]/blocks, s4[k]/blocks
		// Standard errors: mean 1/√n ≈ 0.003, variance √2/√n ≈ 0.0045, 4th moment √96/√n ≈ 0.03.
		if math.Abs(mean) > 0.015 || math.Abs(vr-1) > 0.025 || math.Abs(kurt-3) > 0.15 {
			t.Errorf("word %d: mean %.4f, variance %.4f, 4th moment %.3f; want 0, 1, 3", k, mean, vr, kurt)
		}
	}
	if c := cross / (3 * blocks); math.Abs(c) > 0.015 {
		t.Errorf("correlation between outputs %.4f, want 0", c)
	}
	if Normal4(1, 5) == Normal4(2, 5) || Normal4(1, 5) == Normal4(1, 6) {
		t.Error("different seeds or blocks give the same normals")
	}
}
