package engine

// NormKernels are batch normalisation over [n, c, hw], per channel.
type NormKernels interface {
	// BatchNormTrain normalises with the batch statistics of each channel (over n and hw) and
	// writes the batch mean and 1/sqrt(var+eps) (biased var) to saveMean, saveInvStd.
	// Running statistics move as run = (1-momentum)*run + momentum*stat (PyTorch's convention,
	// unbiased variance); momentum 0 leaves them untouched.
	BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar Buffer, n, c, hw int, momentum, eps float32)
	// BatchNormInfer normalises with the running statistics and writes runMean and
	// 1/sqrt(runVar+eps) to saveMean, saveInvStd for the backward pass.
	BatchNormInfer(x, y, gamma, beta, runMean, runVar, saveMean, saveInvStd Buffer, n, c, hw int, eps float32)
	// BatchNormBackward overwrites dx and accumulates dgamma, dbeta. batchStats selects the
	// training-mode formula (mean and variance depend on x) or the inference-mode one (constants).
	BatchNormBackward(x, dy, dx, gamma, saveMean, saveInvStd, dgamma, dbeta Buffer, n, c, hw int, batchStats bool)
}
