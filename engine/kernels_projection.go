package engine

// ProjectionKernels are the kernels intrinsic-dimension training needs.
type ProjectionKernels interface {
}
