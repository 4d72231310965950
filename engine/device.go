// Package engine is gaze's training engine: devices, the flat parameter arena, layers, losses,
// optimizers and the trainer. Experiments (lca, coordconv, intdim) talk to this package only;
// the device is picked by name at run time.
package engine

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Buffer is a float32 array that lives on a device, or a view into one. Views share memory with
// the buffer they were cut from; freeing a view is a no-op.
type Buffer interface {
	// Len is the number of float32 elements.
	Len() int
	// Slice returns the view [off, off+n). It panics on an out-of-range view: that is a bug in
	// the caller, never a user error.
	Slice(off, n int) Buffer
}

// Device is one backend: memory plus the kernel set. Kernels are asynchronous in principle (the
// CUDA device queues them on a stream); errors are sticky and reported by Sync, which also waits
// for queued work. Reductions that return a host value synchronise implicitly.
type Device interface {
	// Name is the name the device is registered and opened under ("cpu", "cuda").
	Name() string
	// Describe is a one-line description of what the device runs on (threads and GEMM path; the
	// GPU, its memory and driver), for `gaze devices` and logs.
	Describe() string
	// Alloc returns a zeroed buffer of n float32 elements.
	Alloc(n int) (Buffer, error)
	// Free releases a buffer returned by Alloc. Freeing a view or nil does nothing.
	Free(b Buffer)
	// Upload copies len(src) floats from the host into dst[0:len(src)].
	Upload(dst Buffer, src []float32)
	// Download copies len(dst) floats from src[0:len(dst)] to the host.
	Download(dst []float32, src Buffer)
	// Sync waits for queued work and returns the first error since the last Sync.
	Sync() error
	Kernels
}

