package engine

// CoordKernels are the kernels CoordConv needs.
type CoordKernels interface {
}
