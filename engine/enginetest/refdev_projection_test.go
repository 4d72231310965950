package enginetest

import (
	"math"

	"github.com/gazeml/gaze/engine"
)

// refDev's projection kernels: the float64 references of projection.go, rounded to float32.

func (refDev) ProjInvNorms(seed uint64, rows int, inv engine.Buffer) {
	put(inv, refInvNorms(seed, rows, 0, inv.Len()))
}

func (refDev) ProjDenseFill(seed uint64, rows, col0 int, inv, p engine.Buffer) {
	iv, out := rd(inv), make([]float64, p.Len())
	for c := range iv {
		for i := range rows {
			out[c*rows+i] = refZ(seed, uint64(col0+c)*uint64(rows)+uint64(i)) * iv[c]
		}
	}
	put(p, out)
}

func (refDev) ProjOTF(seed uint64, rows int, inv, x, y engine.Buffer, beta float32) {
	out, _ := refOTF(seed, rows, rd(inv), rd(x), rd(y), float64(beta))
	put(y, out)
}

func (refDev) ProjOTFT(seed uint64, rows int, inv, g, out engine.Buffer) {
	o, _ := refOTFT(seed, rows, rd(inv), rd(g))
	put(out, o)
}

func indices(b engine.Buffer) []int {
	f := rb(b)
	out := make([]int, len(f))
	for i, v := range f {
		out[i] = engine.BitsIndex(v)
	}
	return out
}

func (refDev) SpMV(rows int, ptr, idx, val, x, y engine.Buffer, beta float32) {
	out, _ := refSpMV(rows, indices(ptr), indices(idx), rd(val), rd(x), rd(y), float64(beta))
	put(y, out)
}

func (refDev) FWHT(x engine.Buffer, n int) {
	if n < 1 { // refFWHT would loop forever; refDev trusts its arguments but must not hang
		panic("refDev: FWHT block < 1")
	}
	out, _ := refFWHT(rd(x), n)
	put(x, out)
}

func (refDev) Gather(src, idx, dst engine.Buffer) {
	s, id, d := rb(src), indices(idx), rb(dst)
	for i := range d {
		d[i] = s[id[i]]
	}
}

// Projection mutants: refDev with one plausible bug each, which the Projection group must catch
// (run in a child process, as TestSuiteCatchesMutants does for the other groups).
type mutOTFRowMajor struct{ refDev }

// The stream indexed row-major (i·cols + j) instead of column by column.
func (mutOTFRowMajor) ProjOTF(seed uint64, rows int, inv, x, y engine.Buffer, beta float32) {
	iv, xd, yd := rd(inv), rd(x), rd(y)
	out := make([]float64, rows)
	for i := range rows {
		out[i] = float64(beta) * yd[i]
		if beta == 0 {
			out[i] = 0
		}
		for j := range iv {
			out[i] += refZ(seed, uint64(i)*uint64(len(iv))+uint64(j)) * iv[j] * xd[j]
		}
	}
	put(y, out)
}

type mutOTFTNoNorm struct{ refDev }

func (mutOTFTNoNorm) ProjOTFT(seed uint64, rows int, inv, g, out engine.Buffer) {
	ones := make([]float64, inv.Len())
	for i := range ones {
		ones[i] = 1
	}
	o, _ := refOTFT(seed, rows, ones, rd(g))
	put(out, o)
}

type mutFWHTNormalised struct{ refDev }

func (mutFWHTNormalised) FWHT(x engine.Buffer, n int) {
	out, _ := refFWHT(rd(x), n)
	for i := range out {
		out[i] /= math.Sqrt(float64(n))
	}
	put(x, out)
}

type mutSpMVReadsY struct{ refDev }

func (mutSpMVReadsY) SpMV(rows int, ptr, idx, val, x, y engine.Buffer, beta float32) {
	refDev{}.SpMV(rows, ptr, idx, val, x, y, 1)
}

type mutGatherOffByOne struct{ refDev }

func (mutGatherOffByOne) Gather(src, idx, dst engine.Buffer) {
	s, id, d := rb(src), indices(idx), rb(dst)
	for i := range d {
		d[i] = s[min(id[i]+1, len(s)-1)]
	}
}

// The projection mutants join the suite's mutant table: TestSuiteCatchesMutants runs each in a
// child process and requires its Projection group to fail.
func init() {
	mutants = append(mutants,
		mutant{"otf_row_major_stream", "Projection", mutOTFRowMajor{}},
		mutant{"otft_without_column_norms", "Projection", mutOTFTNoNorm{}},
		mutant{"fwht_normalised", "Projection", mutFWHTNormalised{}},
		mutant{"spmv_reads_y_when_beta0", "Projection", mutSpMVReadsY{}},
		mutant{"gather_off_by_one", "Projection", mutGatherOffByOne{}},
	)
}
