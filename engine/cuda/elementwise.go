//go:build cuda

package cuda

import (
	"math"

	"github.com/gazeml/gaze/engine"
)

// The elementwise op family (engine/kernels_elementwise.go) on the GPU: ReLU, BLAS-1 updates,
// dropout, and the bias add and gradient.

// The kernels of kernels/elementwise.cu.
var (
	kRelu         = declare("elementwise", "relu")
	kReluBackward = declare("elementwise", "relu_backward")
	kAxpy         = declare("elementwise", "axpy")
	kScale        = declare("elementwise", "scale")
	kAdd          = declare("elementwise", "add")
	kMul          = declare("elementwise", "mul")
	kDropout      = declare("elementwise", "dropout")
	kBiasAdd      = declare("elementwise", "bias_add")
	kBiasGrad     = declare("elementwise", "bias_grad")
)

// Relu: y = max(x, 0).
func (d *Device) Relu(x, y engine.Buffer) {
	n := blen(x)
	d.k(kRelu).l(n).p(x).p(y)
	d.go1(d.streamBlocks(n), 256)
}

// ReluBackward: dx = dy where y > 0.
func (d *Device) ReluBackward(y, dy, dx engine.Buffer) {
	n := blen(y)
	d.k(kReluBackward).l(n).p(y).p(dy).p(dx)
	d.go1(d.streamBlocks(n), 256)
}

// Fill sets every element to v (a 32-bit memset of v's bits).
func (d *Device) Fill(x engine.Buffer, v float32) {
	xb := d.buf("Fill", x)
	d.memsetBytes(xb.ptr, math.Float32bits(v), int64(xb.n)*4)
}

// Copy copies src into dst.
func (d *Device) Copy(dst, src engine.Buffer) {
	n := blen(dst)
	if n == 0 {
		return
	}
	db, sb := d.buf("Copy", dst), d.buf("Copy", src)
	if db.ptr == sb.ptr {
		return
	}
	d.send(&op{kind: opCopy, dst: db.ptr, src: sb.ptr, bytes: int64(n) * 4})
}

// Axpy: y += alpha*x.
func (d *Device) Axpy(alpha float32, x, y engine.Buffer) {
	n := blen(x)
	d.k(kAxpy).l(n).f(alpha).p(x).p(y)
	d.go1(d.streamBlocks(n), 256)
}

// Scale: x *= alpha.
func (d *Device) Scale(x engine.Buffer, alpha float32) {
	n := blen(x)
	d.k(kScale).l(n).p(x).f(alpha)
	d.go1(d.streamBlocks(n), 256)
}

// Add: out = a + b.
func (d *Device) Add(a, b, out engine.Buffer) {
	n := blen(a)
	d.k(kAdd).l(n).p(a).p(b).p(out)
	d.go1(d.streamBlocks(n), 256)
}

// Mul: out = a * b.
func (d *Device) Mul(a, b, out engine.Buffer) {
	n := blen(a)
	d.k(kMul).l(n).p(a).p(b).p(out)
	d.go1(d.streamBlocks(n), 256)
}

// Dropout: the Philox masks of the CPU device, bit for bit.
func (d *Device) Dropout(x, mask, y engine.Buffer, p float32, seed, offset uint64) {
	d.dropout(x, mask, y, p, seed, offset, nil)
}

// DropoutVar is Dropout with the offset read from vars[0:2] when the kernel runs (a replayed
// CUDA graph).
func (d *Device) DropoutVar(x, mask, y engine.Buffer, p float32, seed uint64, vars engine.Buffer) {
	d.dropout(x, mask, y, p, seed, 0, vars)
}

func (d *Device) dropout(x, mask, y engine.Buffer, p float32, seed, offset uint64, vars engine.Buffer) {
	n := blen(x)
	keep := float32(0)
	if p < 1 {
		keep = 1 / (1 - p)
	}
	d.k(kDropout).l(n).p(x).p(mask).p(y).f(p).f(keep).u64(seed).u64(offset).p(vars)
	d.go1(d.streamBlocks(n), 256)
}

// BiasAdd: y[n,c,i] += b[c].
func (d *Device) BiasAdd(y, b engine.Buffer, n, c, hw int) {
	d.k(kBiasAdd).l(n * c * hw).i(c).i(hw).p(y).p(b)
	d.go1(d.streamBlocks(n*c*hw), 256)
}

// BiasGrad: db[c] += Σ dy[n,c,i] (float64), one block per channel.
func (d *Device) BiasGrad(dy, db engine.Buffer, n, c, hw int) {
	fits32("BiasGrad", n, c, hw)
	d.k(kBiasGrad).i(n).i(c).i(hw).p(dy).p(db)
	d.go1(c, 256)
}
