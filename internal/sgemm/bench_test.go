package sgemm

import (
	"fmt"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

type benchShape struct {
	name           string
	transA, transB bool
	m, n, k        int
}

// benchShapes are the products the models issue. For a Linear layer with batch N, in and out
// features (x [N,in], W [out,in]): forward is NT (N,out,in), the weight gradient TN
// (out,in,N) and the input gradient NN (N,in,out). conv2 of lenet-lca is an im2col product
// with W [40,500] and cols [500, 196·250].
func benchShapes() []benchShape {
	var s []benchShape
	for _, fc := range [][3]int{{250, 784, 100}, {128, 784, 200}, {128, 200, 200}, {250, 1960, 400}} {
		N, in, out := fc[0], fc[1], fc[2]
		tag := fmt.Sprintf("fc_N%d_in%d_out%d", N, in, out)
		s = append(s,
			benchShape{tag + "_fwd_NT", false, true, N, out, in},
			benchShape{tag + "_dW_TN", true, false, out, in, N},
			benchShape{tag + "_dX_NN", false, false, N, in, out})
	}
	return append(s,
		benchShape{"conv2_fwd_NN", false, false, 40, 49000, 500},
		benchShape{"conv2_dW_NT", false, true, 40, 500, 49000},
		benchShape{"conv2_dX_TN", true, false, 500, 49000, 40},
		benchShape{"square512_NN", false, false, 512, 512, 512},
		benchShape{"square1024_NN", false, false, 1024, 1024, 1024},
	)
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// BenchmarkSgemm prints, per shape, every path this CPU supports (avx512, avx2, generic) and
// gonum's Sgemm side by side in GFLOP/s (all use every GOMAXPROCS thread; gonum parallelises internally).
func BenchmarkSgemm(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	for _, sh := range benchShapes() {
		lda, ldb := sh.k, sh.n
		if sh.transA {
			lda = sh.m
		}
		if sh.transB {
			ldb = sh.k
		}
		// Inputs are made on first use so that -bench filters skip the big ones.
		var a, bm, c []float32
		setup := func() {
			if a == nil {
				a = randSlice(r, sh.m*sh.k)
				bm = randSlice(r, sh.k*sh.n)
				c = make([]float32, sh.m*sh.n)
			}
		}
		flops := 2 * float64(sh.m) * float64(sh.n) * float64(sh.k)
		report := func(b *testing.B) {
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		impls := []string{"gonum"}
		for _, p := range Supported() {
			impls = append(impls, p.String())
		}
		for _, impl := range impls {
			b.Run(sh.name+"/"+impl, func(b *testing.B) {
				setup()
				if p, err := ParsePath(impl); err == nil {
					prev, err := SetPath(p)
					if err != nil {
						b.Fatal(err)
					}
					defer SetPath(prev)
				}
				for b.Loop() {
					if impl == "gonum" {
						gonum.Implementation{}.Sgemm(trans(sh.transA), trans(sh.transB), sh.m, sh.n, sh.k, 1, a, lda, bm, ldb, 0, c, sh.n)
					} else {
						Sgemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, a, lda, bm, ldb, 0, c, sh.n)
					}
				}
				report(b)
			})
		}
	}
}

// BenchmarkGemv times the dense projection's two products on one core (no fan-out) at the shapes
// of the intrinsic-dimension sweeps, P stored d×D as intdim stores it: forward θ += P·θ_d
// (GemvAccCols over all D columns) and transpose g_d = Pᵀ·g (GemvDots over the d rows); MB/s
// is P read.
//
//	go test ./internal/sgemm -run '^$' -bench Gemv
func BenchmarkGemv(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	for _, s := range [][2]int{{44426, 300}, {44426, 1000}, {44426, 2000}, {199210, 750}} {
		D, d := s[0], s[1]
		var a, x, g, y, out []float32
		setup := func() { // on first use, so that -bench filters skip the big ones
			if a == nil {
				a, x, g = randSlice(r, D*d), randSlice(r, d), randSlice(r, D)
				y, out = make([]float32, D), make([]float32, d)
			}
		}
		b.Run(fmt.Sprintf("forward_D%d_d%d", D, d), func(b *testing.B) {
			setup()
			b.SetBytes(4 * int64(D) * int64(d))
			for b.Loop() {
				GemvAccCols(0, D, d, D, 1, a, D, x, 1, y)
			}
		})
		b.Run(fmt.Sprintf("transpose_D%d_d%d", D, d), func(b *testing.B) {
			setup()
			b.SetBytes(4 * int64(D) * int64(d))
			for b.Loop() {
				GemvDots(0, d, D, 1, a, D, g, 0, out)
			}
		})
	}
}