// Kernels is the kernel set every device implements. All tensors are float32, row-major, NCHW.
// Convolution weights use PyTorch's layout [K, C, R, S]; Linear weights [out, in].
// "dst = beta*dst + ..." kernels accumulate when beta is 1 and overwrite when beta is 0 (dst is
// then never read, so it may hold NaN). Gradients of parameters always accumulate (+=): the trainer
// zeroes the gradient arena once per step, so that chunked full-set gradients are sums of chunks.
type Kernels interface {
	// Gemm computes C = alpha*op(A)*op(B) + beta*C, where op(A) is m×k and op(B) is k×n.
	// lda, ldb, ldc are the row strides of A, B, C as stored (before the transpose).
	Gemm(transA, transB bool, m, n, k int, alpha float32, a Buffer, lda int, b Buffer, ldb int, beta float32, c Buffer, ldc int)

	// ConvForward: y[N,K,OutH,OutW] = x[N,C,H,W] ⋆ w[K,C,R,S] (cross-correlation). Overwrites y.
	ConvForward(g ConvGeom, x, w, y Buffer)
	// ConvBackwardData: dx = beta*dx + ∂/∂x. Also the forward pass of a transposed convolution.
	ConvBackwardData(g ConvGeom, dy, w, dx Buffer, beta float32)
	// ConvBackwardFilter: dw += ∂/∂w.
	ConvBackwardFilter(g ConvGeom, x, dy, dw Buffer)
	// BiasAdd: y[n,c,i] += b[c] for y of shape [n, c, hw].
	BiasAdd(y, b Buffer, n, c, hw int)
	// BiasGrad: db[c] += Σ_{n,i} dy[n,c,i].
	BiasGrad(dy, db Buffer, n, c, hw int)

	// BatchNormTrain normalises with the batch statistics of each channel (over n and hw) and
	// writes the batch mean and 1/sqrt(var+eps) (biased var) to saveMean, saveInvStd.
	// Running statistics move as run = (1-momentum)*run + momentum*stat (PyTorch's convention,
	// unbiased variance); momentum 0 leaves them untouched.
	BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar Buffer, n, c, hw int, momentum, eps float32)
	// BatchNormInfer normalises with the running statistics and writes runMean and
	// 1/sqrt(runVar+eps) to saveMean, saveInvStd for the backward pass.
	BatchNormInfer(x, y, gamma, beta, runMean, runVar, saveMean, saveInvStd Buffer, n, c, hw int, eps float32)
	// BatchNormBackward overwrites dx and accumulates dgamma, dbeta. batchStats selects the
	// training-mode formula (mean and variance depend on x) or the inference-mode one (constants).
	BatchNormBackward(x, dy, dx, gamma, saveMean, saveInvStd, dgamma, dbeta Buffer, n, c, hw int, batchStats bool)

	// Relu: y = max(x, 0). y may alias x.
	Relu(x, y Buffer)
	// ReluBackward: dx = dy where y > 0, else 0. dx may alias dy.
	ReluBackward(y, dy, dx Buffer)

	// MaxPool overwrites y. Padding cells never win.
	MaxPool(g PoolGeom, x, y Buffer)
	// MaxPoolBackward overwrites dx, routing each dy to the first maximum of its window
	// (the same element MaxPool picked).
	MaxPoolBackward(g PoolGeom, x, dy, dx Buffer)
	// AvgPool overwrites y; padding cells count as zeros in the divisor (PyTorch's default).
	AvgPool(g PoolGeom, x, y Buffer)
	// AvgPoolBackward overwrites dx.
	AvgPoolBackward(g PoolGeom, dy, dx Buffer)
	// GlobalAvgPool: y[n,c] = mean_i x[n,c,i].
	GlobalAvgPool(x, y Buffer, n, c, hw int)
	// GlobalAvgPoolBackward overwrites dx.
	GlobalAvgPoolBackward(dy, dx Buffer, n, c, hw int)

	// SoftmaxXent writes losses[i] = -log softmax(logits[i,:])[labels[i]] and, when dlogits is
	// not nil, dlogits = scale*(softmax - onehot). labels holds class indices as float32.
	SoftmaxXent(logits, labels, losses, dlogits Buffer, n, k int, scale float32)
	// MSE writes losses[i] = Σ_j (pred-target)² and, when dpred is not nil, dpred = 2*scale*(pred-target).
	MSE(pred, target, losses, dpred Buffer, n, k int, scale float32)
	// SigmoidBCE writes losses[i] = Σ_j [max(z,0) - z*t + log(1+exp(-|z|))] (the stable form of
	// sigmoid cross-entropy) and, when dlogits is not nil, dlogits = scale*(sigmoid(z) - t).
	SigmoidBCE(logits, target, losses, dlogits Buffer, n, k int, scale float32)
	// Argmax writes out[i] = index of the first maximum of x[i,:], as float32.
	Argmax(x, out Buffer, n, k int)

	// Fill sets every element of x to v.
	Fill(x Buffer, v float32)
	// Copy copies src into dst (same length).
	Copy(dst, src Buffer)
	// Axpy: y += alpha*x.
	Axpy(alpha float32, x, y Buffer)
	// Scale: x *= alpha.
	Scale(x Buffer, alpha float32)
	// Add: out = a + b. out may alias a or b.
	Add(a, b, out Buffer)
	// Mul: out = a * b element-wise. out may alias a or b.
	Mul(a, b, out Buffer)
	// Dropout writes mask[i] = 1/(1-p) if u_i ≥ p else 0, where u_i = rng.Uniform(seed, offset+i)
	// (Philox, identical on every device), and y = x*mask. y may alias x.
	Dropout(x, mask, y Buffer, p float32, seed, offset uint64)

	// Sum returns Σ x accumulated in float64.
	Sum(x Buffer) float64
	// SumSquares returns Σ x² accumulated in float64.
	SumSquares(x Buffer) float64
	// Dot returns Σ x·y accumulated in float64.
	Dot(x, y Buffer) float64

	// SGDStep is PyTorch's SGD: g = grad + weightDecay*theta; vel = momentum*vel + g;
	// theta -= lr*vel (nesterov: theta -= lr*(g + momentum*vel)). vel is unused (may be nil)
	// when momentum is 0.
	SGDStep(theta, grad, vel Buffer, lr, momentum, weightDecay float32, nesterov bool)
	// AdamStep is PyTorch's Adam at step t ≥ 1: g = grad + weightDecay*theta;
	// m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²;
	// theta -= lr/(1-β1^t) * m / (sqrt(v)/sqrt(1-β2^t) + eps).
	AdamStep(theta, grad, m, v Buffer, lr, beta1, beta2, eps, weightDecay float32, t int)

	// The kernels the experiment packages need, each family in its own file.
	LCAKernels        // kernels_lca.go (loss change allocation)
	CoordKernels      // kernels_coords.go (CoordConv)
	ProjectionKernels // kernels_projection.go (intrinsic dimension)
}

// ConvGeom describes a 2-D convolution. PadH and PadW are the zero padding before the first row
// and column; the padding after is whatever OutH and OutW imply, so asymmetric ("same" as
// TensorFlow defines it) padding needs no extra field.
type ConvGeom struct {
	N, C, H, W       int // input batch, channels, height, width
	K, R, S          int // output channels, kernel height and width
	StrideH, StrideW int
	PadH, PadW       int
	OutH, OutW       int
}

// Validate reports an impossible geometry.
func (g ConvGeom) Validate() error {
	if g.N < 1 || g.C < 1 || g.H < 1 || g.W < 1 || g.K < 1 || g.R < 1 || g.S < 1 {
		return fmt.Errorf("conv geometry %+v: sizes must be positive", g)
	}
	if g.StrideH < 1 || g.StrideW < 1 || g.PadH < 0 || g.PadW < 0 {
		return fmt.Errorf("conv geometry %+v: stride must be ≥ 1 and padding ≥ 0", g)
	}
	if g.OutH < 1 || g.OutW < 1 {
		return fmt.Errorf("conv geometry: a %dx%d kernel with stride %d and padding %d on a %dx%d input leaves no output", g.R, g.S, g.StrideH, g.PadH, g.H, g.W)
	}
	// The last output row must start inside the padded input.
	if (g.OutH-1)*g.StrideH-g.PadH >= g.H || (g.OutW-1)*g.StrideW-g.PadW >= g.W {
		return fmt.Errorf("conv geometry %+v: output %dx%d reaches past the input", g, g.OutH, g.OutW)
	}
	return nil
}

