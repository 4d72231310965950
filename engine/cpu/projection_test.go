package cpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/internal/sgemm"
	"github.com/gazeml/gaze/internal/sgemm/sgemmtest"
)

func TestFWHTConvention(t *testing.T) {
	x := cpu.Wrap([]float32{1, 0, 1, 0, 0, 1, 1, 0})
	cpu.New().FWHT(x, 8)
	want := []float32{4, 2, 0, -2, 0, 2, 0, 2}
	for i, v := range cpu.Data(x) {
		if v != want[i] {
			t.Fatalf("H([1,0,1,0,0,1,1,0]) = %v, want %v", cpu.Data(x), want)
		}
	}
}

// FWHT's cache-blocked, two-stages-a-pass kernels give the bits of the plain stage-by-stage
// loop on every path, for any number of cores, for blocks below, at and above the L1 chunk
// (4,096), with odd and even stage counts, one block or several.
func TestFWHTBitsMatchPlain(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rnd := rand.New(rand.NewPCG(7, 8))
	sgemmtest.ForPaths(t, func(t *testing.T) {
		for _, n := range []int{1, 2, 8, 16, 32, 64, 128, 2048, 4096, 8192, 16384, 32768, 1 << 18} {
			for _, blocks := range []int{1, 3} {
				if n*blocks > 1<<19 {
					continue
				}
				x := make([]float32, n*blocks)
				for i := range x {
					x[i] = float32(rnd.NormFloat64())
				}
				want := append([]float32(nil), x...)
				sgemm.FWHTPlain(want, n)
				for _, procs := range []int{1, 3} {
					runtime.GOMAXPROCS(procs)
					got := cpu.Wrap(append([]float32(nil), x...))
					cpu.New().FWHT(got, n)
					for i, v := range cpu.Data(got) {
						if math.Float32bits(v) != math.Float32bits(want[i]) {
							t.Fatalf("n %d, %d blocks, GOMAXPROCS %d: element %d is %v, the plain loop gives %v", n, blocks, procs, i, v, want[i])
						}
					}
				}
			}
		}
	})
}

// SpMV's AVX-512 kernel (eight rows at once in float64 lanes) gives the bits of the row-by-row
// Go loop: rows of 0 to 40 non-zeros and a few very long ones, a row count that is not a
// multiple of 8, with and without beta, for any number of cores.
func TestSpMVBitsMatchGo(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rnd := rand.New(rand.NewPCG(5, 6))
	const rows, cols = 1003, 97
	ptr := []float32{engine.IndexBits(0)}
	var idx, val []float32
	for r := range rows {
		n := rnd.IntN(6)
		switch {
		case r%50 == 7:
			n = 40
		case r%333 == 5:
			n = 3000
		}
		for range n {
			idx = append(idx, engine.IndexBits(rnd.IntN(cols)))
			val = append(val, float32(rnd.NormFloat64()))
		}
		ptr = append(ptr, engine.IndexBits(len(val)))
	}
	x, y0 := make([]float32, cols), make([]float32, rows)
	for i := range x {
		x[i] = float32(rnd.NormFloat64())
	}
	for i := range y0 {
		y0[i] = float32(rnd.NormFloat64())
	}
	run := func(beta float32) []float32 {
		y := cpu.Wrap(append([]float32(nil), y0...))
		cpu.New().SpMV(rows, cpu.Wrap(ptr), cpu.Wrap(idx), cpu.Wrap(val), cpu.Wrap(x), y, beta)
		return cpu.Data(y)
	}
	want := map[float32][]float32{}
	prev, _ := sgemm.SetPath(sgemm.Generic)
	runtime.GOMAXPROCS(1)
	for _, beta := range []float32{0, 1, -0.5} {
		want[beta] = run(beta)
	}
	sgemm.SetPath(prev)
	sgemmtest.ForPaths(t, func(t *testing.T) {
		for _, procs := range []int{1, 3} {
			runtime.GOMAXPROCS(procs)
			for beta, w := range want {
				for r, v := range run(beta) {
					if math.Float32bits(v) != math.Float32bits(w[r]) {
						t.Fatalf("beta %g, GOMAXPROCS %d: row %d is %v, the Go loop gives %v", beta, procs, r, v, w[r])
					}
				}
			}
		}
	})
}

