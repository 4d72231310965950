package cpu

import (
	"math"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/rng"
	"github.com/gazeml/gaze/internal/sgemm"
)

// b2i is 1 for true, 0 for false; the compiler turns it into a flag-to-register move.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Relu: y = max(x, 0). A NaN input stays NaN, so that it surfaces instead of being hidden.
// sgemm.Relu is vectorised (AVX2) and branch-free: a compare-and-branch loop mispredicts on
// about half of the elements of real activations, and the max builtin runs at ~1 ns/element.
func (d *Device) Relu(x, y engine.Buffer) {
	xs, ys := Data(x), Data(y)
	launch(d, &d.k.relu, reluArgs{xs, ys}, len(xs), grainStream)
}

type reluArgs struct{ x, y []float32 }

func (a *reluArgs) run(lo, hi int) { sgemm.Relu(a.y[lo:hi], a.x[lo:hi]) }

// ReluBackward: dx = dy where y > 0, else 0, selected with a bit mask rather than a branch
// (sgemm.ReluBackward, vectorised).
func (d *Device) ReluBackward(y, dy, dx engine.Buffer) {
	ys, dys, dxs := Data(y), Data(dy), Data(dx)
	launch(d, &d.k.reluBack, reluBackArgs{ys, dys, dxs}, len(ys), grainStream)
}

type reluBackArgs struct{ y, dy, dx []float32 }

func (a *reluBackArgs) run(lo, hi int) { sgemm.ReluBackward(a.dx[lo:hi], a.y[lo:hi], a.dy[lo:hi]) }

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
	copy(ds, ss)
}

// Axpy: y += alpha*x.
func (d *Device) Axpy(alpha float32, x, y engine.Buffer) {
	xs, ys := Data(x), Data(y)
	launch(d, &d.k.axpy, axpyArgs{alpha, xs, ys}, len(xs), grainStream)
}

type axpyArgs struct {
	alpha float32
	x, y  []float32
}

func (a *axpyArgs) run(lo, hi int) {
	xs, ys := a.x[lo:hi], a.y[lo:hi]
	for i, v := range xs {
		ys[i] += a.alpha * v
	}
}

// Scale: x *= alpha.
func (d *Device) Scale(x engine.Buffer, alpha float32) {
	xs := Data(x)
	launch(d, &d.k.scale, scaleArgs{xs, alpha}, len(xs), grainStream)
}

type scaleArgs struct {
	x     []float32
	alpha float32
}

func (a *scaleArgs) run(lo, hi int) {
	xs := a.x[lo:hi]
	for i := range xs {
		xs[i] *= a.alpha
	}
}

// Add: out = a + b.
func (d *Device) Add(a, b, out engine.Buffer) {
	as, bs, os := Data(a), Data(b), Data(out)
	launch(d, &d.k.binary, binaryArgs{as, bs, os, false}, len(as), grainStream)
}

// Mul: out = a * b element-wise.
func (d *Device) Mul(a, b, out engine.Buffer) {
	as, bs, os := Data(a), Data(b), Data(out)
	launch(d, &d.k.binary, binaryArgs{as, bs, os, true}, len(as), grainStream)
}

// binaryArgs: out = a + b, or a * b when mul.
type binaryArgs struct {
	a, b, out []float32
	mul       bool
}

func (a *binaryArgs) run(lo, hi int) { sgemm.Binary(a.out[lo:hi], a.a[lo:hi], a.b[lo:hi], a.mul) }

// Dropout writes mask[i] = 1/(1-p) if u_i ≥ p else 0 and y = x*mask, with
// u_i = rng.Uniform(seed, offset+i).
func (d *Device) Dropout(x, mask, y engine.Buffer, p float32, seed, offset uint64) {
	xs, ms, ys := Data(x), Data(mask), Data(y)
	keep := float32(0)
	if p < 1 {
		keep = 1 / (1 - p)
	}
	args := dropoutArgs{xs, ms, ys, p, math.Float32bits(keep), seed, offset}
	launch(d, &d.k.dropout, args, len(xs), grainHeavy)
}

type dropoutArgs struct {
	x, mask, y   []float32
	p            float32
	keepBits     uint32
	seed, offset uint64
}

