package enginetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/gazeml/gaze/engine"
)

// Gradient consistency: every backward kernel against central finite differences of its forward
// kernel on the same device. The scalar loss is L = Σ r·y with a fixed random r, summed in
// float64 on the host, so ∂L/∂y = r is what the backward kernels receive as dy.
//
// The step is fdEps = 1e-2 on float32 parameters, perturbed one element at a time; the actual
// step (float32(p±eps) − p) is used as the denominator. Two errors remain:
//   - rounding: each output of the forward kernel is off by ~u·|y|, so L by ~u·Σ|r·y|, divided
//     by 2·eps. fdNoise·u·Σ|r·y|/(2·eps) bounds this (Σ|r·y| over all outputs overestimates it:
//     outputs the perturbation does not reach come out bit-identical and cancel);
//   - truncation, O(eps²·third derivative): zero for the linear kernels (conv, pooling away from ties, bias),
//     ~1e-5 relative for BN and the losses at these sizes.
//
// The constants were set by measurement on the CPU device (go test -v logs any comparison whose
// worst |fd − analytic|/tolerance exceeds 0.25): the worst ratios seen were 0.063 (BatchNorm,
// train mode), 0.033 (conv and transposed conv), 0.027 (SigmoidBCE), 0.015 (MSE), 0.011 (pooling)
// — a margin of ~15× for other devices' rounding. The step was measured too: at eps = 1e-3, 3e-3,
// 1e-2, 3e-2 the worst ratios were 0.061, 0.057, 0.063, 0.164 for BatchNorm and 0.044, 0.043,
// 0.027, 0.106 for SigmoidBCE (rounding falls like 1/eps, truncation grows like eps²: 1e-2 sits
// between). A missing or misplaced term errs by O(|gradient|), tens to thousands of times the
// tolerance (see mutants_test.go).
const (
	fdEps     = 1e-2
	fdNoise   = 8    // multiple of the rounding estimate u·Σ|r·y|/(2·eps)
	fdRtol    = 1e-3 // relative to |gradient|: truncation and float32 steps
	fdSamples = 48   // elements checked per tensor (all of them when the tensor is smaller)
)

// fdParam is one input of a forward kernel whose gradient is being checked.
type fdParam struct {
	name string
	host []float32     // current values; perturbed in place and restored
	buf  engine.Buffer // device copy (one element is re-uploaded per perturbation)
	grad []float32     // the backward kernel's answer
}

// gradCheck compares p.grad with central differences of loss, which runs the forward kernel on
// the device and returns L and Σ|terms of L| (for the rounding estimate).
func (h *harness) gradCheck(p fdParam, loss func() (l, mag float64)) {
	h.t.Helper()
	idx := h.sample(len(p.host))
	_, lmag := loss()
	noise := fdNoise * u32 * lmag / (2 * fdEps)
	want := make([]float64, len(idx))
	got := make([]float32, len(idx))
	lim := make([]float64, len(idx))
	for j, i := range idx {
		orig := p.host[i]
		set := func(v float32) {
			p.host[i] = v
			h.dev.Upload(p.buf.Slice(i, 1), []float32{v})
		}
		hi, lo := orig+fdEps, orig-fdEps
		set(hi)
		lp, _ := loss()
		set(lo)
		lm, _ := loss()
		set(orig)
		want[j] = (lp - lm) / (float64(hi) - float64(lo))
		got[j] = p.grad[i]
		lim[j] = noise + fdRtol*math.Abs(want[j])
	}
	h.within(fmt.Sprintf("d%s (%d of %d elements, finite differences)", p.name, len(idx), len(p.host)), got, want, lim)
}

