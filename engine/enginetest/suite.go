// Package enginetest is the conformance suite every engine.Device passes: each kernel of
// engine.Kernels runs on random inputs and is compared with an independent float64 reference
// written here, with an explicit tolerance per case, and every backward kernel is checked
// against central finite differences of its forward kernel on the device itself (gradcheck.go).
// It follows ggml's test-backend-ops (one harness, every backend) and tinygrad's table-driven op
// tests; the tolerance form is llm.c's atol + rtol·|ref|, where |ref| is replaced by the magnitude
// Σ|terms| for accumulating kernels.
//
// The cases of op family X (engine/kernels_X.go) and their float64 references are in X.go here.
// The references are written from the definitions in engine with naive loops and no cleverness:
// they are the ground truth that every device, the CPU device included, is compared against.
// Besides the value, the accumulating ones return a magnitude per output element (Σ|term| of the
// sum that produced it) so that tolerances can scale with the rounding error a float32
// accumulation of those terms may legitimately make.
//
// A device package calls it from an ordinary test:
//
//	func TestConformance(t *testing.T) { enginetest.Run(t, cpu.New()) }
//
// (cpu.New returns the CPU device behind engine's argument checks, as engine.Open("cpu") does.)
//
// Every buffer the suite hands to a kernel is a view in the middle of a larger allocation whose
// guard cells hold a sentinel; a kernel that ignores a view's offset or writes past its end fails.
package enginetest

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
)

// u32 is float32's unit roundoff, 2^-24.
const u32 = 1.0 / (1 << 24)

// accumRtol is the relative tolerance (against the magnitude Σ|term|) for a float32 sum of m
// terms. A sequential float32 sum errs by at most (m−1)·u·Σ|term| (Higham, Accuracy and
// Stability, §4.2), but on random data the roundings are independent and the error is about
// √m·u·Σ|term| (pairwise or tree sums, as a GPU does, are smaller still). 8·(√m+1)·u keeps
// a wide margin over what a correct device shows, while an indexing bug (a wrong or missing
// term) errs by O(|term|) ≈ Σ|term|/m or more, far above it for the sizes used here.
func accumRtol(m int) float64 { return 8 * (math.Sqrt(float64(m)) + 1) * u32 }

// tol is an llm.c-style tolerance: |got − want| ≤ atol + rtol·mag, where mag is |want| or, for
// accumulating kernels, Σ|term|.
type tol struct{ atol, rtol float64 }

// Run runs the whole conformance suite on dev, which must be the device users get: engine.Open's,
// or one behind engine.Checked, since the BadInput group tests the argument checks that come with
// it (check.go).
func Run(t *testing.T, dev engine.Device) {
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.f(t, dev) })
	}
}

// groups are the suite's subtests, in order: one or more per op family.
var groups = []struct {
	name string
	f    func(*testing.T, engine.Device)
}{
	{"Gemm", testGemm},
	{"Gemv", testGemv},
	{"ConvForward", testConvForward},
	{"ConvBackwardData", testConvBackwardData},
	{"ConvBackwardFilter", testConvBackwardFilter},
	{"BiasAdd", testBiasAdd},
	{"BiasGrad", testBiasGrad},
	{"BatchNorm", testBatchNorm},
	{"BatchNormReLU", testBatchNormReLU},
	{"Relu", testRelu},
	{"Pool", testPool},
	{"Loss", testLoss},
	{"Argmax", testArgmax},
	{"Elementwise", testElementwise},
	{"Dropout", testDropout},
	{"Reduce", testReduce},
	{"Optim", testOptim},
	{"GradCheck", testGradCheck},
	{"Coords", testCoords},
	{"Projection", testProjection},
	{"BadInput", testBadInput},
}

// RunGroups runs the named groups of the suite (Run's subtest names, e.g. "ConvForward"), for a
// device setting that changes only some ops (a kernel variant). An unknown name fails the test.
func RunGroups(t *testing.T, dev engine.Device, names ...string) {
	for _, n := range names {
		i := slices.IndexFunc(groups, func(g struct {
			name string
			f    func(*testing.T, engine.Device)
		}) bool {
			return g.name == n
		})
		if i < 0 {
			t.Errorf("enginetest: no group %q", n)
			continue
		}
		t.Run(n, func(t *testing.T) { groups[i].f(t, dev) })
	}
}

// TF32Groups are the groups whose kernels --precision tf32 changes.
var TF32Groups = []string{"Gemm", "Gemv", "ConvForward", "ConvBackwardData", "ConvBackwardFilter"}

