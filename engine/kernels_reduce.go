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