func (a *dropoutArgs) run(lo, hi int) {
	xs, ms, ys := a.x, a.mask, a.y
	for i := lo; i < hi; {
		idx := a.offset + uint64(i)
		if idx&3 == 0 {
			// Whole blocks from here: sixteen elements at a time in AVX-512 lanes (the same
			// bits), where the path has them.
			if n := sgemm.Dropout(xs[i:hi], ms[i:hi], ys[i:hi], idx>>2, a.seed, a.p, math.Float32frombits(a.keepBits)); n > 0 {
				i += n
				continue
			}
		}
		// One Philox block yields the uniforms of four consecutive indices; rng.Uniform
		// would recompute the block for each of them.
		u := uniformBlock(a.seed, idx>>2)
		for w := idx & 3; w < 4 && i < hi; w++ {
			// keep or 0 by bit mask: a branch would mispredict at rate ~p.
			m := math.Float32frombits(a.keepBits & -uint32(b2i(u[w] >= a.p)))
			ms[i] = m
			ys[i] = xs[i] * m
			i++
		}
	}
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
	if hw == 1 {
		// A Linear layer's bias: add b to each of the n rows (one vector add per row rather
		// than a call per element).
		launch(d, &d.k.biasAdd, biasAddArgs{ys, bs, c, hw}, n, max(grainStream/max(c, 1), 1))
		return
	}
	launch(d, &d.k.biasAdd, biasAddArgs{ys, bs, c, hw}, n*c, max(grainStream/max(hw, 1), 1))
}

type biasAddArgs struct {
	y, b  []float32
	c, hw int
}

// run adds the bias to planes [lo, hi), or with hw 1 to rows [lo, hi).
func (a *biasAddArgs) run(lo, hi int) {
	if a.hw == 1 {
		for row := lo; row < hi; row++ {
			sgemm.Add(a.y[row*a.c:(row+1)*a.c], a.b)
		}
		return
	}
	for p := lo; p < hi; p++ {
		sgemm.AddConst(a.y[p*a.hw:(p+1)*a.hw], a.b[p%a.c])
	}
}

// BiasGrad: db[c] += Σ_{n,i} dy[n,c,i], summed in float64 per channel.
func (d *Device) BiasGrad(dy, db engine.Buffer, n, c, hw int) {
	dys, dbs := Data(dy), Data(db)
	if hw == 1 {
		// A Linear layer's: each channel is summed row by row by a single goroutine, the rows
		// added to per-channel float64s.
		acc := d.scratch64(c)
		launch(d, &d.k.biasGrad, biasGradArgs{dys, dbs, acc, n, c, hw}, c, max(grainStream/max(n, 1), 1))
		return
	}
	// Planes: image by image within fixed blocks of images (imageBlock), the blocks' sums added
	// in block order. Split by channels instead (BenchmarkBiasGrad, ms a call): lenet-lca's
	// conv1 250×20×28² 0.18–0.28 against 0.13, conv2 250×40×14² 0.11–0.12 against 0.095.
	blocks := ceilDiv(n, imageBlock(c, hw))
	buf := d.scratch64((blocks + 1) * c)
	sum, part := buf[:c], buf[c:]
	launch(d, &d.k.biasGrad, biasGradArgs{dys, dbs, part, n, c, hw}, blocks, 1)
	addBlocks(sum, part, blocks, 1, 0)
	for ch, s := range sum {
		dbs[ch] += float32(s)
	}
}

// biasGradArgs: with hw 1, channels [lo, hi) of all rows; otherwise blocks [lo, hi) of images,
// block b's per-channel sums into acc[b·c:][:c].
type biasGradArgs struct {
	dy, db   []float32
	acc      []float64
	n, c, hw int
}

func (a *biasGradArgs) run(lo, hi int) {
	n, c, hw := a.n, a.c, a.hw
	if hw == 1 {
		// Channels [lo, hi) of all n rows, each row added to the float64 sums by one vector
		// call: the same sequence of float64 additions per channel as the loop below.
		acc := a.acc[lo:hi]
		for img := 0; img < n; img++ {
			sgemm.AddTo64(acc, a.dy[img*c+lo:img*c+hi])
		}
		for i, s := range acc {
			a.db[lo+i] += float32(s)
		}
		return
	}
	per := imageBlock(c, hw)
	for b := lo; b < hi; b++ {
		acc := a.acc[b*c:][:c]
		for img := b * per; img < min((b+1)*per, n); img++ {
			for ch, s := range acc {
				acc[ch] = s + sum64(a.dy[(img*c+ch)*hw:(img*c+ch+1)*hw])
			}
		}
	}
}
