package engine

import "fmt"

// ConvKernels are the 2-D convolutions (cross-correlations) of Conv2d and ConvTranspose2d.
type ConvKernels interface {
	// ConvForward: y[N,K,OutH,OutW] = x[N,C,H,W] ⋆ w[K,C,R,S] (cross-correlation). Overwrites y.
	ConvForward(g ConvGeom, x, w, y Buffer)
	// ConvBackwardData: dx = beta*dx + ∂/∂x. Also the forward pass of a transposed convolution.
	ConvBackwardData(g ConvGeom, dy, w, dx Buffer, beta float32)
	// ConvBackwardFilter: dw += ∂/∂w.
	ConvBackwardFilter(g ConvGeom, x, dy, dw Buffer)
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

// The checks (check.go): a valid geometry and buffers of exactly its sizes.

func checkConv(op string, g ConvGeom, x, w, y Buffer, xn, wn, yn string) {
	if err := g.Validate(); err != nil {
		fail(op, msgGeom, err)
	}
	needLen(op, xn, x, g.InputLen())
	needLen(op, wn, w, g.WeightLen())
	needLen(op, yn, y, g.OutputLen())
}

func (c checked) ConvForward(g ConvGeom, x, w, y Buffer) {
	checkConv("ConvForward", g, x, w, y, "x", "w", "y")
	c.d.ConvForward(g, x, w, y)
}

func (c checked) ConvBackwardData(g ConvGeom, dy, w, dx Buffer, beta float32) {
	checkConv("ConvBackwardData", g, dx, w, dy, "dx", "w", "dy")
	c.d.ConvBackwardData(g, dy, w, dx, beta)
}

func (c checked) ConvBackwardFilter(g ConvGeom, x, dy, dw Buffer) {
	checkConv("ConvBackwardFilter", g, x, dw, dy, "x", "dw", "dy")
	c.d.ConvBackwardFilter(g, x, dy, dw)
}
