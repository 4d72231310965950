// Package intdim measures the intrinsic dimension of a problem and model (Li, Farkhoor, Liu and
// Yosinski, ICLR 2018): a network is trained only in a random d-dimensional subspace of its
// D-dimensional parameter space, θ = θ₀ + P·θ_d, and d_int90 is the smallest d that reaches 90 %
// of the baseline performance. The package holds the four projections, the subspace wrapper
// (an engine.Reparam), the paper's toy problem, sweeps of (d, seed) points run locally or as
// cluster jobs, d_int90 with bootstrap intervals, and plots.
package intdim

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strings"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/bytesize"
)

// Projection kinds.
const (
	Dense    = "dense"     // stored D×d Gaussian P, unit columns
	DenseOTF = "dense-otf" // the same P regenerated on the fly from Philox
	Sparse   = "sparse"    // very sparse random projection, per layer
	Fastfood = "fastfood"  // H·G·Π·H·B, O(D log D)
)

// Kinds lists the projection kinds.
var Kinds = []string{Dense, DenseOTF, Sparse, Fastfood}

// Projection is a D×d matrix P with (near) unit columns.
type Projection interface {
	Kind() string
	// Dims is (D, d): P maps R^d into R^D.
	Dims() (D, d int)
	// Apply adds P·x (x has d elements) to y (D elements).
	Apply(x, y engine.Buffer)
	// ApplyT overwrites out (d elements) with Pᵀ·g (g has D elements).
	ApplyT(g, out engine.Buffer)
	// Bytes is the device memory the projection holds.
	Bytes() int64
	Close()
}

// ProjConfig selects and sizes a projection.
type ProjConfig struct {
	Kind string
	D    int // parameters (rows of P)
	Dim  int // subspace dimension d (columns of P)
	Seed uint64
	// Segments are the [start, end) ranges of the layers of θ (engine.Arena.LayerSegments); the
	// sparse projection draws each layer with its own density. Nil means one segment.
	Starts, Ends []int
	// MemLimit (bytes) refuses projections that need more; 0 means no limit.
	MemLimit int64
}

// Bytes estimates the device memory a projection of this kind needs.
func (c ProjConfig) Bytes() int64 {
	D, d := int64(c.D), int64(c.Dim)
	switch c.Kind {
	case Dense:
		return 4*D*d + 4*d
	case DenseOTF:
		return 4 * d
	case Sparse:
		// Both orientations (CSR of P and of Pᵀ): an index and a value per non-zero each.
		return 16*int64(math.Ceil(float64(d)*c.sparseNNZPerColumn())) + 4*(D+d+2)
	case Fastfood:
		return 6 * 4 * int64(fastfoodLen(c.D))
	}
	return 0
}

// sparseNNZPerColumn is the expected number of non-zeros of a column: √n per layer of n.
func (c ProjConfig) sparseNNZPerColumn() float64 {
	starts, ends := c.segments()
	var s float64
	for i := range starts {
		s += math.Sqrt(float64(ends[i] - starts[i]))
	}
	return s
}

func (c ProjConfig) segments() (starts, ends []int) {
	if len(c.Starts) == 0 {
		return []int{0}, []int{c.D}
	}
	return c.Starts, c.Ends
}

// Validate reports a projection that cannot be built: an unknown kind, d outside [1, D] (a
// subspace larger than the space it lies in is no subspace; fastfood pads θ_d only up to
// 2^⌈log₂D⌉), or one over the memory limit, naming the kinds that would fit.
func (c ProjConfig) Validate() error {
	known := false
	for _, k := range Kinds {
		known = known || k == c.Kind
	}
	if !known {
		return fmt.Errorf("unknown projection %q (want %s)", c.Kind, strings.Join(Kinds, ", "))
	}
	if c.D < 1 {
		return fmt.Errorf("projection: the model has %d parameters", c.D)
	}
	if c.Dim < 1 || c.Dim > c.D {
		return fmt.Errorf("subspace dimension d = %d must be in [1, D = %d]", c.Dim, c.D)
	}
	if len(c.Starts) != len(c.Ends) {
		return fmt.Errorf("projection: %d segment starts but %d ends", len(c.Starts), len(c.Ends))
	}
	if c.MemLimit > 0 && c.Bytes() > c.MemLimit {
		var fit []string
		for _, k := range Kinds {
			o := c
			o.Kind = k
			if o.Bytes() <= c.MemLimit {
				fit = append(fit, fmt.Sprintf("%s (%s)", k, bytesize.Format(o.Bytes())))
			}
		}
		return fmt.Errorf("the %s projection for D = %d and d = %d needs %s, over the %s limit; these fit: %s",
			c.Kind, c.D, c.Dim, bytesize.Format(c.Bytes()), bytesize.Format(c.MemLimit), strings.Join(fit, ", "))
	}
	return nil
}

