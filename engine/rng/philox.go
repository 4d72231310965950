// Package rng holds gaze's counter-based random numbers. Philox4x32-10 (Salmon et al., SC'11)
// maps (key, counter) to four 32-bit words with no state, so a CUDA kernel and the CPU device
// produce the same stream for the same (seed, index) and any element can be regenerated alone:
// dropout masks and on-the-fly random projections rely on this.
package rng

import "math"

// The round multipliers and the key's increments per round (exported for the vector
// implementations, which run the same rounds lanes-wide).
const (
	Mul0  = 0xD2511F53
	Mul1  = 0xCD9E8D57
	Bump0 = 0x9E3779B9
	Bump1 = 0xBB67AE85
)

// Philox4x32 runs the ten rounds of Philox4x32-10.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	for r := 0; r < 10; r++ {
		p0 := uint64(Mul0) * uint64(ctr[0])
		p1 := uint64(Mul1) * uint64(ctr[2])
		ctr = [4]uint32{
			uint32(p1>>32) ^ ctr[1] ^ key[0],
			uint32(p1),
			uint32(p0>>32) ^ ctr[3] ^ key[1],
			uint32(p0),
		}
		key[0] += Bump0
		key[1] += Bump1
	}
	return ctr
}

// Uint32 returns the idx-th 32-bit word of the stream named by seed: word idx&3 of the block at
// counter idx>>2.
func Uint32(seed, idx uint64) uint32 {
	blk := idx >> 2
	out := Philox4x32([4]uint32{uint32(blk), uint32(blk >> 32), 0, 0}, [2]uint32{uint32(seed), uint32(seed >> 32)})
	return out[idx&3]
}

// Uniform returns the idx-th uniform float32 in [0, 1) of the stream named by seed, with 24
// random bits (every value is exact in float32).
func Uniform(seed, idx uint64) float32 {
	return float32(Uint32(seed, idx)>>8) * (1.0 / (1 << 24))
}

// Normal returns the idx-th standard normal of the stream named by seed (Box–Muller on words 0
// and 1 of block idx of the stream's second half, computed in float64).
func Normal(seed, idx uint64) float64 {
	out := Philox4x32([4]uint32{uint32(idx), uint32(idx >> 32), 1, 0}, [2]uint32{uint32(seed), uint32(seed >> 32)})
	u1 := (float64(out[0]>>8) + 1) * (1.0 / (1 << 24)) // (0, 1]: log is finite
	u2 := float64(out[1]>>8) * (1.0 / (1 << 24))
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}
