package engine

import "fmt"

// PoolKernels are max, average and global average pooling over [N, C, H, W].
type PoolKernels interface {
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

// The checks (check.go): a valid geometry and buffers of exactly its sizes.

func checkPool(op string, g PoolGeom) {
	if err := g.Validate(); err != nil {
		fail(op, msgGeom, err)
	}
}

func (c checked) MaxPool(g PoolGeom, x, y Buffer) {
	checkPool("MaxPool", g)
	needLen("MaxPool", "x", x, g.InputLen())
	needLen("MaxPool", "y", y, g.OutputLen())
	c.d.MaxPool(g, x, y)
}

func (c checked) MaxPoolBackward(g PoolGeom, x, dy, dx Buffer) {
	checkPool("MaxPoolBackward", g)
	needLen("MaxPoolBackward", "x", x, g.InputLen())
	needLen("MaxPoolBackward", "dy", dy, g.OutputLen())
	needLen("MaxPoolBackward", "dx", dx, g.InputLen())
	c.d.MaxPoolBackward(g, x, dy, dx)
}

func (c checked) AvgPool(g PoolGeom, x, y Buffer) {
	checkPool("AvgPool", g)
	needLen("AvgPool", "x", x, g.InputLen())
	needLen("AvgPool", "y", y, g.OutputLen())
	c.d.AvgPool(g, x, y)
}

func (c checked) AvgPoolBackward(g PoolGeom, dy, dx Buffer) {
	checkPool("AvgPoolBackward", g)
	needLen("AvgPoolBackward", "dy", dy, g.OutputLen())
	needLen("AvgPoolBackward", "dx", dx, g.InputLen())
	c.d.AvgPoolBackward(g, dy, dx)
}

func (cc checked) GlobalAvgPool(x, y Buffer, n, c, hw int) {
	nonNegative("GlobalAvgPool", "n, c, hw", n, c, hw)
	needLen("GlobalAvgPool", "x", x, n*c*hw)
	needLen("GlobalAvgPool", "y", y, n*c)
	cc.d.GlobalAvgPool(x, y, n, c, hw)
}

func (cc checked) GlobalAvgPoolBackward(dy, dx Buffer, n, c, hw int) {
	nonNegative("GlobalAvgPoolBackward", "n, c, hw", n, c, hw)
	needLen("GlobalAvgPoolBackward", "dy", dy, n*c)
	needLen("GlobalAvgPoolBackward", "dx", dx, n*c*hw)
	cc.d.GlobalAvgPoolBackward(dy, dx, n, c, hw)
}