// NewProjection builds the projection on dev.
func NewProjection(dev engine.Device, c ProjConfig) (Projection, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var p Projection
	var err error
	switch c.Kind {
	case Dense, DenseOTF:
		p, err = newDense(dev, c)
	case Sparse:
		p, err = newSparse(dev, c)
	case Fastfood:
		p, err = newFastfood(dev, c)
	}
	if err != nil {
		return nil, fmt.Errorf("%s projection (D = %d, d = %d, %s): %w", c.Kind, c.D, c.Dim, bytesize.Format(c.Bytes()), err)
	}
	if err := dev.Sync(); err != nil {
		p.Close()
		return nil, fmt.Errorf("%s projection: %w", c.Kind, err)
	}
	return p, nil
}

// allocs allocates buffers, freeing them all if one fails.
func allocs(dev engine.Device, sizes ...int) ([]engine.Buffer, error) {
	out := make([]engine.Buffer, len(sizes))
	for i, n := range sizes {
		b, err := dev.Alloc(n)
		if err != nil {
			for _, o := range out[:i] {
				dev.Free(o)
			}
			return nil, fmt.Errorf("allocating %s: %w", bytesize.Format(4*int64(n)), err)
		}
		out[i] = b
	}
	return out, nil
}

// denseProj is P with N(0, 1) entries (the Philox stream of engine.ProjectionKernels) and unit
// columns, stored (dense) or regenerated on every use (dense-otf).
type denseProj struct {
	dev    engine.Device
	kind   string
	D, d   int
	seed   uint64
	inv    engine.Buffer // 1/‖column‖, computed once
	stored engine.Buffer // d×D (P transposed), nil for dense-otf
}

func newDense(dev engine.Device, c ProjConfig) (*denseProj, error) {
	sizes := []int{c.Dim}
	if c.Kind == Dense {
		sizes = append(sizes, c.D*c.Dim)
	}
	b, err := allocs(dev, sizes...)
	if err != nil {
		return nil, err
	}
	p := &denseProj{dev: dev, kind: c.Kind, D: c.D, d: c.Dim, seed: c.Seed, inv: b[0]}
	dev.ProjInvNorms(c.Seed, c.D, p.inv)
	if c.Kind == Dense {
		p.stored = b[1]
		dev.ProjDenseFill(c.Seed, c.D, 0, p.inv, p.stored)
	}
	return p, nil
}

func (p *denseProj) Kind() string     { return p.kind }
func (p *denseProj) Dims() (int, int) { return p.D, p.d }
func (p *denseProj) Close()           { p.dev.Free(p.inv); p.dev.Free(p.stored) }

// Bytes counts the inverse column norms and, when stored, P.
func (p *denseProj) Bytes() int64 {
	if p.stored == nil {
		return 4 * int64(p.d)
	}
	return 4*int64(p.d) + 4*int64(p.D)*int64(p.d)
}

func (p *denseProj) Apply(x, y engine.Buffer) {
	if p.stored == nil {
		p.dev.ProjOTF(p.seed, p.D, p.inv, x, y, 1)
		return
	}
	// stored is d×D (one column of P per row): y += storedᵀ·x.
	p.dev.Gemv(true, p.d, p.D, 1, p.stored, p.D, x, 1, y)
}

func (p *denseProj) ApplyT(g, out engine.Buffer) {
	if p.stored == nil {
		p.dev.ProjOTFT(p.seed, p.D, p.inv, g, out)
		return
	}
	p.dev.Gemv(false, p.d, p.D, 1, p.stored, p.D, g, 0, out)
}

// sparseProj is the very sparse random projection of Li, Hastie and Church (KDD 2006) drawn per
// layer, as the paper's code does with scikit-learn's SparseRandomProjection: in a layer of n
// parameters each entry of a column is non-zero with probability s = 1/√n, ±√(1/s) with equal
// odds; each column is then scaled to unit length. Both P (for θ) and Pᵀ (for g_d) are kept
// in CSR form so that each output element is one deterministic gather.
type sparseProj struct {
	dev            engine.Device
	D, d           int
	nnz            int
	ptr, idx, val  engine.Buffer // CSR of P (D rows)
	tptr, tidx, tv engine.Buffer // CSR of Pᵀ (d rows)
}

