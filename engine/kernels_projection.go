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

// The checks (check.go): a projection of at least one row and column, the vectors its sizes
// imply, a CSR table's pointer count, power-of-two Walsh–Hadamard blocks, enough gather indices.
// Index values are data, read (and bounds-checked, where the device can) by the device.

// checkProj checks a rows×cols projection, cols being the length of inv.
func checkProj(op string, rows int, inv Buffer) int {
	cols := blen(inv)
	atLeast(op, "rows", rows, 1)
	atLeast(op, "columns (inv)", cols, 1)
	return cols
}

func (c checked) ProjInvNorms(seed uint64, rows int, inv Buffer) {
	checkProj("ProjInvNorms", rows, inv)
	c.d.ProjInvNorms(seed, rows, inv)
}

func (c checked) ProjDenseFill(seed uint64, rows, col0 int, inv, p Buffer) {
	cols := checkProj("ProjDenseFill", rows, inv)
	atLeast("ProjDenseFill", "col0", col0, 0)
	needLen("ProjDenseFill", "p", p, cols*rows)
	c.d.ProjDenseFill(seed, rows, col0, inv, p)
}

func (c checked) ProjOTF(seed uint64, rows int, inv, x, y Buffer, beta float32) {
	cols := checkProj("ProjOTF", rows, inv)
	needLen("ProjOTF", "x", x, cols)
	needLen("ProjOTF", "y", y, rows)
	c.d.ProjOTF(seed, rows, inv, x, y, beta)
}

func (c checked) ProjOTFT(seed uint64, rows int, inv, g, out Buffer) {
	cols := checkProj("ProjOTFT", rows, inv)
	needLen("ProjOTFT", "g", g, rows)
	needLen("ProjOTFT", "out", out, cols)
	c.d.ProjOTFT(seed, rows, inv, g, out)
}

func (c checked) SpMV(rows int, ptr, idx, val, x, y Buffer, beta float32) {
	nonNegative("SpMV", "rows", rows)
	needLen("SpMV", "ptr", ptr, rows+1)
	needLen("SpMV", "y", y, rows)
	sameLen("SpMV", "idx, val", idx, val)
	c.d.SpMV(rows, ptr, idx, val, x, y, beta)
}

func (c checked) FWHT(x Buffer, n int) {
	if l := blen(x); n < 1 || n&(n-1) != 0 || l%n != 0 {
		fail("FWHT", msgPow2, n, l)
	}
	c.d.FWHT(x, n)
}

func (c checked) Gather(src, idx, dst Buffer) {
	if n := blen(dst); blen(idx) < n {
		fail("Gather", msgMinLen, "idx", blen(idx), n)
	}
	c.d.Gather(src, idx, dst)
}
