package sgemm

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"testing"
)

// refGemm is the float64 reference. It also returns, per element of C, the error scale
// Σ_p |alpha·a_ip·b_pj| + |beta·c_ij| used for the tolerance.
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, scale []float64) {
	want = make([]float64, m*n)
	scale = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, abs float64
			for p := 0; p < k; p++ {
				var av, bv float64
				if transA {
					av = float64(a[p*lda+i])
				} else {
					av = float64(a[i*lda+p])
				}
				if transB {
					bv = float64(b[j*ldb+p])
				} else {
					bv = float64(b[p*ldb+j])
				}
				s += av * bv
				abs += math.Abs(av * bv)
			}
			v := float64(alpha) * s
			sc := math.Abs(float64(alpha)) * abs
			if beta != 0 {
				cv := float64(c[i*ldc+j])
				v += float64(beta) * cv
				sc += math.Abs(float64(beta) * cv)
			}
			want[i*n+j] = v
			scale[i*n+j] = sc
		}
	}
	return want, scale
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int // extra elements per row beyond the stored row length
}

func (tc gemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s_m%d_n%d_k%d_a%g_b%g_pad%d", t(tc.transA), t(tc.transB), tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.pad)
}

// checkCase runs one case through Sgemm and returns a description of the first mismatch, or "".
// It also verifies that padding between rows of C is left untouched.
func checkCase(r *rand.Rand, tc gemmCase, corrupt func(c []float32)) string {
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	lda, ldb, ldc := ac+tc.pad, bc+tc.pad, tc.n+tc.pad
	if lda == 0 {
		lda = 1
	}
	if ldb == 0 {
		ldb = 1
	}
	if ldc == 0 {
		ldc = 1
	}
	a := randSlice(r, ar*lda)
	b := randSlice(r, br*ldb)
	c := randSlice(r, tc.m*ldc)
	const sentinel = 12345
	for i := 0; i < tc.m; i++ {
		for j := tc.n; j < ldc; j++ {
			c[i*ldc+j] = sentinel
		}
		if tc.beta == 0 {
			// beta == 0 must not read C: NaN would poison any read.
			for j := 0; j < tc.n; j++ {
				c[i*ldc+j] = float32(math.NaN())
			}
		}
	}
	want, scale := refGemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	if corrupt != nil {
		corrupt(c)
	}
	for i := 0; i < tc.m; i++ {
		for j := 0; j < ldc; j++ {
			got := float64(c[i*ldc+j])
			if j >= tc.n {
				if got != sentinel {
					return fmt.Sprintf("C[%d,%d] (row padding) = %v, was overwritten", i, j, got)
				}
				continue
			}
			w := want[i*tc.n+j]
			tol := 1e-5 + 1e-4*scale[i*tc.n+j]
			if !(math.Abs(got-w) <= tol) {
				return fmt.Sprintf("C[%d,%d] = %v, want %v (tol %g)", i, j, got, w, tol)
			}
		}
	}
	return ""
}

func testCases() []gemmCase {
	var cases []gemmCase
	dims := []int{1, 3, 5, 7, 16, 17, 33, 100}
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for _, m := range dims {
				for _, n := range dims {
					for _, k := range []int{1, 7, 33, 300} {
						cases = append(cases, gemmCase{ta, tb, m, n, k, 1, 0, 0})
					}
				}
			}
			// Scaling, strides and beta variants on a few odd shapes.
			for _, sh := range [][3]int{{7, 17, 5}, {33, 100, 17}, {100, 33, 300}, {13, 29, 513}} {
				for _, ab := range [][2]float32{{1, 1}, {-0.5, 0}, {2.5, 1}, {0.75, -1.5}, {0, 2}, {0, 0}} {
					for _, pad := range []int{0, 3} {
						cases = append(cases, gemmCase{ta, tb, sh[0], sh[1], sh[2], ab[0], ab[1], pad})
					}
				}
			}
			// k == 0 means C = beta*C; m or n == 0 is a no-op.
			for _, beta := range []float32{0, 1, -2} {
				cases = append(cases,
					gemmCase{ta, tb, 5, 7, 0, 1, beta, 2},
					gemmCase{ta, tb, 0, 7, 5, 1, beta, 0},
					gemmCase{ta, tb, 5, 0, 5, 1, beta, 0})
			}
			// Tall/skinny, wide, deep, and sizes that cross the cache blocks and thread split.
			for _, sh := range [][3]int{{1001, 3, 17}, {3, 1001, 17}, {1, 1001, 1}, {1001, 1, 300}, {5, 7, 3001}, {250, 100, 784}, {151, 260, 1001}, {40, 530, 97}, {301, 5000, 9}} {
				cases = append(cases, gemmCase{ta, tb, sh[0], sh[1], sh[2], 1.5, 0.5, 1})
			}
		}
	}
	return cases
}

