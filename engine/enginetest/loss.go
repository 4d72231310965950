package enginetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/gazeml/gaze/engine"
)

const (
	// lossPointRtol covers a few roundings per element including exp, log and log1p, which
	// CUDA's fast intrinsics compute to a few ulp.
	lossPointRtol = 16 * u32
	// gradAtol lets a device flush probabilities like e^-160 to zero (denormals, fast exp):
	// irrelevant next to any gradient that matters.
	gradAtol = 1e-12
)

type lossCase struct {
	n, k int
	kind string // how logits are drawn
}

func (c lossCase) name() string { return fmt.Sprintf("n%d_k%d_%s", c.n, c.k, c.kind) }

var xentCases = []lossCase{
	{1, 1, "normal"},      // one class: loss 0, gradient 0
	{3, 10, "normal"},     // MNIST/CIFAR-10 head
	{5, 17, "normal"},     // odd width
	{2, 4096, "normal"},   // a wide row
	{4, 17, "extreme"},    // logits uniform in ±80: exp overflows float32 unless max-shifted
	{2, 4096, "extreme"},  // wide and extreme
	{3, 33, "offset200"},  // every logit ≈ 200: only a max-shifted log-sum-exp stays finite
	{4, 10, "nogradient"}, // dlogits nil: losses only
	{300, 10, "normal"},   // many rows: split across blocks and cores
	{64, 100, "normal"},
}

func (h *harness) logits(kind string, n int) []float32 {
	switch kind {
	case "extreme":
		return h.uniform(n, -80, 80)
	case "offset200":
		return h.uniform(n, 195, 205)
	}
	return h.randn(n)
}

func (h *harness) labels(n, k int) []float32 {
	l := make([]float32, n)
	for i := range l {
		l[i] = float32(h.rnd.IntN(k))
	}
	return l
}

func testLoss(t *testing.T, dev engine.Device) {
	for _, c := range xentCases {
		run(t, "SoftmaxXent/"+c.name(), dev, func(h *harness) {
			n, k := c.n, c.k
			z, lab := h.logits(c.kind, n*k), h.labels(n, k)
			if c.kind == "extreme" {
				// Put the label on the smallest logit of row 0: the loss is ≈ 160.
				lo := 0
				for j := 1; j < k; j++ {
					if z[j] < z[lo] {
						lo = j
					}
				}
				lab[0] = float32(lo)
			}
			scale := float32(1) / float32(n)
			losses := h.nans(n)
			var dz engine.Buffer
			if c.kind != "nogradient" {
				dz = h.nans(n * k)
			}
			h.dev.SoftmaxXent(h.buf(z), h.buf(lab), losses, dz, n, k, scale)
			wl, wd, lmag := refSoftmaxXent(f64(z), f64(lab), n, k, float64(scale))
			rt := accumRtol(k) + lossPointRtol
			gl := h.get(losses)
			h.finite("losses", gl)
			h.close("losses", gl, wl, lmag, tol{0, rt})
			if dz == nil {
				return
			}
			// p = exp(z − lse) errs relatively by about u·(|z| + |lse|): scale the tolerance of
			// each gradient by its probability times the row's loss magnitude.
			dmag := make([]float64, n*k)
			for i := 0; i < n; i++ {
				for j := 0; j < k; j++ {
					oh := 0.0
					if j == int(lab[i]) {
						oh = 1
					}
					p := wd[i*k+j]/float64(scale) + oh
					dmag[i*k+j] = math.Abs(float64(scale)) * (p*lmag[i] + oh)
				}
			}
			gd := h.get(dz)
			h.finite("dlogits", gd)
			h.close("dlogits", gd, wd, dmag, tol{gradAtol, rt})
		})
	}
	for _, c := range []lossCase{{1, 1, "normal"}, {3, 10, "normal"}, {4, 17, "normal"}, {2, 1001, "normal"}, {3, 5, "nogradient"}, {64, 100, "normal"}} {
		run(t, "MSE/"+c.name(), dev, func(h *harness) {
			n, k := c.n, c.k
			p, tg := h.randn(n*k), h.randn(n*k)
			scale := float32(0.5) / float32(n)
			losses := h.nans(n)
			var dp engine.Buffer
			if c.kind != "nogradient" {
				dp = h.nans(n * k)
			}
			h.dev.MSE(h.buf(p), h.buf(tg), losses, dp, n, k, scale)
			wl, wd := refMSE(f64(p), f64(tg), n, k, float64(scale))
			// The subtraction errs by u·(|p|+|t|); squared and summed over k terms.
			lmag, dmag := make([]float64, n), make([]float64, n*k)
			for i := range p {
				s := abs32(p[i]) + abs32(tg[i])
				lmag[i/k] += s * s
				dmag[i] = 2 * float64(scale) * s
			}
			h.close("losses", h.get(losses), wl, lmag, tol{0, accumRtol(k) + lossPointRtol})
			if dp != nil {
				h.close("dpred", h.get(dp), wd, dmag, tol{0, lossPointRtol})
			}
		})
	}
	for _, c := range []lossCase{{1, 1, "normal"}, {3, 10, "normal"}, {4, 17, "soft"}, {2, 1001, "normal"}, {4, 50, "extreme"}, {3, 5, "nogradient"}, {64, 100, "soft"}} {
		run(t, "SigmoidBCE/"+c.name(), dev, func(h *harness) {
			n, k := c.n, c.k
			z := h.randn(n * k)
			tg := make([]float32, n*k)
			for i := range tg {
				tg[i] = float32(h.rnd.IntN(2)) // hard 0/1 targets
			}
			switch c.kind {
			case "soft":
				tg = h.uniform(n*k, 0, 1)
			case "extreme":
				// |z| up to 50: e^50 overflows nothing in the stable form, but naive
				// log(sigmoid) gives log(0) = -Inf.
				z = h.uniform(n*k, -50, 50)
				z[0], z[1] = 50, -50
				tg[0], tg[1] = 0, 1 // confidently wrong: loss 50 each
			}
			scale := float32(1) / float32(n*k)
			losses := h.nans(n)
			var dz engine.Buffer
			if c.kind != "nogradient" {
				dz = h.nans(n * k)
			}
			h.dev.SigmoidBCE(h.buf(z), h.buf(tg), losses, dz, n, k, scale)
			wl, wd, lmag := refSigmoidBCE(f64(z), f64(tg), n, k, float64(scale))
			gl := h.get(losses)
			h.finite("losses", gl)
			h.close("losses", gl, wl, lmag, tol{0, accumRtol(k) + lossPointRtol})
			if dz == nil {
				return
			}
			dmag := make([]float64, n*k)
			for i := range dmag {
				dmag[i] = math.Abs(float64(scale)) * (1/(1+math.Exp(-float64(z[i]))) + abs32(tg[i]))
			}
			gd := h.get(dz)
			h.finite("dlogits", gd)
			h.close("dlogits", gd, wd, dmag, tol{gradAtol, lossPointRtol})
		})
	}
}