// RunTF32 runs TF32Groups with dev switched to TF32 (engine.SetPrecision) and TF32's tolerance
// (productTol), then switches it back to float32. The other groups' kernels do not change, and
// the finite-difference checks cannot resolve TF32's rounding. It fails when the device has no
// TF32 mode: call it where one is expected.
func RunTF32(t *testing.T, dev engine.Device) {
	if err := engine.SetPrecision(dev, engine.PrecisionTF32); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := engine.SetPrecision(dev, engine.PrecisionFP32); err != nil {
			t.Error(err)
		}
	}()
	RunGroups(t, dev, TF32Groups...)
}

// tf32Rtol bounds the relative error of one product of TF32-rounded operands: each operand is
// rounded to nearest with 10 mantissa bits (unit roundoff 2^-11), so |ãb̃ − ab| ≤ (2·2^-11 +
// 2^-22)·|ab|. Against the magnitude Σ|ab| it bounds the rounding of every term of a sum.
const tf32Rtol = 2.0/(1<<11) + 1.0/(1<<22)

// productTol is the tolerance of a sum of m products (GEMM, GEMV, convolutions): the float32
// accumulation's, plus in TF32 mode the operands' rounding (tf32Rtol) and twice the accumulation
// margin, since tensor cores add products in groups with their own rounding.
func (h *harness) productTol(atol float64, m int) tol {
	if h.tf32 {
		return tol{atol, tf32Rtol + 2*accumRtol(m)}
	}
	return tol{atol, accumRtol(m)}
}

// guardLen cells on each side of every buffer hold guardVal; an odd count makes views start at
// unaligned offsets, as parameter views in the flat arena do.
const (
	guardLen          = 3
	guardVal  float32 = -31337.25
	maxReport         = 5 // mismatches printed per comparison
)

type guarded struct {
	whole engine.Buffer
	n     int
	init  []float32 // the contents it was made with, when the harness keeps them (snap)
}

// harness is one subtest's view of the device: a deterministic RNG and the buffers to check
// and free when the subtest ends.
type harness struct {
	t    *testing.T
	dev  engine.Device
	rnd  *rand.Rand
	bufs []guarded
	snap bool // keep each new buffer's initial contents (for unchanged)
	tf32 bool // the device computes products in TF32 (productTol)
}

// run starts a subtest with its own harness. The RNG is seeded from the subtest's name below the
// top-level test, so inputs do not depend on which other subtests ran (-run filters reproduce
// failures exactly) and every device sees the same inputs for the same case.
// A panicking kernel fails its subtest only, so one missing kernel does not hide the others.
func run(t *testing.T, name string, dev engine.Device, f func(h *harness)) {
	t.Run(name, func(t *testing.T) {
		hs := fnv.New64a()
		name := t.Name()
		if i := strings.IndexByte(name, '/'); i >= 0 {
			name = name[i+1:]
		}
		hs.Write([]byte(name))
		seed := hs.Sum64()
		h := &harness{t: t, dev: dev, rnd: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
			tf32: engine.PrecisionOf(dev) == engine.PrecisionTF32}
		t.Cleanup(h.finish)
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("panic: %v", r)
			}
		}()
		f(h)
	})
}

// buf allocates a guarded buffer holding data and returns the view of len(data) elements.
func (h *harness) buf(data []float32) engine.Buffer {
	h.t.Helper()
	n := len(data)
	whole, err := h.dev.Alloc(n + 2*guardLen)
	if err != nil {
		h.t.Fatalf("Alloc(%d): %v", n+2*guardLen, err)
	}
	host := make([]float32, n+2*guardLen)
	for i := range host {
		host[i] = guardVal
	}
	copy(host[guardLen:], data)
	h.dev.Upload(whole, host)
	v := whole.Slice(guardLen, n)
	if v.Len() != n {
		h.t.Fatalf("Slice(%d, %d).Len() = %d", guardLen, n, v.Len())
	}
	g := guarded{whole: whole, n: n}
	if h.snap {
		g.init = append([]float32{}, data...)
	}
	h.bufs = append(h.bufs, g)
	return v
}

// zeros is a guarded buffer of n zeros; nans one of n NaNs (for outputs that must not be read).
func (h *harness) zeros(n int) engine.Buffer { return h.buf(make([]float32, n)) }
func (h *harness) nans(n int) engine.Buffer  { return h.buf(constant(n, float32(math.NaN()))) }

// sync waits for the device and fails on a sticky error.
func (h *harness) sync() {
	h.t.Helper()
	if err := h.dev.Sync(); err != nil {
		h.t.Fatalf("Sync: %v", err)
	}
}

// get synchronises and downloads a buffer.
func (h *harness) get(b engine.Buffer) []float32 {
	h.t.Helper()
	h.sync()
	out := make([]float32, b.Len())
	h.dev.Download(out, b)
	return out
}

