package enginetest

import (
	"math"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/rng"
)

// refDev is a device built from this package's float64 references, rounding every output to
// float32. Running the suite on it checks the harness itself (views, guards, plumbing, every
// case's reference agreeing with its tolerance) and, more usefully, checks the reference
// backward formulas against finite differences of the reference forwards (GradCheck), with no
// dependence on any real device.
type refDev struct{}

type refBuf struct {
	data []float32
	off  int
	n    int
}

func (b *refBuf) Len() int { return b.n }
func (b *refBuf) Slice(off, n int) engine.Buffer {
	if off < 0 || n < 0 || off+n > b.n {
		panic("refBuf: slice out of range")
	}
	return &refBuf{b.data, b.off + off, n}
}
func (b *refBuf) f32() []float32 { return b.data[b.off : b.off+b.n] }

func rb(b engine.Buffer) []float32 { return b.(*refBuf).f32() }
func rd(b engine.Buffer) []float64 { return f64(rb(b)) }
func put(b engine.Buffer, v []float64) {
	d := rb(b)
	for i := range d {
		d[i] = float32(v[i])
	}
}

func (refDev) Name() string                          { return "ref" }
func (refDev) Describe() string                      { return "float64 reference (tests only)" }
func (refDev) Alloc(n int) (engine.Buffer, error)    { return &refBuf{make([]float32, n), 0, n}, nil }
func (refDev) Free(engine.Buffer)                    {}
func (refDev) Upload(dst engine.Buffer, s []float32) { copy(rb(dst), s) }
func (refDev) Download(d []float32, s engine.Buffer) { copy(d, rb(s)) }
func (refDev) Sync() error                           { return nil }

func (refDev) Gemm(tA, tB bool, m, n, k int, alpha float32, a engine.Buffer, lda int, b engine.Buffer, ldb int, beta float32, c engine.Buffer, ldc int) {
	out, _ := refGemm(tA, tB, m, n, k, float64(alpha), rd(a), lda, rd(b), ldb, float64(beta), rd(c), ldc)
	put(c, out)
}
func (refDev) Gemv(trans bool, m, n int, alpha float32, a engine.Buffer, lda int, x engine.Buffer, beta float32, y engine.Buffer) {
	xn, yn := n, m
	if trans {
		xn, yn = m, n
	}
	out, _ := refGemm(trans, false, yn, 1, xn, float64(alpha), rd(a), lda, rd(x), 1, float64(beta), rd(y), 1)
	put(y, out)
}

func (refDev) ConvForward(g engine.ConvGeom, x, w, y engine.Buffer) {
	out, _ := refConvForward(g, rd(x), rd(w))
	put(y, out)
}
func (refDev) ConvBackwardData(g engine.ConvGeom, dy, w, dx engine.Buffer, beta float32) {
	out, _ := refConvBackwardData(g, rd(dy), rd(w), rd(dx), float64(beta))
	put(dx, out)
}
func (refDev) ConvBackwardFilter(g engine.ConvGeom, x, dy, dw engine.Buffer) {
	out, _ := refConvBackwardFilter(g, rd(x), rd(dy), rd(dw))
	put(dw, out)
}
func (refDev) BiasAdd(y, b engine.Buffer, n, c, hw int) {
	yd, bd := rb(y), rb(b)
	bnIndex(n, c, hw, func(ch, i int) { yd[i] += bd[ch] })
}
func (refDev) BiasGrad(dy, db engine.Buffer, n, c, hw int) {
	s := rd(db)
	d := rd(dy)
	bnIndex(n, c, hw, func(ch, i int) { s[ch] += d[i] })
	put(db, s)
}
func (refDev) BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar engine.Buffer, n, c, hw int, momentum, eps float32) {
	o := refBatchNormTrain(rd(x), rd(gamma), rd(beta), rd(runMean), rd(runVar), n, c, hw, float64(momentum), float64(eps))
	put(y, o.y)
	put(saveMean, o.saveMean)
	put(saveInvStd, o.saveInvStd)
	put(runMean, o.runMean)
	put(runVar, o.runVar)
}
func (refDev) BatchNormInfer(x, y, gamma, beta, runMean, runVar, saveMean, saveInvStd engine.Buffer, n, c, hw int, eps float32) {
	yy, sm, si := refBatchNormInfer(rd(x), rd(gamma), rd(beta), rd(runMean), rd(runVar), n, c, hw, float64(eps))
	put(y, yy)
	put(saveMean, sm)
	put(saveInvStd, si)
}
func (refDev) BatchNormBackward(x, dy, dx, gamma, saveMean, saveInvStd, dgamma, dbeta engine.Buffer, n, c, hw int, batchStats bool) {
	o := refBatchNormBackward(rd(x), rd(dy), rd(gamma), rd(saveMean), rd(saveInvStd), rd(dgamma), rd(dbeta), n, c, hw, batchStats)
	put(dx, o.dx)
	put(dgamma, o.dgamma)
	put(dbeta, o.dbeta)
}