// Gather gives src[idx[i]] on every path, for lengths around the AVX-512 kernel's 16 and a
// Fastfood-sized permutation, and refuses an index outside src on every path.
func TestGatherPaths(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	sgemmtest.ForPaths(t, func(t *testing.T) {
		for _, n := range []int{1, 15, 16, 17, 1000, 1 << 18} {
			src := make([]float32, n+3)
			for i := range src {
				src[i] = float32(rnd.NormFloat64())
			}
			idx, want := make([]float32, n), make([]float32, n)
			for i := range idx {
				j := rnd.IntN(len(src))
				idx[i], want[i] = engine.IndexBits(j), src[j]
			}
			dst := cpu.Wrap(make([]float32, n))
			cpu.New().Gather(cpu.Wrap(src), cpu.Wrap(idx), dst)
			for i, v := range cpu.Data(dst) {
				if math.Float32bits(v) != math.Float32bits(want[i]) {
					t.Fatalf("n %d: dst[%d] = %v, want src[%d] = %v", n, i, v, engine.BitsIndex(idx[i]), want[i])
				}
			}
			idx[0] = engine.IndexBits(len(src)) // one past the end, in the part a helper goroutine takes
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("n %d: an index outside src did not panic", n)
					}
				}()
				cpu.New().Gather(cpu.Wrap(src), cpu.Wrap(idx), dst)
			}()
		}
	})
}

// The projection kernels split work across cores; every output must be bit-identical for any
// number of cores.
func TestProjectionDeterministic(t *testing.T) {
	const rows, cols = 9000, 40
	run := func() [][]float32 {
		dev := cpu.New()
		inv := cpu.Wrap(make([]float32, cols))
		dev.ProjInvNorms(3, rows, inv)
		x, y, g, out := make([]float32, cols), make([]float32, rows), make([]float32, rows), make([]float32, cols)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		for i := range g {
			g[i] = float32(i%13) * 0.1
		}
		dev.ProjOTF(3, rows, inv, cpu.Wrap(x), cpu.Wrap(y), 0)
		dev.ProjOTFT(3, rows, inv, cpu.Wrap(g), cpu.Wrap(out))
		return [][]float32{cpu.Data(inv), y, out}
	}
	prev := runtime.GOMAXPROCS(1)
	one := run()
	runtime.GOMAXPROCS(max(prev, 4))
	many := run()
	runtime.GOMAXPROCS(prev)
	for k := range one {
		for i := range one[k] {
			if one[k][i] != many[k][i] {
				t.Fatalf("output %d[%d]: %v on one core, %v on several", k, i, one[k][i], many[k][i])
			}
		}
	}
}

// BenchmarkDenseProjection times one training step's projections, θ += P·θ_d and g_d = Pᵀ·g,
// for mnist-fc-200 (D = 199,210): the stored P through Gemv (and, for comparison, through a
// one-column Gemm, which packs P first), and the on-the-fly P (regenerating D·d normals each way).
//
//	go test -run '^$' -bench DenseProjection ./engine/cpu
func BenchmarkDenseProjection(b *testing.B) {
	const D = 199210
	for _, d := range []int{100, 750} {
		dev := cpu.New()
		inv, _ := dev.Alloc(d)
		dev.ProjInvNorms(1, D, inv)
		p, err := dev.Alloc(D * d)
		if err != nil {
			b.Fatal(err)
		}
		dev.ProjDenseFill(1, D, 0, inv, p)
		x, _ := dev.Alloc(d)
		y, _ := dev.Alloc(D)
		dev.Fill(x, 0.01)
		dev.Fill(y, 0.02)
		b.Run(fmt.Sprintf("stored_gemv_d%d", d), func(b *testing.B) {
			b.SetBytes(2 * 4 * int64(D) * int64(d))
			for range b.N {
				dev.Gemv(true, d, D, 1, p, D, x, 1, y)
				dev.Gemv(false, d, D, 1, p, D, y, 0, x)
			}
		})
		b.Run(fmt.Sprintf("stored_gemv_forward_d%d", d), func(b *testing.B) {
			b.SetBytes(4 * int64(D) * int64(d))
			for range b.N {
				dev.Gemv(true, d, D, 1, p, D, x, 1, y)
			}
		})
		b.Run(fmt.Sprintf("stored_gemv_transpose_d%d", d), func(b *testing.B) {
			b.SetBytes(4 * int64(D) * int64(d))
			for range b.N {
				dev.Gemv(false, d, D, 1, p, D, y, 0, x)
			}
		})
		b.Run(fmt.Sprintf("stored_gemm_d%d", d), func(b *testing.B) {
			b.SetBytes(2 * 4 * int64(D) * int64(d))
			for range b.N {
				dev.Gemm(true, false, D, 1, d, 1, p, D, x, 1, 1, y, 1)
				dev.Gemm(false, false, d, 1, D, 1, p, D, y, 1, 0, x, 1)
			}
		})
		if d == 100 {
			b.Run(fmt.Sprintf("otf_d%d", d), func(b *testing.B) {
				for range b.N {
					dev.ProjOTF(1, D, inv, x, y, 1)
					dev.ProjOTFT(1, D, inv, y, x)
				}
				b.ReportMetric(float64(2*D*d)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mnormals/s")
			})
		}
		dev.Free(p)
	}
}

func BenchmarkFWHT(b *testing.B) {
	const n = 1 << 18 // mnist-fc-200's fastfood length
	x := cpu.Wrap(make([]float32, n))
	dev := cpu.New()
	for range b.N {
		dev.FWHT(x, n)
	}
}