func newSparse(dev engine.Device, c ProjConfig) (*sparseProj, error) {
	starts, ends := c.segments()
	// Columns first (CSC = CSR of Pᵀ): each from its own PCG stream, so a column does not
	// depend on d.
	tptr := make([]float32, c.Dim+1)
	var rows []int
	var vals []float32
	for j := range c.Dim {
		r := rand.New(rand.NewPCG(c.Seed, uint64(j)))
		first := len(rows)
		var norm2 float64
		for l := range starts {
			n := ends[l] - starts[l]
			s := 1 / math.Sqrt(float64(n))
			v := math.Sqrt(1 / s)
			// Geometric gaps between non-zeros: O(non-zeros) work instead of O(n) draws.
			lg := math.Log1p(-s)
			for i := starts[l] - 1; ; {
				if s >= 1 {
					i++
				} else {
					i += 1 + int(math.Floor(math.Log(1-r.Float64())/lg))
				}
				if i >= ends[l] || i < starts[l] { // i < start only on overflow
					break
				}
				sign := 1.0
				if r.Uint64()&1 == 1 {
					sign = -1
				}
				rows = append(rows, i)
				vals = append(vals, float32(sign*v))
				norm2 += v * v
			}
		}
		if len(rows) == first { // no non-zero drawn (tiny layers only): one ±1 at a random row
			rows = append(rows, r.IntN(c.D))
			vals = append(vals, float32(1-2*int(r.Uint64()&1)))
			norm2 = 1
		}
		inv := 1 / math.Sqrt(norm2)
		for k := first; k < len(rows); k++ {
			vals[k] = float32(float64(vals[k]) * inv)
		}
		tptr[j+1] = engine.IndexBits(len(rows))
	}
	nnz := len(rows)
	if nnz >= 1<<32-1 {
		return nil, fmt.Errorf("%d non-zeros exceed the 32-bit indices", nnz)
	}
	// Transpose to CSR of P; columns stay increasing within each row.
	count := make([]int, c.D+1)
	for _, i := range rows {
		count[i+1]++
	}
	for i := range c.D {
		count[i+1] += count[i]
	}
	ptr := make([]float32, c.D+1)
	for i := range ptr {
		ptr[i] = engine.IndexBits(count[i])
	}
	idx, val := make([]float32, nnz), make([]float32, nnz)
	tidx := make([]float32, nnz)
	next := count[:c.D]
	for j := range c.Dim {
		for k := engine.BitsIndex(tptr[j]); k < engine.BitsIndex(tptr[j+1]); k++ {
			i := rows[k]
			tidx[k] = engine.IndexBits(i)
			idx[next[i]] = engine.IndexBits(j)
			val[next[i]] = vals[k]
			next[i]++
		}
	}
	b, err := allocs(dev, c.D+1, max(nnz, 1), max(nnz, 1), c.Dim+1, max(nnz, 1), max(nnz, 1))
	if err != nil {
		return nil, err
	}
	p := &sparseProj{dev: dev, D: c.D, d: c.Dim, nnz: nnz, ptr: b[0], idx: b[1], val: b[2], tptr: b[3], tidx: b[4], tv: b[5]}
	dev.Upload(p.ptr, ptr)
	dev.Upload(p.idx, idx)
	dev.Upload(p.val, val)
	dev.Upload(p.tptr, tptr)
	dev.Upload(p.tidx, tidx)
	dev.Upload(p.tv, vals)
	return p, nil
}

func (p *sparseProj) Kind() string     { return Sparse }
func (p *sparseProj) Dims() (int, int) { return p.D, p.d }
func (p *sparseProj) Bytes() int64     { return 16*int64(p.nnz) + 4*int64(p.D+p.d+2) }
func (p *sparseProj) Close() {
	for _, b := range []engine.Buffer{p.ptr, p.idx, p.val, p.tptr, p.tidx, p.tv} {
		p.dev.Free(b)
	}
}
func (p *sparseProj) Apply(x, y engine.Buffer) { p.dev.SpMV(p.D, p.ptr, p.idx, p.val, x, y, 1) }
func (p *sparseProj) ApplyT(g, out engine.Buffer) {
	p.dev.SpMV(p.d, p.tptr, p.tidx, p.tv, g, out, 0)
}

