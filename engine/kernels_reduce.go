package engine

// ReduceKernels are whole-buffer reductions accumulated in float64. They return host values,
// so they synchronise with the device.
type ReduceKernels interface {
	// Sum returns Σ x accumulated in float64.
	Sum(x Buffer) float64
	// SumSquares returns Σ x² accumulated in float64.
	SumSquares(x Buffer) float64
	// Dot returns Σ x·y accumulated in float64.
	Dot(x, y Buffer) float64
}

// The checks (check.go).

func (c checked) Sum(x Buffer) float64        { return c.d.Sum(x) }
func (c checked) SumSquares(x Buffer) float64 { return c.d.SumSquares(x) }

func (c checked) Dot(x, y Buffer) float64 {
	sameLen("Dot", "x, y", x, y)
	return c.d.Dot(x, y)
}