func testArgmax(t *testing.T, dev engine.Device) {
	cases := []lossCase{
		{5, 10, "normal"},
		{7, 17, "ties"},     // values in {0,1,2}: the first maximum must win
		{3, 9, "constant"},  // every row a tie: index 0
		{4, 1, "normal"},    // one column
		{2, 1001, "normal"}, // long rows
		{3, 6, "negInf"},    // -Inf everywhere but one place
		{300, 10, "ties"},   // many rows
	}
	for _, c := range cases {
		run(t, c.name(), dev, func(h *harness) {
			n, k := c.n, c.k
			x := h.randn(n * k)
			switch c.kind {
			case "ties":
				for i := range x {
					x[i] = float32(h.rnd.IntN(3))
				}
			case "constant":
				x = constant(n*k, -2.5)
			case "negInf":
				x = constant(n*k, float32(math.Inf(-1)))
				for i := 0; i < n; i++ {
					x[i*k+h.rnd.IntN(k)] = -1e30
				}
			}
			out := h.nans(n)
			h.dev.Argmax(h.buf(x), out, n, k)
			h.close("out", h.get(out), refArgmax(f64(x), n, k), nil, tol{0, 0})
		})
	}
}

// ---- the float64 references (see the package comment) ----

// refSoftmaxXent returns the per-row losses via log-sum-exp with the max subtracted, the
// gradient scale*(softmax − onehot), and a per-row loss magnitude |max| + |z_label| + log k
// (the size of the quantities a float32 implementation subtracts).
func refSoftmaxXent(logits, labels []float64, n, k int, scale float64) (losses, dlogits, lossMag []float64) {
	losses = make([]float64, n)
	lossMag = make([]float64, n)
	dlogits = make([]float64, n*k)
	for i := 0; i < n; i++ {
		row := logits[i*k : (i+1)*k]
		mx := math.Inf(-1)
		for _, z := range row {
			mx = math.Max(mx, z)
		}
		var se float64
		for _, z := range row {
			se += math.Exp(z - mx)
		}
		lse := mx + math.Log(se)
		lab := int(labels[i])
		losses[i] = lse - row[lab]
		lossMag[i] = math.Abs(mx) + math.Abs(row[lab]) + math.Log(float64(k)) + 1
		for j, z := range row {
			p := math.Exp(z - lse)
			if j == lab {
				p--
			}
			dlogits[i*k+j] = scale * p
		}
	}
	return losses, dlogits, lossMag
}

func refMSE(pred, target []float64, n, k int, scale float64) (losses, dpred []float64) {
	losses = make([]float64, n)
	dpred = make([]float64, n*k)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			d := pred[i*k+j] - target[i*k+j]
			losses[i] += d * d
			dpred[i*k+j] = 2 * scale * d
		}
	}
	return losses, dpred
}

// refSigmoidBCE returns losses, scale*(σ(z) − t) and the per-row magnitude Σ|max(z,0)| + |z·t| +
// log1p(e^−|z|), the terms a float32 implementation adds and cancels.
func refSigmoidBCE(logits, target []float64, n, k int, scale float64) (losses, dlogits, lossMag []float64) {
	losses = make([]float64, n)
	lossMag = make([]float64, n)
	dlogits = make([]float64, n*k)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			z, t := logits[i*k+j], target[i*k+j]
			l1p := math.Log1p(math.Exp(-math.Abs(z)))
			losses[i] += math.Max(z, 0) - z*t + l1p
			lossMag[i] += math.Max(z, 0) + math.Abs(z*t) + l1p
			dlogits[i*k+j] = scale * (1/(1+math.Exp(-z)) - t)
		}
	}
	return losses, dlogits, lossMag
}

func refArgmax(x []float64, n, k int) []float64 {
	out := make([]float64, n)
	for i := 0; i < n; i++ {
		best := 0
		for j := 1; j < k; j++ {
			if x[i*k+j] > x[i*k+best] {
				best = j
			}
		}
		out[i] = float64(best)
	}
	return out
}
