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