// sample picks the indices to perturb: all of them, or the first, the last and random others.
func (h *harness) sample(n int) []int {
	if n <= fdSamples {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := []int{0, n - 1}
	for _, i := range h.rnd.Perm(n - 2)[:fdSamples-2] {
		idx = append(idx, i+1)
	}
	return idx
}

// weighted returns L = Σ r·y and Σ|r·y| for y downloaded from the device.
func (h *harness) weighted(r []float32, y engine.Buffer) (float64, float64) {
	var l, m float64
	for i, v := range h.get(y) {
		t := float64(r[i]) * float64(v)
		l += t
		m += math.Abs(t)
	}
	return l, m
}

// distinct returns n values, a shuffled grid with spacing 0.1 > 2·fdEps around zero: max
// pooling has no ties and no perturbation can change a window's winner.
func (h *harness) distinct(n int) []float32 {
	x := make([]float32, n)
	for i, p := range h.rnd.Perm(n) {
		x[i] = 0.1*float32(p) - 0.05*float32(n)
	}
	return x
}

var gradConvCases = []convCase{
	convSym(2, 3, 6, 6, 4, 3, 3, 2, 1),
	convSame(1, 2, 7, 10, 3, 4, 3, 2),
	convSym(1, 2, 5, 5, 3, 5, 5, 1, 2),
	transposed(1, 3, 2, 3, 4),
}

var gradPoolCases = []poolCase{
	poolSym(1, 2, 7, 7, 3, 3, 2, 2, 1, 1),
	poolSym(2, 2, 6, 6, 2, 2, 2, 2, 0, 0),
	poolSym(1, 2, 5, 6, 2, 3, 1, 2, 1, 1),
}

func testGradCheck(t *testing.T, dev engine.Device) {
	for _, c := range gradConvCases {
		run(t, "Conv/"+c.name, dev, func(h *harness) {
			g := c.g
			x, w, r := h.randn(g.InputLen()), h.randn(g.WeightLen()), h.randn(g.OutputLen())
			xb, wb, y := h.buf(x), h.buf(w), h.zeros(g.OutputLen())
			rb := h.buf(r)
			dx, dw := h.nans(g.InputLen()), h.zeros(g.WeightLen())
			h.dev.ConvBackwardData(g, rb, wb, dx, 0)
			h.dev.ConvBackwardFilter(g, xb, rb, dw)
			fwd := func() (float64, float64) { h.dev.ConvForward(g, xb, wb, y); return h.weighted(r, y) }
			h.gradCheck(fdParam{"x", x, xb, h.get(dx)}, fwd)
			h.gradCheck(fdParam{"w", w, wb, h.get(dw)}, fwd)
		})
		// The same geometry as a transposed convolution (ConvBackwardData as the forward pass):
		// its input gradient is ConvForward and its weight gradient ConvBackwardFilter with the
		// roles of x and dy swapped.
		run(t, "ConvTranspose/"+c.name, dev, func(h *harness) {
			g := c.g
			in, w, r := h.randn(g.OutputLen()), h.randn(g.WeightLen()), h.randn(g.InputLen())
			inb, wb, out := h.buf(in), h.buf(w), h.zeros(g.InputLen())
			rb := h.buf(r)
			din, dw := h.nans(g.OutputLen()), h.zeros(g.WeightLen())
			h.dev.ConvForward(g, rb, wb, din)
			h.dev.ConvBackwardFilter(g, rb, inb, dw)
			fwd := func() (float64, float64) { h.dev.ConvBackwardData(g, inb, wb, out, 0); return h.weighted(r, out) }
			h.gradCheck(fdParam{"in", in, inb, h.get(din)}, fwd)
			h.gradCheck(fdParam{"w", w, wb, h.get(dw)}, fwd)
		})
	}
	run(t, "Bias/n2_c3_hw5", dev, func(h *harness) {
		n, c, hw := 2, 3, 5
		y0, b, r := h.randn(n*c*hw), h.randn(c), h.randn(n*c*hw)
		bb, y, db := h.buf(b), h.zeros(n*c*hw), h.zeros(c)
		h.dev.BiasGrad(h.buf(r), db, n, c, hw)
		h.gradCheck(fdParam{"b", b, bb, h.get(db)}, func() (float64, float64) {
			h.dev.Upload(y, y0)
			h.dev.BiasAdd(y, bb, n, c, hw)
			return h.weighted(r, y)
		})
	})
	run(t, "Relu/n17", dev, func(h *harness) {
		x, r := h.randn(17), h.randn(17)
		for i := range x {
			// Keep |x| > 2·eps: the kink at 0 is not differentiable.
			x[i] += float32(math.Copysign(0.1, float64(x[i])))
		}
		xb, y, dx := h.buf(x), h.zeros(17), h.nans(17)
		h.dev.Relu(xb, y)
		h.dev.ReluBackward(y, h.buf(r), dx)
		h.gradCheck(fdParam{"x", x, xb, h.get(dx)}, func() (float64, float64) { h.dev.Relu(xb, y); return h.weighted(r, y) })
	})
	for _, c := range gradPoolCases {
		run(t, "MaxPool/"+c.name, dev, func(h *harness) {
			g := c.g
			x, r := h.distinct(g.InputLen()), h.randn(g.OutputLen())
			xb, y, dx := h.buf(x), h.zeros(g.OutputLen()), h.nans(g.InputLen())
			h.dev.MaxPoolBackward(g, xb, h.buf(r), dx)
			h.gradCheck(fdParam{"x", x, xb, h.get(dx)}, func() (float64, float64) { h.dev.MaxPool(g, xb, y); return h.weighted(r, y) })
		})
		run(t, "AvgPool/"+c.name, dev, func(h *harness) {
			g := c.g
			x, r := h.randn(g.InputLen()), h.randn(g.OutputLen())
			xb, y, dx := h.buf(x), h.zeros(g.OutputLen()), h.nans(g.InputLen())
			h.dev.AvgPoolBackward(g, h.buf(r), dx)
			h.gradCheck(fdParam{"x", x, xb, h.get(dx)}, func() (float64, float64) { h.dev.AvgPool(g, xb, y); return h.weighted(r, y) })
		})
	}
	run(t, "GlobalAvgPool/n2_c3_hw5", dev, func(h *harness) {
		n, c, hw := 2, 3, 5
		x, r := h.randn(n*c*hw), h.randn(n*c)
		xb, y, dx := h.buf(x), h.zeros(n*c), h.nans(n*c*hw)
		h.dev.GlobalAvgPoolBackward(h.buf(r), dx, n, c, hw)
		h.gradCheck(fdParam{"x", x, xb, h.get(dx)}, func() (float64, float64) { h.dev.GlobalAvgPool(xb, y, n, c, hw); return h.weighted(r, y) })
	})
	for _, s := range [][3]int{{4, 2, 3}, {6, 3, 1}, {1, 2, 5}} {
		for _, train := range []bool{true, false} {
			mode := map[bool]string{true: "train", false: "infer"}[train]
			run(t, fmt.Sprintf("BatchNorm/n%d_c%d_hw%d_%s", s[0], s[1], s[2], mode), dev, func(h *harness) {
				bnGradCheck(h, s[0], s[1], s[2], train)
			})
		}
	}
	lossGradChecks(t, dev)
}

// bnGradCheck checks BatchNormBackward against BatchNormTrain (batch statistics) or
// BatchNormInfer (running statistics as constants), for x, gamma and beta.
func bnGradCheck(h *harness, n, c, hw int, train bool) {
	x, r := h.bnInput(n*c*hw), h.randn(n*c*hw)
	gamma, beta, rm, rv := h.bnParams(c)
	xb, gb, bb, rmb, rvb := h.buf(x), h.buf(gamma), h.buf(beta), h.buf(rm), h.buf(rv)
	y, sm, si := h.zeros(len(x)), h.zeros(c), h.zeros(c)
	fwd := func() (float64, float64) {
		if train {
			// momentum 0: the running statistics stay put between evaluations.
			h.dev.BatchNormTrain(xb, y, gb, bb, sm, si, rmb, rvb, n, c, hw, 0, bnEps)
		} else {
			h.dev.BatchNormInfer(xb, y, gb, bb, rmb, rvb, sm, si, n, c, hw, bnEps)
		}
		return h.weighted(r, y)
	}
	fwd() // saveMean and saveInvStd at the unperturbed x
	dx, dg, db := h.nans(len(x)), h.zeros(c), h.zeros(c)
	h.dev.BatchNormBackward(xb, h.buf(r), dx, gb, sm, si, dg, db, n, c, hw, train)
	gx, gg, gbeta := h.get(dx), h.get(dg), h.get(db)
	h.gradCheck(fdParam{"x", x, xb, gx}, fwd)
	h.gradCheck(fdParam{"gamma", gamma, gb, gg}, fwd)
	h.gradCheck(fdParam{"beta", beta, bb, gbeta}, fwd)
}

// lossGradChecks: each loss kernel's gradient output is scale·∂(Σ losses)/∂input.
func lossGradChecks(t *testing.T, dev engine.Device) {
	const n, k = 3, 5
	const scale = 0.5
	sumLosses := func(h *harness, losses engine.Buffer) (float64, float64) {
		var l, m float64
		for _, v := range h.get(losses) {
			l += scale * float64(v)
			m += math.Abs(scale * float64(v))
		}
		// The losses are differences of terms larger than themselves (log-sum-exp minus a
		// logit): count a unit per row so the rounding estimate does not vanish with the loss.
		return l, m + scale*n
	}
	run(t, fmt.Sprintf("SoftmaxXent/n%d_k%d", n, k), dev, func(h *harness) {
		z, lab := h.randn(n*k), h.labels(n, k)
		zb, lb, losses, dz := h.buf(z), h.buf(lab), h.zeros(n), h.nans(n*k)
		h.dev.SoftmaxXent(zb, lb, losses, dz, n, k, scale)
		h.gradCheck(fdParam{"logits", z, zb, h.get(dz)}, func() (float64, float64) {
			h.dev.SoftmaxXent(zb, lb, losses, nil, n, k, scale)
			return sumLosses(h, losses)
		})
	})
	run(t, fmt.Sprintf("MSE/n%d_k%d", n, k), dev, func(h *harness) {
		p, tg := h.randn(n*k), h.randn(n*k)
		pb, tb, losses, dp := h.buf(p), h.buf(tg), h.zeros(n), h.nans(n*k)
		h.dev.MSE(pb, tb, losses, dp, n, k, scale)
		h.gradCheck(fdParam{"pred", p, pb, h.get(dp)}, func() (float64, float64) {
			h.dev.MSE(pb, tb, losses, nil, n, k, scale)
			return sumLosses(h, losses)
		})
	})
	run(t, fmt.Sprintf("SigmoidBCE/n%d_k%d", n, k), dev, func(h *harness) {
		z, tg := h.uniform(n*k, -3, 3), h.uniform(n*k, 0, 1)
		zb, tb, losses, dz := h.buf(z), h.buf(tg), h.zeros(n), h.nans(n*k)
		h.dev.SigmoidBCE(zb, tb, losses, dz, n, k, scale)
		h.gradCheck(fdParam{"logits", z, zb, h.get(dz)}, func() (float64, float64) {
			h.dev.SigmoidBCE(zb, tb, losses, nil, n, k, scale)
			return sumLosses(h, losses)
		})
	})
}
