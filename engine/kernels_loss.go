package engine

// LossKernels are the row-wise losses (one row of k values per example) and argmax.
type LossKernels interface {
	// SoftmaxXent writes losses[i] = -log softmax(logits[i,:])[labels[i]] and, when dlogits is
	// not nil, dlogits = scale*(softmax - onehot). labels holds class indices as float32.
	SoftmaxXent(logits, labels, losses, dlogits Buffer, n, k int, scale float32)
	// MSE writes losses[i] = Σ_j (pred-target)² and, when dpred is not nil, dpred = 2*scale*(pred-target).
	MSE(pred, target, losses, dpred Buffer, n, k int, scale float32)
	// SigmoidBCE writes losses[i] = Σ_j [max(z,0) - z*t + log(1+exp(-|z|))] (the stable form of
	// sigmoid cross-entropy) and, when dlogits is not nil, dlogits = scale*(sigmoid(z) - t).
	SigmoidBCE(logits, target, losses, dlogits Buffer, n, k int, scale float32)
	// Argmax writes out[i] = index of the first maximum of x[i,:], as float32.
	Argmax(x, out Buffer, n, k int)
}

// The checks (check.go): rows of k values, one loss per row, targets of tlen elements, and the
// gradient (optional: nil means none) shaped like the input. Whether each label is a class index
// is up to the device, which reads them (Sync reports a bad one).

func checkLoss(op string, x, target, losses, grad Buffer, n, k, tlen int, xn, gn string) {
	nonNegative(op, "n, k", n, k)
	needLen(op, xn, x, n*k)
	needLen(op, "target", target, tlen)
	needLen(op, "losses", losses, n)
	optLen(op, gn, grad, n*k)
}

func (c checked) SoftmaxXent(logits, labels, losses, dlogits Buffer, n, k int, scale float32) {
	checkLoss("SoftmaxXent", logits, labels, losses, dlogits, n, k, n, "logits", "dlogits")
	c.d.SoftmaxXent(logits, labels, losses, dlogits, n, k, scale)
}

func (c checked) MSE(pred, target, losses, dpred Buffer, n, k int, scale float32) {
	checkLoss("MSE", pred, target, losses, dpred, n, k, n*k, "pred", "dpred")
	c.d.MSE(pred, target, losses, dpred, n, k, scale)
}

func (c checked) SigmoidBCE(logits, target, losses, dlogits Buffer, n, k int, scale float32) {
	checkLoss("SigmoidBCE", logits, target, losses, dlogits, n, k, n*k, "logits", "dlogits")
	c.d.SigmoidBCE(logits, target, losses, dlogits, n, k, scale)
}

func (c checked) Argmax(x, out Buffer, n, k int) {
	nonNegative("Argmax", "n", n)
	atLeast("Argmax", "k", k, 1)
	needLen("Argmax", "x", x, n*k)
	needLen("Argmax", "out", out, n)
	c.d.Argmax(x, out, n, k)
}