// The fused ops are the separate ones in order: their rounding is what the fusion must keep.
func (d refDev) BatchNormTrainReLU(x, res, y, gamma, beta, saveMean, saveInvStd, runMean, runVar engine.Buffer, n, c, hw int, momentum, eps float32) {
	d.BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar, n, c, hw, momentum, eps)
	if res != nil {
		d.Add(y, res, y)
	}
	d.Relu(y, y)
}
func (d refDev) BatchNormBackwardReLU(x, y, dy, dz, dx, gamma, saveMean, saveInvStd, dgamma, dbeta engine.Buffer, n, c, hw int, batchStats bool) {
	d.ReluBackward(y, dy, dz)
	d.BatchNormBackward(x, dz, dx, gamma, saveMean, saveInvStd, dgamma, dbeta, n, c, hw, batchStats)
}
func (refDev) Relu(x, y engine.Buffer) {
	yd := rb(y)
	for i, v := range rb(x) {
		yd[i] = max(v, 0)
	}
}
func (refDev) ReluBackward(y, dy, dx engine.Buffer) {
	dxd, dyd := rb(dx), rb(dy)
	for i, v := range rb(y) {
		if v > 0 {
			dxd[i] = dyd[i]
		} else {
			dxd[i] = 0
		}
	}
}
func (refDev) MaxPool(g engine.PoolGeom, x, y engine.Buffer) {
	out, _ := refMaxPool(g, rd(x))
	put(y, out)
}
func (refDev) MaxPoolBackward(g engine.PoolGeom, x, dy, dx engine.Buffer) {
	put(dx, refMaxPoolBackward(g, rd(x), rd(dy)))
}
func (refDev) AvgPool(g engine.PoolGeom, x, y engine.Buffer) { put(y, refAvgPool(g, rd(x))) }
func (refDev) AvgPoolBackward(g engine.PoolGeom, dy, dx engine.Buffer) {
	put(dx, refAvgPoolBackward(g, rd(dy)))
}
func (refDev) GlobalAvgPool(x, y engine.Buffer, n, c, hw int) {
	xd, out := rd(x), make([]float64, n*c)
	for i := range out {
		for j := 0; j < hw; j++ {
			out[i] += xd[i*hw+j] / float64(hw)
		}
	}
	put(y, out)
}
func (refDev) GlobalAvgPoolBackward(dy, dx engine.Buffer, n, c, hw int) {
	d, out := rd(dy), make([]float64, n*c*hw)
	for i := range out {
		out[i] = d[i/hw] / float64(hw)
	}
	put(dx, out)
}
func (refDev) SoftmaxXent(logits, labels, losses, dlogits engine.Buffer, n, k int, scale float32) {
	l, d, _ := refSoftmaxXent(rd(logits), rd(labels), n, k, float64(scale))
	put(losses, l)
	if dlogits != nil {
		put(dlogits, d)
	}
}
func (refDev) MSE(pred, target, losses, dpred engine.Buffer, n, k int, scale float32) {
	l, d := refMSE(rd(pred), rd(target), n, k, float64(scale))
	put(losses, l)
	if dpred != nil {
		put(dpred, d)
	}
}
func (refDev) SigmoidBCE(logits, target, losses, dlogits engine.Buffer, n, k int, scale float32) {
	l, d, _ := refSigmoidBCE(rd(logits), rd(target), n, k, float64(scale))
	put(losses, l)
	if dlogits != nil {
		put(dlogits, d)
	}
}
func (refDev) Argmax(x, out engine.Buffer, n, k int) { put(out, refArgmax(rd(x), n, k)) }
func (refDev) Fill(x engine.Buffer, v float32) {
	d := rb(x)
	for i := range d {
		d[i] = v
	}
}
func (refDev) Copy(dst, src engine.Buffer) { copy(rb(dst), rb(src)) }
func (refDev) Axpy(alpha float32, x, y engine.Buffer) {
	yd := rb(y)
	for i, v := range rb(x) {
		yd[i] += alpha * v
	}
}
func (refDev) Scale(x engine.Buffer, alpha float32) {
	d := rb(x)
	for i := range d {
		d[i] *= alpha
	}
}
func (refDev) Add(a, b, out engine.Buffer) {
	ad, bd, od := rb(a), rb(b), rb(out)
	for i := range od {
		od[i] = ad[i] + bd[i]
	}
}
func (refDev) Mul(a, b, out engine.Buffer) {
	ad, bd, od := rb(a), rb(b), rb(out)
	for i := range od {
		od[i] = ad[i] * bd[i]
	}
}
func (refDev) Dropout(x, mask, y engine.Buffer, p float32, seed, offset uint64) {
	xd, md, yd := rb(x), rb(mask), rb(y)
	keep := 1 / (1 - p)
	for i := range xd {
		md[i] = 0
		if rng.Uniform(seed, offset+uint64(i)) >= p {
			md[i] = keep
		}
		yd[i] = xd[i] * md[i]
	}
}
func (refDev) Sum(x engine.Buffer) (s float64) {
	for _, v := range rb(x) {
		s += float64(v)
	}
	return s
}
func (refDev) SumSquares(x engine.Buffer) (s float64) {
	for _, v := range rb(x) {
		s += float64(v) * float64(v)
	}
	return s
}
func (refDev) Dot(x, y engine.Buffer) (s float64) {
	yd := rb(y)
	for i, v := range rb(x) {
		s += float64(v) * float64(yd[i])
	}
	return s
}
func (refDev) SGDStep(theta, grad, vel engine.Buffer, lr, momentum, wd float32, nesterov bool) {
	th := rd(theta)
	var v []float64
	if vel != nil {
		v = rd(vel)
	}
	refSGD(th, rd(grad), v, float64(lr), float64(momentum), float64(wd), nesterov)
	put(theta, th)
	if vel != nil {
		put(vel, v)
	}
}
func (refDev) AdamStep(theta, grad, m, v engine.Buffer, lr, b1, b2, eps, wd float32, t int) {
	th, mm, vv := rd(theta), rd(m), rd(v)
	refAdam(th, rd(grad), mm, vv, float64(lr), float64(b1), float64(b2), float64(eps), float64(wd), t)
	put(theta, th)
	put(m, mm)
	put(v, vv)
}

var _ engine.Device = refDev{}

// refDev checks none of its arguments, so it is registered like a device package's device and
// tested as engine.Open returns it: behind the argument-checking layer.
func init() {
	engine.Register("enginetest-ref", func(engine.Instance) (engine.Device, error) { return refDev{}, nil })
}

// TestReferenceDevice runs the suite on refDev opened through engine.Open. Its BadInput group
// proves that a raw device without checks is rejected on every bad input once it passes through
// the layer (the same device without the layer fails that group: mutants_test.go).
func TestReferenceDevice(t *testing.T) {
	dev, err := engine.Open("enginetest-ref")
	if err != nil {
		t.Fatal(err)
	}
	Run(t, dev)
}

// TestToleranceScale pins accumRtol's shape so a careless edit cannot make it vacuous.
func TestToleranceScale(t *testing.T) {
	if r := accumRtol(1); r > 1e-6 {
		t.Errorf("accumRtol(1) = %g: too loose", r)
	}
	if r := accumRtol(1 << 20); r > 1e-3 || r < 1e-4 {
		t.Errorf("accumRtol(2^20) = %g", r)
	}
	if math.IsNaN(reduceLim([]float64{1, 2})) {
		t.Error("reduceLim NaN")
	}
}
