package enginetest

import (
	"fmt"
	"math"
	"math/bits"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/rng"
)

// testProjection checks the intrinsic-dimension projection kernels against float64 references.
// The dense projection's normals are regenerated here from Philox4x32 itself (refZ), so the
// reference does not share rng.Normal4's code with the devices.
func testProjection(t *testing.T, dev engine.Device) {
	const seed = 0x5eed_1234_abcd
	for _, s := range []struct{ rows, cols int }{{1, 1}, {5, 3}, {37, 7}, {2500, 4}, {1001, 64}} {
		name := fmt.Sprintf("r%d_c%d", s.rows, s.cols)
		run(t, "InvNorms_"+name, dev, func(h *harness) {
			inv := h.nans(s.cols)
			dev.ProjInvNorms(seed, s.rows, inv)
			h.close("inv", h.get(inv), refInvNorms(seed, s.rows, 0, s.cols), nil, tol{0, 4 * u32})
		})
		run(t, "DenseFill_"+name, dev, func(h *harness) {
			col0 := 3
			inv := refInvNorms(seed, s.rows, col0, s.cols)
			p := h.nans(s.rows * s.cols)
			dev.ProjDenseFill(seed, s.rows, col0, h.buf(f32(inv)), p)
			want := make([]float64, s.rows*s.cols)
			for c := range s.cols {
				for i := range s.rows {
					want[c*s.rows+i] = refZ(seed, uint64(col0+c)*uint64(s.rows)+uint64(i)) * float64(float32(inv[c]))
				}
			}
			h.close("P", h.get(p), want, nil, tol{0, 2 * u32})
		})
		for _, beta := range []float32{0, 1} {
			run(t, fmt.Sprintf("OTF_%s_beta%g", name, beta), dev, func(h *harness) {
				inv := f32(refInvNorms(seed, s.rows, 0, s.cols))
				x := h.randn(s.cols)
				x[s.cols/2] = 0 // a zero coefficient (θ_d starts at 0) must still be handled
				y := h.randn(s.rows)
				if beta == 0 {
					y = constant(s.rows, float32(math.NaN()))
				}
				want, mag := refOTF(seed, s.rows, f64(inv), f64(x), f64(y), float64(beta))
				yb := h.buf(y)
				dev.ProjOTF(seed, s.rows, h.buf(inv), h.buf(x), yb, beta)
				h.close("y", h.get(yb), want, mag, tol{1e-7, accumRtol(s.cols + 1)})
			})
		}
		run(t, "OTFT_"+name, dev, func(h *harness) {
			inv := f32(refInvNorms(seed, s.rows, 0, s.cols))
			g := h.randn(s.rows)
			out := h.nans(s.cols)
			dev.ProjOTFT(seed, s.rows, h.buf(inv), h.buf(g), out)
			want, mag := refOTFT(seed, s.rows, f64(inv), f64(g))
			h.close("out", h.get(out), want, mag, tol{1e-7, accumRtol(s.rows)})
		})
	}
	for _, s := range []struct{ rows, cols, nnz int }{{1, 1, 1}, {7, 5, 0}, {40, 33, 90}, {3000, 50, 9000}} {
		for _, beta := range []float32{0, 1} {
			run(t, fmt.Sprintf("SpMV_r%d_c%d_nnz%d_beta%g", s.rows, s.cols, s.nnz, beta), dev, func(h *harness) {
				ptr, idx, val := h.randomCSR(s.rows, s.cols, s.nnz)
				x := h.randn(s.cols)
				y := h.randn(s.rows)
				if beta == 0 {
					y = constant(s.rows, float32(math.NaN()))
				}
				want, mag := refSpMV(s.rows, ptr, idx, f64(val), f64(x), f64(y), float64(beta))
				yb := h.buf(y)
				dev.SpMV(s.rows, h.buf(indexBits(ptr)), h.buf(indexBits(idx)), h.buf(val), h.buf(x), yb, beta)
				h.close("y", h.get(yb), want, mag, tol{1e-7, accumRtol(s.cols + 1)})
			})
		}
	}
	run(t, "FWHT_convention", dev, func(h *harness) {
		x := h.buf([]float32{1, 0, 1, 0, 0, 1, 1, 0})
		dev.FWHT(x, 8)
		h.exact("H·x", h.get(x), []float32{4, 2, 0, -2, 0, 2, 0, 2})
	})
	for _, s := range []struct{ n, blocks int }{{1, 3}, {2, 1}, {16, 5}, {1024, 3}, {1 << 13, 1}} {
		run(t, fmt.Sprintf("FWHT_n%d_blocks%d", s.n, s.blocks), dev, func(h *harness) {
			x := h.randn(s.n * s.blocks)
			want, mag := refFWHT(f64(x), s.n)
			xb := h.buf(x)
			dev.FWHT(xb, s.n)
			// Each output is a sum of n terms reached through log₂n levels of additions.
			h.close("H·x", h.get(xb), want, mag, tol{1e-6, 8 * float64(bits.Len(uint(s.n))) * u32})
		})
	}
	for _, s := range []struct{ src, dst int }{{1, 1}, {10, 10}, {50, 17}, {4099, 4099}} {
		run(t, fmt.Sprintf("Gather_src%d_dst%d", s.src, s.dst), dev, func(h *harness) {
			src := h.randn(s.src)
			idx := make([]int, s.dst)
			want := make([]float32, s.dst)
			for i := range idx {
				idx[i] = h.rnd.IntN(s.src) // with repeats, as a general gather has
				want[i] = src[idx[i]]
			}
			dst := h.nans(s.dst)
			dev.Gather(h.buf(src), h.buf(indexBits(idx)), dst)
			h.exact("dst", h.get(dst), want)
		})
	}
}

