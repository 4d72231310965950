package enginetest

import (
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/rng"
)

// A test that cannot fail is a defect. Each mutant below is refDev with one plausible kernel bug;
// TestSuiteCatchesMutants runs the suite's relevant group on it in a child process (a failing
// subtest cannot be contained in-process) and demands that the group fail.

type mutant struct {
	name  string
	group string // the Run group that must fail
	dev   engine.Device
}

var mutants = []mutant{
	{"gemm_ignores_ldc", "Gemm", mutGemmLdc{}},
	{"gemv_ignores_lda", "Gemv", mutGemvIgnoresLda{}},
	{"convdata_reads_dx_when_beta0", "ConvBackwardData", mutConvDataBeta{}},
	{"convfilter_overwrites", "ConvBackwardFilter", mutConvFilterOverwrite{}},
	{"convdata_flipped_kernel", "GradCheck", mutConvDataFlip{}},
	{"biasgrad_overwrites", "BiasGrad", mutBiasGradOverwrite{}},
	{"bn_backward_ignores_batch_stats", "GradCheck", mutBNBackward{}},
	{"bn_runvar_biased", "BatchNorm", mutBNRunVar{}},
	{"relu_backward_at_zero", "Relu", mutReluBackward{}},
	{"bn_relu_drops_residual", "BatchNormReLU", mutBNReLUNoRes{}},
	{"bn_relu_backward_at_zero", "BatchNormReLU", mutBNReLUBackward{}},
	{"maxpool_backward_last_max", "Pool", mutMaxPoolLast{}},
	{"avgpool_divides_by_valid_count", "Pool", mutAvgPoolValid{}},
	{"softmax_without_max_shift", "Loss", mutSoftmaxNaive{}},
	{"argmax_last_max", "Argmax", mutArgmaxLast{}},
	{"fill_past_end", "Elementwise", mutFillPastEnd{}},
	{"dropout_ignores_offset", "Dropout", mutDropoutOffset{}},
	{"sum_in_float32", "Reduce", mutSumF32{}},
	{"adam_without_bias_correction", "Optim", mutAdamNoBC{}},
	// The reference device itself, without the checking layer engine.Open puts in front of it: a
	// device that checks nothing must fail the bad-input cases.
	{"unchecked_device", "BadInput", refDev{}},
}

const mutantEnv = "ENGINETEST_MUTANT"

// TestMutantDevice is the child process's entry point.
func TestMutantDevice(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("run by TestSuiteCatchesMutants")
	}
	for _, m := range mutants {
		if m.name == name {
			Run(t, m.dev)
			return
		}
	}
	t.Fatalf("no mutant %q", name)
}

func TestSuiteCatchesMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process per mutant")
	}
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutantDevice$/^"+m.group+"$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), mutantEnv+"="+m.name)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "--- FAIL: TestMutantDevice/"+m.group) {
				t.Errorf("the suite's %s group did not catch the bug (err %v); output tail:\n%s", m.group, err, tail(string(out), 1500))
			}
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

type mutGemmLdc struct{ refDev }

func (mutGemmLdc) Gemm(tA, tB bool, m, n, k int, alpha float32, a engine.Buffer, lda int, b engine.Buffer, ldb int, beta float32, c engine.Buffer, ldc int) {
	refDev{}.Gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, n)
}

type mutGemvIgnoresLda struct{ refDev }

func (mutGemvIgnoresLda) Gemv(trans bool, m, n int, alpha float32, a engine.Buffer, lda int, x engine.Buffer, beta float32, y engine.Buffer) {
	refDev{}.Gemv(trans, m, n, alpha, a, n, x, beta, y)
}

type mutConvDataBeta struct{ refDev }

func (mutConvDataBeta) ConvBackwardData(g engine.ConvGeom, dy, w, dx engine.Buffer, beta float32) {
	refDev{}.ConvBackwardData(g, dy, w, dx, max(beta, 1e-30)) // 0·NaN is still NaN
}

type mutConvFilterOverwrite struct{ refDev }

func (mutConvFilterOverwrite) ConvBackwardFilter(g engine.ConvGeom, x, dy, dw engine.Buffer) {
	clear(rb(dw))
	refDev{}.ConvBackwardFilter(g, x, dy, dw)
}

// mutConvDataFlip uses the kernel rotated by 180°, a classic transposed-convolution mistake.
type mutConvDataFlip struct{ refDev }

func (mutConvDataFlip) ConvBackwardData(g engine.ConvGeom, dy, w, dx engine.Buffer, beta float32) {
	ws := rd(w)
	flip := make([]float64, len(ws))
	rs := g.R * g.S
	for i := range ws {
		flip[i] = ws[i/rs*rs+rs-1-i%rs]
	}
	out, _ := refConvBackwardData(g, rd(dy), flip, rd(dx), float64(beta))
	put(dx, out)
}

type mutBiasGradOverwrite struct{ refDev }

func (mutBiasGradOverwrite) BiasGrad(dy, db engine.Buffer, n, c, hw int) {
	clear(rb(db))
	refDev{}.BiasGrad(dy, db, n, c, hw)
}

type mutBNBackward struct{ refDev }

func (mutBNBackward) BatchNormBackward(x, dy, dx, gamma, saveMean, saveInvStd, dgamma, dbeta engine.Buffer, n, c, hw int, batchStats bool) {
	refDev{}.BatchNormBackward(x, dy, dx, gamma, saveMean, saveInvStd, dgamma, dbeta, n, c, hw, false)
}

type mutBNRunVar struct{ refDev }