// InputLen, WeightLen and OutputLen are the element counts of x, w and y.
func (g ConvGeom) InputLen() int  { return g.N * g.C * g.H * g.W }
func (g ConvGeom) WeightLen() int { return g.K * g.C * g.R * g.S }
func (g ConvGeom) OutputLen() int { return g.N * g.K * g.OutH * g.OutW }

// Flops is the multiply-add count of the forward pass, times two.
func (g ConvGeom) Flops() float64 {
	return 2 * float64(g.N) * float64(g.K) * float64(g.OutH*g.OutW) * float64(g.C*g.R*g.S)
}

// ConvOutSize is the output length of a convolution along one axis.
func ConvOutSize(in, k, stride, padBefore, padAfter int) int {
	return (in+padBefore+padAfter-k)/stride + 1
}

// SamePadding returns TensorFlow's "same" padding for one axis of a convolution with the given
// stride: the output has ceil(in/stride) elements and the odd pixel of padding goes after.
func SamePadding(in, k, stride int) (before, after int) {
	out := (in + stride - 1) / stride
	total := max((out-1)*stride+k-in, 0)
	return total / 2, total - total/2
}

// PoolGeom describes a 2-D pooling window over an [N, C, H, W] input.
type PoolGeom struct {
	N, C, H, W       int
	KH, KW           int
	StrideH, StrideW int
	PadH, PadW       int
	OutH, OutW       int
}

// InputLen and OutputLen are the element counts of x and y.
func (g PoolGeom) InputLen() int  { return g.N * g.C * g.H * g.W }
func (g PoolGeom) OutputLen() int { return g.N * g.C * g.OutH * g.OutW }

// Validate reports an impossible geometry.
func (g PoolGeom) Validate() error {
	if g.N < 1 || g.C < 1 || g.H < 1 || g.W < 1 || g.KH < 1 || g.KW < 1 || g.StrideH < 1 || g.StrideW < 1 || g.PadH < 0 || g.PadW < 0 {
		return fmt.Errorf("pool geometry %+v: sizes and strides must be positive, padding ≥ 0", g)
	}
	if g.PadH >= g.KH || g.PadW >= g.KW {
		return fmt.Errorf("pool geometry %+v: padding must be smaller than the window", g)
	}
	if g.OutH < 1 || g.OutW < 1 {
		return fmt.Errorf("pool geometry: a %dx%d window on a %dx%d input leaves no output", g.KH, g.KW, g.H, g.W)
	}
	return nil
}

var (
	registryMu sync.Mutex
	registry   = map[string]func() (Device, error){}
)

// Register makes a device constructor available to Open. Device packages call it from init.
func Register(name string, open func() (Device, error)) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[name] = open
}

// Devices lists the device names this build can open, sorted.
func Devices() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open opens the named device.
func Open(name string) (Device, error) {
	registryMu.Lock()
	open, ok := registry[name]
	registryMu.Unlock()
	if !ok {
		if name == "cuda" {
			return nil, fmt.Errorf("device %q: this gaze binary was built without CUDA support; rebuild with `go build -tags cuda` (needs the CUDA toolkit) or use --device cpu", name)
		}
		return nil, fmt.Errorf("unknown device %q (this build has: %s)", name, strings.Join(Devices(), ", "))
	}
	return open()
}

// CheckGemm reports a Gemm call whose sizes or leading dimensions do not fit its buffers. Every
// device runs it before a launch; a failure is a caller bug, so devices panic with it.
func CheckGemm(transA, transB bool, m, n, k int, a Buffer, lda int, b Buffer, ldb int, c Buffer, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("Gemm: negative size m=%d n=%d k=%d", m, n, k)
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	for _, op := range []struct {
		name           string
		buf            Buffer
		rows, cols, ld int
	}{{"A", a, ar, ac, lda}, {"B", b, br, bc, ldb}, {"C", c, m, n, ldc}} {
		if op.rows == 0 || op.cols == 0 {
			continue
		}
		if op.ld < op.cols {
			return fmt.Errorf("Gemm: ld%s=%d is less than the %d columns of %s", op.name, op.ld, op.cols, op.name)
		}
		if need := (op.rows-1)*op.ld + op.cols; op.buf.Len() < need {
			return fmt.Errorf("Gemm: %s (%dx%d, ld %d) needs %d elements, buffer has %d", op.name, op.rows, op.cols, op.ld, need, op.buf.Len())
		}
	}
	return nil
}