// finish checks every guard and frees the buffers.
func (h *harness) finish() {
	if err := h.dev.Sync(); err != nil {
		h.t.Errorf("Sync: %v", err)
	}
	for i, g := range h.bufs {
		host := make([]float32, g.n+2*guardLen)
		h.dev.Download(host, g.whole)
		for j := 0; j < guardLen; j++ {
			if host[j] != guardVal || host[guardLen+g.n+j] != guardVal {
				h.t.Errorf("buffer #%d (len %d): guard cells overwritten: before %v, after %v",
					i, g.n, host[:guardLen], host[guardLen+g.n:])
				break
			}
		}
		h.dev.Free(g.whole)
	}
	h.bufs = nil
}

// randn returns n standard normals.
func (h *harness) randn(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(h.rnd.NormFloat64())
	}
	return x
}

// uniform returns n values uniform in [lo, hi).
func (h *harness) uniform(n int, lo, hi float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(lo + (hi-lo)*h.rnd.Float64())
	}
	return x
}

func constant(n int, v float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = v
	}
	return x
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func abs64(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Abs(v)
	}
	return out
}

// close compares got with want: |got−want| ≤ tl.atol + tl.rtol·mag[i] (mag nil: |want|).
func (h *harness) close(what string, got []float32, want, mag []float64, tl tol) {
	h.t.Helper()
	lim := make([]float64, len(want))
	for i, w := range want {
		m := math.Abs(w)
		if mag != nil {
			m = mag[i]
		}
		lim[i] = tl.atol + tl.rtol*m
	}
	h.within(what, got, want, lim)
}

// within compares got with want element by element: |got−want| ≤ lim[i]. NaN or Inf in got
// fails unless want is the same non-finite value.
func (h *harness) within(what string, got []float32, want, lim []float64) {
	h.t.Helper()
	if len(got) != len(want) {
		h.t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	bad, worst, worstI := 0, 0.0, -1
	var msgs []string
	for i, w := range want {
		g := float64(got[i])
		d := math.Abs(g - w)
		ok := d <= lim[i]
		if math.IsNaN(w) {
			ok = math.IsNaN(g)
		} else if math.IsInf(w, 0) {
			ok = g == w
		}
		if !ok {
			bad++
			if len(msgs) < maxReport {
				msgs = append(msgs, fmt.Sprintf("  [%d] got %.9g want %.9g (|diff| %.3g > tol %.3g)", i, g, w, d, lim[i]))
			}
		}
		if r := d / math.Max(lim[i], 1e-300); !math.IsNaN(r) && r > worst && !math.IsInf(w, 0) {
			worst, worstI = r, i
		}
	}
	if bad > 0 {
		h.t.Errorf("%s: %d of %d values out of tolerance; worst |diff|/tol %.3g at [%d]:\n%s",
			what, bad, len(want), worst, worstI, joinLines(msgs))
	} else if testing.Verbose() && worst > 0.25 {
		// Close calls are worth seeing when tuning tolerances.
		h.t.Logf("%s: worst |diff|/tol %.3g", what, worst)
	}
}

// exact compares bit-for-bit-equal values (NaN equals NaN).
func (h *harness) exact(what string, got, want []float32) {
	h.t.Helper()
	bad := 0
	var msgs []string
	for i := range want {
		if got[i] == want[i] || (got[i] != got[i] && want[i] != want[i]) {
			continue
		}
		bad++
		if len(msgs) < maxReport {
			msgs = append(msgs, fmt.Sprintf("  [%d] got %.9g want %.9g", i, got[i], want[i]))
		}
	}
	if bad > 0 {
		h.t.Errorf("%s: %d of %d values differ:\n%s", what, bad, len(want), joinLines(msgs))
	}
}

// finite fails if any value is NaN or ±Inf.
func (h *harness) finite(what string, got []float32) {
	h.t.Helper()
	for i, v := range got {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			h.t.Errorf("%s: value [%d] = %v is not finite", what, i, v)
			return
		}
	}
}

func joinLines(s []string) string { return strings.Join(s, "\n") }

// elemSizes are the lengths element-wise and reduction kernels run on: a single element, sizes
// that are not multiples of any vector width or block size, 1000+1, and bigLen.
var elemSizes = []int{1, 3, 17, 1001, bigLen}

// bigLen is large enough that devices take their many-block paths: past several 256-thread CUDA
// blocks and grid-stride loops, and past the CPU device's parallel grain (2^15 elements per core)
// so that work is split across cores. Odd, so no split is even.
const bigLen = 1<<17 + 3

func nan() float64 { return math.NaN() }

func abs32(v float32) float64 { return math.Abs(float64(v)) }