// randomCSR draws a rows×cols sparse matrix with nnz non-zeros at random places (some rows stay
// empty, some get several) and returns it in CSR form with columns sorted in each row.
func (h *harness) randomCSR(rows, cols, nnz int) (ptr, idx []int, val []float32) {
	count := make([]int, rows)
	for range nnz {
		count[h.rnd.IntN(rows)]++
	}
	ptr = make([]int, rows+1)
	for r := range rows {
		ptr[r+1] = ptr[r] + count[r]
		for range count[r] {
			idx = append(idx, h.rnd.IntN(cols))
		}
	}
	return ptr, idx, h.randn(nnz)
}

func indexBits(v []int) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = engine.IndexBits(x)
	}
	return out
}

func f32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// refZ is entry e of the dense projections' normal stream, written from its definition: Philox
// block e/4 at counter word 2 = 2, Box–Muller on words (0,1) and (2,3) with u1 = (w+1)/2^32.
func refZ(seed, e uint64) float64 {
	blk := e >> 2
	w := rng.Philox4x32([4]uint32{uint32(blk), uint32(blk >> 32), 2, 0}, [2]uint32{uint32(seed), uint32(seed >> 32)})
	p := int(e&3) / 2
	u1 := (float64(w[2*p]) + 1) / (1 << 32)
	u2 := float64(w[2*p+1]) / (1 << 32)
	r := math.Sqrt(-2 * math.Log(u1))
	if e&1 == 0 {
		return r * math.Cos(2*math.Pi*u2)
	}
	return r * math.Sin(2*math.Pi*u2)
}

// refInvNorms returns 1/‖column j‖ for columns col0 … col0+cols−1.
func refInvNorms(seed uint64, rows, col0, cols int) []float64 {
	out := make([]float64, cols)
	for c := range cols {
		var s float64
		for i := range rows {
			z := refZ(seed, uint64(col0+c)*uint64(rows)+uint64(i))
			s += z * z
		}
		out[c] = 1 / math.Sqrt(s)
	}
	return out
}

// refOTF is beta·y + P·x with its magnitude Σ|terms|.
func refOTF(seed uint64, rows int, inv, x, y []float64, beta float64) (out, mag []float64) {
	out, mag = make([]float64, rows), make([]float64, rows)
	for i := range rows {
		if beta != 0 {
			out[i], mag[i] = beta*y[i], math.Abs(beta*y[i])
		}
		for j := range inv {
			v := refZ(seed, uint64(j)*uint64(rows)+uint64(i)) * inv[j] * x[j]
			out[i] += v
			mag[i] += math.Abs(v)
		}
	}
	return out, mag
}

// refOTFT is Pᵀ·g with its magnitude.
func refOTFT(seed uint64, rows int, inv, g []float64) (out, mag []float64) {
	out, mag = make([]float64, len(inv)), make([]float64, len(inv))
	for j := range inv {
		for i := range rows {
			v := refZ(seed, uint64(j)*uint64(rows)+uint64(i)) * inv[j] * g[i]
			out[j] += v
			mag[j] += math.Abs(v)
		}
	}
	return out, mag
}

// refSpMV is beta·y + A·x for CSR A, with its magnitude.
func refSpMV(rows int, ptr, idx []int, val, x, y []float64, beta float64) (out, mag []float64) {
	out, mag = make([]float64, rows), make([]float64, rows)
	for r := range rows {
		if beta != 0 {
			out[r], mag[r] = beta*y[r], math.Abs(beta*y[r])
		}
		for k := ptr[r]; k < ptr[r+1]; k++ {
			out[r] += val[k] * x[idx[k]]
			mag[r] += math.Abs(val[k] * x[idx[k]])
		}
	}
	return out, mag
}

// refFWHT multiplies each block of n by the Hadamard matrix H[i][j] = (−1)^popcount(i∧j),
// element by element (O(n²)), with the magnitude Σ|x| of the block.
func refFWHT(x []float64, n int) (out, mag []float64) {
	out, mag = make([]float64, len(x)), make([]float64, len(x))
	for b := 0; b < len(x); b += n {
		for i := range n {
			for j := range n {
				v := x[b+j]
				if bits.OnesCount(uint(i&j))%2 == 1 {
					v = -v
				}
				out[b+i] += v
				mag[b+i] += math.Abs(v)
			}
		}
	}
	return out, mag
}
