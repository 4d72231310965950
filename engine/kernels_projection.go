package engine

import "math"

// ProjectionKernels are the kernels intrinsic-dimension training needs (θ = θ₀ + P·θ_d and
// g_d = Pᵀ·∇θ, package intdim).
//
// Dense random projections are defined by one formula on every device: before normalisation,
// entry (i, j) of the rows×cols matrix P is z(seed, j·rows + i) with z = rng.NormalAt (Philox
// Box–Muller, four normals per block), so column j is a contiguous stretch of the stream and
// the stored and on-the-fly projections are the same matrix. inv[j] = 1/‖z(seed, j·rows+·)‖ makes
// each column unit length.
//
// Index arrays (SpMV's ptr and idx, Gather's idx) hold uint32 values stored bit for bit in float32
// buffers (IndexBits), since buffers are float32 only; kernels reinterpret the bits.
type ProjectionKernels interface {
	// ProjInvNorms writes inv[j] = 1/sqrt(Σ_{i<rows} z(seed, j·rows+i)²) for j < inv.Len(), the
	// sum accumulated in float64.
	ProjInvNorms(seed uint64, rows int, inv Buffer)
	// ProjDenseFill stores columns col0 … col0+n−1 of the normalised P, n = inv.Len() (inv holds
	// those columns' inverse norms): p[c·rows + i] = z(seed, (col0+c)·rows + i)·inv[c]. p has
	// n·rows elements (P transposed, one column per row, which is what Gemm then reads).
	ProjDenseFill(seed uint64, rows, col0 int, inv, p Buffer)
	// ProjOTF is y = beta·y + P·x with P's entries regenerated on the fly: y has rows elements,
	// x has cols = inv.Len(). beta is 0 (y is not read) or 1.
	ProjOTF(seed uint64, rows int, inv, x, y Buffer, beta float32)
	// ProjOTFT is out = Pᵀ·g (overwrites): g has rows elements, out has inv.Len().
	ProjOTFT(seed uint64, rows int, inv, g, out Buffer)
	// SpMV is y = beta·y + A·x for a sparse rows×len(x) matrix A in CSR form: the non-zeros of
	// row r are val[k] in column idx[k] for ptr[r] ≤ k < ptr[r+1]. beta is 0 or 1.
	SpMV(rows int, ptr, idx, val, x, y Buffer, beta float32)
	// FWHT replaces each consecutive block of n elements of x (n a power of two dividing x.Len())
	// by its unnormalised Walsh–Hadamard transform in natural (Sylvester) order:
	// H([1,0,1,0,0,1,1,0]) = [4,2,0,−2,0,2,0,2]. H·H = n·I.
	FWHT(x Buffer, n int)
	// Gather is dst[i] = src[idx[i]] for i < dst.Len(). dst must not alias src.
	Gather(src, idx, dst Buffer)
}

// IndexBits stores a non-negative index (< 2^32) bit for bit in a float32, for index buffers.
func IndexBits(i int) float32 { return math.Float32frombits(uint32(i)) }

// BitsIndex reads an index stored by IndexBits.
func BitsIndex(f float32) int { return int(math.Float32bits(f)) }
