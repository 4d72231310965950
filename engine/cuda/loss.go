//go:build cuda

package cuda

import (
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

// SoftmaxXent: per-row log-sum-exp in float64; a bad label is reported by Sync.
func (d *Device) SoftmaxXent(logits, labels, losses, dlogits engine.Buffer, n, k int, scale float32) {
	fits32("SoftmaxXent", n, k, n*k)
	d.k(kSoftmaxXent).i(n).i(k).p(logits).p(labels).p(losses).p(dlogits).f(scale).raw(d.status)
	d.go1(min(n, 65535), rowThreads(k))
	d.armed = true
}

// MSE: losses[i] = Σ_j (pred-target)².
func (d *Device) MSE(pred, target, losses, dpred engine.Buffer, n, k int, scale float32) {
	fits32("MSE", n, k, n*k)
	d.k(kMSE).i(n).i(k).p(pred).p(target).p(losses).p(dpred).f(scale)
	d.go1(min(n, 65535), rowThreads(k))
}

// SigmoidBCE: the stable sigmoid cross-entropy.
func (d *Device) SigmoidBCE(logits, target, losses, dlogits engine.Buffer, n, k int, scale float32) {
	fits32("SigmoidBCE", n, k, n*k)
	d.k(kSigmoidBCE).i(n).i(k).p(logits).p(target).p(losses).p(dlogits).f(scale)
	d.go1(min(n, 65535), rowThreads(k))
}

// Argmax: first maximum of each row.
func (d *Device) Argmax(x, out engine.Buffer, n, k int) {
	fits32("Argmax", n, k, n*k)
	d.k(kArgmax).i(n).i(k).p(x).p(out)
	d.go1(min(n, 65535), rowThreads(k))
}
