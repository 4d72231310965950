package rng

import "math"

// Normal4 returns four standard normals from Philox block blk of the stream named by seed: two
// Box–Muller pairs, (cos, sin) of words 0,1 and of words 2,3, computed in float64. The counter's
// third word is 2, so these blocks are disjoint from Uniform's (0) and Normal's (1).
//
// It is the generator of the dense random projections (intrinsic dimension): regenerating P's
// entries on the fly costs one Philox block, two logarithms and two sincos per four entries
// instead of one each per entry, and every device computes the same formula.
func Normal4(seed, blk uint64) [4]float64 {
	w := Philox4x32([4]uint32{uint32(blk), uint32(blk >> 32), 2, 0}, [2]uint32{uint32(seed), uint32(seed >> 32)})
	var out [4]float64
	for p := 0; p < 2; p++ {
		// u1 in (0, 1] keeps the logarithm finite; 32 random bits put the largest |z| at 6.66.
		u1 := (float64(w[2*p]) + 1) * (1.0 / (1 << 32))
		u2 := float64(w[2*p+1]) * (1.0 / (1 << 32))
		r := math.Sqrt(-2 * math.Log(u1))
		s, c := math.Sincos(2 * math.Pi * u2)
		out[2*p], out[2*p+1] = r*c, r*s
	}
	return out
}

// NormalAt is element idx of the stream Normal4 draws four at a time: Normal4(seed, idx/4)[idx%4].
func NormalAt(seed, idx uint64) float64 { return Normal4(seed, idx>>2)[idx&3] }
