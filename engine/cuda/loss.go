//go:build cuda

package cuda

import (
	"fmt"

	"github.com/gazeml/gaze/engine"
)

// The loss op family (engine/kernels_loss.go) on the GPU: softmax cross-entropy, MSE, sigmoid BCE
// and argmax.

// The kernels of kernels/loss.cu.
var (
	kSoftmaxXent = declare("loss", "softmax_xent")
	kMSE         = declare("loss", "mse")
	kSigmoidBCE  = declare("loss", "sigmoid_bce")
	kArgmax      = declare("loss", "argmax")
)

func lossCheck(kernel string, x, t, losses, grad engine.Buffer, n, k, tlen int) {
	needLen(kernel, "input", x, n*k)
	needLen(kernel, "target", t, tlen)
	needLen(kernel, "losses", losses, n)
	if grad != nil {
		needLen(kernel, "gradient", grad, n*k)
	}
	fits32(kernel, n, k, n*k)
}

// nilIfEmpty turns a typed nil *Buffer into an untyped nil, so "no gradient" reads as nil.
func nilIfEmpty(b engine.Buffer) engine.Buffer {
	if cb, ok := b.(*Buffer); ok && cb == nil {
		return nil
	}
	return b
}

// SoftmaxXent: per-row log-sum-exp in float64; a bad label is reported by Sync.
func (d *Device) SoftmaxXent(logits, labels, losses, dlogits engine.Buffer, n, k int, scale float32) {
	dlogits = nilIfEmpty(dlogits)
	lossCheck("SoftmaxXent", logits, labels, losses, dlogits, n, k, n)
	d.k(kSoftmaxXent).i(n).i(k).p(logits).p(labels).p(losses).p(dlogits).f(scale).raw(d.status)
	d.go1(min(n, 65535), rowThreads(k))
	d.armed = true
}

// MSE: losses[i] = Σ_j (pred-target)².
func (d *Device) MSE(pred, target, losses, dpred engine.Buffer, n, k int, scale float32) {
	dpred = nilIfEmpty(dpred)
	lossCheck("MSE", pred, target, losses, dpred, n, k, n*k)
	d.k(kMSE).i(n).i(k).p(pred).p(target).p(losses).p(dpred).f(scale)
	d.go1(min(n, 65535), rowThreads(k))
}

// SigmoidBCE: the stable sigmoid cross-entropy.
func (d *Device) SigmoidBCE(logits, target, losses, dlogits engine.Buffer, n, k int, scale float32) {
	dlogits = nilIfEmpty(dlogits)
	lossCheck("SigmoidBCE", logits, target, losses, dlogits, n, k, n*k)
	d.k(kSigmoidBCE).i(n).i(k).p(logits).p(target).p(losses).p(dlogits).f(scale)
	d.go1(min(n, 65535), rowThreads(k))
}

// Argmax: first maximum of each row.
func (d *Device) Argmax(x, out engine.Buffer, n, k int) {
	needLen("Argmax", "x", x, n*k)
	needLen("Argmax", "out", out, n)
	if k < 1 {
		panic(fmt.Sprintf("cuda: Argmax: k = %d, want ≥ 1", k))
	}
	d.k(kArgmax).i(n).i(k).p(x).p(out)
	d.go1(min(n, 65535), rowThreads(k))
}