// fastfoodLen is L = 2^⌈log₂ D⌉.
func fastfoodLen(D int) int { return 1 << bits.Len(uint(D-1)) }

// fastfoodProj is one Fastfood block (Le, Sarlós and Smola, ICML 2013) as in the paper's code:
// P·x = s·cut_D(H·G·Π·H·B·pad_L(x)) with H the unnormalised Walsh–Hadamard transform, G
// Gaussian, Π a permutation, B random signs, s = 1/√(D·ΣG²): ‖H G Π H B e_j‖² = L·ΣG², and
// cutting L rows to D keeps D/L of it in expectation, so columns have unit norm on average.
type fastfoodProj struct {
	dev             engine.Device
	D, d, L         int
	scale           float32
	b, g, perm, inv engine.Buffer
	u, v            engine.Buffer // scratch of L
	uD, uTail, ud   engine.Buffer // views made once (a view allocates on the CPU device)
	vD, vd          engine.Buffer
}

func newFastfood(dev engine.Device, c ProjConfig) (*fastfoodProj, error) {
	L := fastfoodLen(c.D)
	r := rand.New(rand.NewPCG(c.Seed, 0xfa57f00d))
	bh, gh := make([]float32, L), make([]float32, L)
	var sg float64
	for i := range L {
		bh[i] = float32(1 - 2*int(r.Uint64()&1))
		gh[i] = float32(r.NormFloat64())
		sg += float64(gh[i]) * float64(gh[i])
	}
	perm := r.Perm(L)
	ph, ih := make([]float32, L), make([]float32, L)
	for i, p := range perm {
		ph[i] = engine.IndexBits(p)
		ih[p] = engine.IndexBits(i)
	}
	bufs, err := allocs(dev, L, L, L, L, L, L)
	if err != nil {
		return nil, err
	}
	p := &fastfoodProj{dev: dev, D: c.D, d: c.Dim, L: L, scale: float32(1 / math.Sqrt(float64(c.D)*sg)),
		b: bufs[0], g: bufs[1], perm: bufs[2], inv: bufs[3], u: bufs[4], v: bufs[5]}
	dev.Upload(p.b, bh)
	dev.Upload(p.g, gh)
	dev.Upload(p.perm, ph)
	dev.Upload(p.inv, ih)
	p.uD, p.uTail, p.ud = p.u.Slice(0, c.D), p.u.Slice(c.D, L-c.D), p.u.Slice(0, c.Dim)
	p.vD, p.vd = p.v.Slice(0, c.D), p.v.Slice(0, c.Dim)
	return p, nil
}

func (p *fastfoodProj) Kind() string     { return Fastfood }
func (p *fastfoodProj) Dims() (int, int) { return p.D, p.d }
func (p *fastfoodProj) Bytes() int64     { return 6 * 4 * int64(p.L) }
func (p *fastfoodProj) Close() {
	for _, b := range []engine.Buffer{p.b, p.g, p.perm, p.inv, p.u, p.v} {
		p.dev.Free(b)
	}
}

// Apply: y += s·cut(H G Π H B pad(x)).
func (p *fastfoodProj) Apply(x, y engine.Buffer) {
	k := p.dev
	k.Fill(p.u, 0)
	k.Copy(p.ud, x)
	k.Mul(p.b, p.u, p.u)
	k.FWHT(p.u, p.L)
	k.Gather(p.u, p.perm, p.v)
	k.Mul(p.g, p.v, p.v)
	k.FWHT(p.v, p.L)
	k.Axpy(p.scale, p.vD, y)
}

// ApplyT: out = s·cut_d(B H Πᵀ G H pad(g)); H is symmetric and Πᵀ gathers with the inverse
// permutation.
func (p *fastfoodProj) ApplyT(g, out engine.Buffer) {
	k := p.dev
	k.Copy(p.uD, g)
	if p.L > p.D {
		k.Fill(p.uTail, 0)
	}
	k.FWHT(p.u, p.L)
	k.Mul(p.g, p.u, p.u)
	k.Gather(p.u, p.inv, p.v)
	k.FWHT(p.v, p.L)
	k.Mul(p.b, p.v, p.v)
	k.Copy(out, p.vd)
	k.Scale(out, p.scale)
}
