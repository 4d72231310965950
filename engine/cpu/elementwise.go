package cpu

import (
	"fmt"
	"math"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/rng"
)

// sameLen panics unless every slice has the length of the first.
func sameLen(kernel string, names string, s ...[]float32) {
	for _, v := range s[1:] {
		if len(v) != len(s[0]) {
			lens := make([]int, len(s))
			for i := range s {
				lens[i] = len(s[i])
			}
			panic(fmt.Sprintf("cpu: %s: %s have lengths %v, want equal", kernel, names, lens))
		}
	}
}

// b2i is 1 for true, 0 for false; the compiler turns it into a flag-to-register move.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Relu: y = max(x, 0). A NaN input stays NaN, so that it surfaces instead of being hidden. The
// max builtin compiles without branches: a compare-and-branch version mispredicts on about half
// of the elements of real activations.
func (d *Device) Relu(x, y engine.Buffer) {
	xs, ys := Data(x), Data(y)
	sameLen("Relu", "x, y", xs, ys)
	d.parallel(len(xs), grainStream, func(lo, hi int) {
		xs, ys := xs[lo:hi], ys[lo:hi]
		for i, v := range xs {
			ys[i] = max(v, 0)
		}
	})
}

// ReluBackward: dx = dy where y > 0, else 0, selected with a bit mask rather than a branch.
func (d *Device) ReluBackward(y, dy, dx engine.Buffer) {
	ys, dys, dxs := Data(y), Data(dy), Data(dx)
	sameLen("ReluBackward", "y, dy, dx", ys, dys, dxs)
	d.parallel(len(ys), grainStream, func(lo, hi int) {
		ys, dys, dxs := ys[lo:hi], dys[lo:hi:hi], dxs[lo:hi:hi]
		for i, v := range ys {
			mask := -uint32(b2i(v > 0)) // all ones or zero
			dxs[i] = math.Float32frombits(math.Float32bits(dys[i]) & mask)
		}
	})
}

// Fill sets every element of x to v.
func (d *Device) Fill(x engine.Buffer, v float32) {
	xs := Data(x)
	if math.Float32bits(v) == 0 {
		clear(xs) // memclr is faster than a store loop (and -0 must not become +0)
		return
	}
	for i := range xs {
		xs[i] = v
	}
}

// Copy copies src into dst.
func (d *Device) Copy(dst, src engine.Buffer) {
	ds, ss := Data(dst), Data(src)
	sameLen("Copy", "dst, src", ds, ss)
	copy(ds, ss)
}

// Axpy: y += alpha*x.
func (d *Device) Axpy(alpha float32, x, y engine.Buffer) {
	xs, ys := Data(x), Data(y)
	sameLen("Axpy", "x, y", xs, ys)
	d.parallel(len(xs), grainStream, func(lo, hi int) {
		xs, ys := xs[lo:hi], ys[lo:hi]
		for i, v := range xs {
			ys[i] += alpha * v
		}
	})
}

// Scale: x *= alpha.
func (d *Device) Scale(x engine.Buffer, alpha float32) {
	xs := Data(x)
	d.parallel(len(xs), grainStream, func(lo, hi int) {
		xs := xs[lo:hi]
		for i := range xs {
			xs[i] *= alpha
		}
	})
}

// Add: out = a + b.
func (d *Device) Add(a, b, out engine.Buffer) {
	as, bs, os := Data(a), Data(b), Data(out)
	sameLen("Add", "a, b, out", as, bs, os)
	d.parallel(len(as), grainStream, func(lo, hi int) {
		as, bs, os := as[lo:hi], bs[lo:hi], os[lo:hi]
		for i := range as {
			os[i] = as[i] + bs[i]
		}
	})
}

// Mul: out = a * b element-wise.
func (d *Device) Mul(a, b, out engine.Buffer) {
	as, bs, os := Data(a), Data(b), Data(out)
	sameLen("Mul", "a, b, out", as, bs, os)
	d.parallel(len(as), grainStream, func(lo, hi int) {
		as, bs, os := as[lo:hi], bs[lo:hi], os[lo:hi]
		for i := range as {
			os[i] = as[i] * bs[i]
		}
	})
}

// Dropout writes mask[i] = 1/(1-p) if u_i ≥ p else 0 and y = x*mask, with
// u_i = rng.Uniform(seed, offset+i).
func (d *Device) Dropout(x, mask, y engine.Buffer, p float32, seed, offset uint64) {
	xs, ms, ys := Data(x), Data(mask), Data(y)
	sameLen("Dropout", "x, mask, y", xs, ms, ys)
	keep := float32(0)
	if p < 1 {
		keep = 1 / (1 - p)
	}
	keepBits := math.Float32bits(keep)
	d.parallel(len(xs), grainHeavy, func(lo, hi int) {
		for i := lo; i < hi; {
			// One Philox block yields the uniforms of four consecutive indices; rng.Uniform
			// would recompute the block for each of them.
			idx := offset + uint64(i)
			u := uniformBlock(seed, idx>>2)
			for w := idx & 3; w < 4 && i < hi; w++ {
				// keep or 0 by bit mask: a branch would mispredict at rate ~p.
				m := math.Float32frombits(keepBits & -uint32(b2i(u[w] >= p)))
				ms[i] = m
				ys[i] = xs[i] * m
				i++
			}
		}
	})
}

// uniformBlock returns the four uniforms rng.Uniform(seed, 4*blk+j), j = 0..3, from one Philox
// evaluation (the same construction as rng.Uint32; TestDropoutMatchesRNG pins the equivalence).
func uniformBlock(seed, blk uint64) [4]float32 {
	out := rng.Philox4x32([4]uint32{uint32(blk), uint32(blk >> 32), 0, 0}, [2]uint32{uint32(seed), uint32(seed >> 32)})
	const inv = 1.0 / (1 << 24)
	return [4]float32{
		float32(out[0]>>8) * inv,
		float32(out[1]>>8) * inv,
		float32(out[2]>>8) * inv,
		float32(out[3]>>8) * inv,
	}
}

// BiasAdd: y[n,c,i] += b[c].
func (d *Device) BiasAdd(y, b engine.Buffer, n, c, hw int) {
	ys, bs := Data(y), Data(b)
	need("BiasAdd", "y", ys, n*c*hw)
	need("BiasAdd", "b", bs, c)
	d.parallel(n*c, max(grainStream/max(hw, 1), 1), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			v := bs[p%c]
			row := ys[p*hw : (p+1)*hw]
			for i := range row {
				row[i] += v
			}
		}
	})
}

// BiasGrad: db[c] += Σ_{n,i} dy[n,c,i], summed in float64 per channel.
func (d *Device) BiasGrad(dy, db engine.Buffer, n, c, hw int) {
	dys, dbs := Data(dy), Data(db)
	need("BiasGrad", "dy", dys, n*c*hw)
	need("BiasGrad", "db", dbs, c)
	// Each channel is summed in a fixed order (image by image) by a single goroutine.
	d.parallel(c, max(grainStream/max(n*hw, 1), 1), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var s float64
			for img := 0; img < n; img++ {
				s += sum64(dys[(img*c+ch)*hw : (img*c+ch+1)*hw])
			}
			dbs[ch] += float32(s)
		}
	})
}