func TestSgemm(t *testing.T) {
	forPaths(t, func(t *testing.T, p Path) {
		r := rand.New(rand.NewSource(1))
		for _, tc := range testCases() {
			if msg := checkCase(r, tc, nil); msg != "" {
				t.Errorf("%v: %s", tc, msg)
			}
		}
	})
}

// TestBlockingVariants shrinks the cache blocks so small inputs exercise several k, m and n
// blocks (including the beta-then-accumulate handoff between k blocks) on both kernels.
func TestBlockingVariants(t *testing.T) {
	defer func(kc, mc, nc, mf int) { kcMax, mcMax, ncMax, minFlopsPerThread = kc, mc, nc, mf }(kcMax, mcMax, ncMax, minFlopsPerThread)
	kcMax, mcMax, ncMax, minFlopsPerThread = 13, 12, 32, 1
	forPaths(t, func(t *testing.T, p Path) {
		r := rand.New(rand.NewSource(2))
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, sh := range [][3]int{{37, 71, 40}, {6, 16, 13}, {7, 33, 27}, {100, 5, 100}} {
					for _, beta := range []float32{0, 1, 0.5} {
						tc := gemmCase{ta, tb, sh[0], sh[1], sh[2], -1.25, beta, 2}
						if msg := checkCase(r, tc, nil); msg != "" {
							t.Errorf("%v: %s", tc, msg)
						}
					}
				}
			}
		}
	})
}

// TestCheckerCatchesErrors makes sure the comparison can fail: a single perturbed element, a
// clobbered row pad, and a wrong beta must all be reported.
func TestCheckerCatchesErrors(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	tc := gemmCase{false, true, 20, 30, 40, 1, 0.5, 2}
	if msg := checkCase(r, tc, func(c []float32) { c[5*32+7] += 1e-2 }); msg == "" {
		t.Error("perturbed element not detected")
	}
	if msg := checkCase(r, tc, func(c []float32) { c[3*32+31] = 0 }); msg == "" {
		t.Error("overwritten row padding not detected")
	}
	if msg := checkCase(r, tc, nil); msg != "" {
		t.Errorf("unperturbed case failed: %s", msg)
	}
}

func TestPanicsOnShortSlice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a too-short A")
		}
	}()
	Sgemm(false, false, 4, 4, 4, 1, make([]float32, 15), 4, make([]float32, 16), 4, 0, make([]float32, 16), 4)
}

func TestNoAllocsSteadyState(t *testing.T) {
	a := make([]float32, 64*64)
	b := make([]float32, 64*64)
	c := make([]float32, 64*64)
	Sgemm(false, false, 64, 64, 64, 1, a, 64, b, 64, 0, c, 64)
	allocs := testing.AllocsPerRun(20, func() {
		Sgemm(false, false, 64, 64, 64, 1, a, 64, b, 64, 0, c, 64)
	})
	// Serial-sized calls never allocate (parallel ones neither, see engine/cpu TestKernelsDoNotAllocate).
	if allocs > 0 {
		t.Errorf("%v allocations per serial call", allocs)
	}
}

// TestThreadCountInvariance: the bits of C do not depend on GOMAXPROCS, on any path, for
// products split along M (with op(B) packed once and shared) and along N.
func TestThreadCountInvariance(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	forPaths(t, func(t *testing.T, p Path) {
		r := rand.New(rand.NewSource(17))
		for _, sh := range []gemmCase{
			{false, true, 250, 100, 784, 1, 0, 0},   // split along M (Linear forward)
			{true, false, 397, 45, 300, 0.5, 1, 0},  // along M, transposed A
			{false, false, 300, 61, 700, 1, 0.5, 0}, // along M, plain B
			{false, true, 200, 40, 300, 1, 0, 0},    // along M on fewer threads than GOMAXPROCS
			{true, false, 100, 784, 250, 1, 1, 0},   // along N (weight gradient)
			{false, false, 40, 3000, 500, 1, 0, 0},  // along N, A read in place
		} {
			lda, ldb := sh.k, sh.n
			if sh.transA {
				lda = sh.m
			}
			if sh.transB {
				ldb = sh.k
			}
			a, b, c0 := randSlice(r, sh.m*sh.k), randSlice(r, sh.k*sh.n), randSlice(r, sh.m*sh.n)
			var first []float32
			for _, procs := range []int{1, 2, 3, 5} {
				runtime.GOMAXPROCS(procs)
				c := append([]float32(nil), c0...)
				Sgemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, sh.alpha, a, lda, b, ldb, sh.beta, c, sh.n)
				if first == nil {
					first = c
					continue
				}
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
						t.Fatalf("%v GOMAXPROCS %d: C[%d] = %v, GOMAXPROCS 1 gives %v", sh, procs, i, c[i], first[i])
					}
				}
			}
		}
	})
}