func (mutBNRunVar) BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar engine.Buffer, n, c, hw int, momentum, eps float32) {
	rv := rd(runVar)
	refDev{}.BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar, n, c, hw, momentum, eps)
	// Biased instead of unbiased variance in the running average.
	si := rd(saveInvStd)
	for ch := range rv {
		v := 1/(si[ch]*si[ch]) - float64(eps)
		rv[ch] = (1-float64(momentum))*rv[ch] + float64(momentum)*v
	}
	put(runVar, rv)
}

type mutBNReLUNoRes struct{ refDev }

func (mutBNReLUNoRes) BatchNormTrainReLU(x, res, y, gamma, beta, saveMean, saveInvStd, runMean, runVar engine.Buffer, n, c, hw int, momentum, eps float32) {
	refDev{}.BatchNormTrainReLU(x, nil, y, gamma, beta, saveMean, saveInvStd, runMean, runVar, n, c, hw, momentum, eps)
}

// mutBNReLUBackward passes the gradient where the ReLU's output is 0 (its mask uses y ≥ 0).
type mutBNReLUBackward struct{ refDev }

func (mutBNReLUBackward) BatchNormBackwardReLU(x, y, dy, dz, dx, gamma, saveMean, saveInvStd, dgamma, dbeta engine.Buffer, n, c, hw int, batchStats bool) {
	mutReluBackward{}.ReluBackward(y, dy, dz)
	refDev{}.BatchNormBackward(x, dz, dx, gamma, saveMean, saveInvStd, dgamma, dbeta, n, c, hw, batchStats)
}

type mutReluBackward struct{ refDev }

func (mutReluBackward) ReluBackward(y, dy, dx engine.Buffer) {
	dxd, dyd := rb(dx), rb(dy)
	for i, v := range rb(y) {
		if v >= 0 {
			dxd[i] = dyd[i]
		} else {
			dxd[i] = 0
		}
	}
}

type mutMaxPoolLast struct{ refDev }

func (mutMaxPoolLast) MaxPoolBackward(g engine.PoolGeom, x, dy, dx engine.Buffer) {
	xs, dys, out := rd(x), rd(dy), make([]float64, g.InputLen())
	poolWindows(g, func(yi int, idx []int) {
		best := idx[0]
		for _, xi := range idx[1:] {
			if xs[xi] >= xs[best] {
				best = xi
			}
		}
		out[best] += dys[yi]
	})
	put(dx, out)
}

type mutAvgPoolValid struct{ refDev }

func (mutAvgPoolValid) AvgPool(g engine.PoolGeom, x, y engine.Buffer) {
	xs, out := rd(x), make([]float64, g.OutputLen())
	poolWindows(g, func(yi int, idx []int) {
		for _, xi := range idx {
			out[yi] += xs[xi] / float64(len(idx))
		}
	})
	put(y, out)
}

// mutSoftmaxNaive computes log Σ exp(z) in float32 without subtracting the maximum.
type mutSoftmaxNaive struct{ refDev }

func (mutSoftmaxNaive) SoftmaxXent(logits, labels, losses, dlogits engine.Buffer, n, k int, scale float32) {
	refDev{}.SoftmaxXent(logits, labels, losses, dlogits, n, k, scale)
	z, lab, l := rb(logits), rb(labels), rb(losses)
	for i := 0; i < n; i++ {
		var s float32
		for _, v := range z[i*k : (i+1)*k] {
			s += float32(math.Exp(float64(v)))
		}
		l[i] = float32(math.Log(float64(s))) - z[i*k+int(lab[i])]
	}
}

type mutArgmaxLast struct{ refDev }

func (mutArgmaxLast) Argmax(x, out engine.Buffer, n, k int) {
	xs, o := rb(x), rb(out)
	for i := 0; i < n; i++ {
		best := 0
		for j := 1; j < k; j++ {
			if xs[i*k+j] >= xs[i*k+best] {
				best = j
			}
		}
		o[i] = float32(best)
	}
}

type mutFillPastEnd struct{ refDev }

func (mutFillPastEnd) Fill(x engine.Buffer, v float32) {
	b := x.(*refBuf)
	d := b.data[b.off : b.off+b.n+1]
	for i := range d {
		d[i] = v
	}
}

type mutDropoutOffset struct{ refDev }

func (mutDropoutOffset) Dropout(x, mask, y engine.Buffer, p float32, seed, offset uint64) {
	xd, md, yd := rb(x), rb(mask), rb(y)
	for i := range xd {
		md[i] = 0
		if rng.Uniform(seed, uint64(i)) >= p {
			md[i] = 1 / (1 - p)
		}
		yd[i] = xd[i] * md[i]
	}
}

type mutSumF32 struct{ refDev }

func (mutSumF32) Sum(x engine.Buffer) float64 {
	var s float32
	for _, v := range rb(x) {
		s += v
	}
	return float64(s)
}

type mutAdamNoBC struct{ refDev }

func (mutAdamNoBC) AdamStep(theta, grad, m, v engine.Buffer, lr, b1, b2, eps, wd float32, t int) {
	th, mm, vv := rd(theta), rd(m), rd(v)
	g := rd(grad)
	for i := range th {
		gi := g[i] + float64(wd)*th[i]
		mm[i] = float64(b1)*mm[i] + (1-float64(b1))*gi
		vv[i] = float64(b2)*vv[i] + (1-float64(b2))*gi*gi
		th[i] -= float64(lr) * mm[i] / (math.Sqrt(vv[i]) + float64(eps))
	}
	put(theta, th)
	put(m, mm)
	put(v, vv)
}
