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
	// BatchNormTrainReLU is BatchNormTrain with a residual add and a ReLU on its output:
	// y = max(bn(x) + res, 0), or max(bn(x), 0) when res is nil, rounded as BatchNormTrain, Add
	// and Relu one after another (the same bits), in one pass over the activations. It is
	// ResNet's "bn, relu" and "bn2, add the shortcut, relu".
	BatchNormTrainReLU(x, res, y, gamma, beta, saveMean, saveInvStd, runMean, runVar Buffer, n, c, hw int, momentum, eps float32)
	// BatchNormBackwardReLU is the backward pass of BatchNormTrainReLU (or of BatchNormInfer and
	// a ReLU): dz = dy where y > 0, else 0 (ReluBackward with y the ReLU's output), which is also
	// the gradient of res, then BatchNormBackward of dz: it overwrites dz and dx and accumulates
	// dgamma, dbeta.
	BatchNormBackwardReLU(x, y, dy, dz, dx, gamma, saveMean, saveInvStd, dgamma, dbeta Buffer, n, c, hw int, batchStats bool)
}

// The checks (check.go): n, c, hw ≥ 1, activations of n·c·hw elements (res optional) and
// per-channel buffers of c (the running statistics of BatchNormTrain and BatchNormTrainReLU
// only when momentum moves them).

func checkBatchNorm(op string, n, c, hw int, x, y Buffer, xn, yn string) {
	if n < 1 || c < 1 || hw < 1 {
		fail(op, msgPositive, "n, c, hw", []int{n, c, hw})
	}
	needLen(op, xn, x, n*c*hw)
	needLen(op, yn, y, n*c*hw)
}

// checkBatchNormTrain checks the arguments BatchNormTrain and BatchNormTrainReLU share.
func checkBatchNormTrain(op string, x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar Buffer, n, c, hw int, momentum float32) {
	checkBatchNorm(op, n, c, hw, x, y, "x", "y")
	needLen(op, "gamma", gamma, c)
	needLen(op, "beta", beta, c)
	needLen(op, "saveMean", saveMean, c)
	needLen(op, "saveInvStd", saveInvStd, c)
	if momentum != 0 {
		needLen(op, "runMean", runMean, c)
		needLen(op, "runVar", runVar, c)
	}
}

// checkBatchNormBackward checks the arguments BatchNormBackward and BatchNormBackwardReLU share.
func checkBatchNormBackward(op string, x, dy, dx, gamma, saveMean, saveInvStd, dgamma, dbeta Buffer, n, c, hw int) {
	checkBatchNorm(op, n, c, hw, x, dy, "x", "dy")
	needLen(op, "dx", dx, n*c*hw)
	needLen(op, "gamma", gamma, c)
	needLen(op, "saveMean", saveMean, c)
	needLen(op, "saveInvStd", saveInvStd, c)
	needLen(op, "dgamma", dgamma, c)
	needLen(op, "dbeta", dbeta, c)
}

func (cc checked) BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar Buffer, n, c, hw int, momentum, eps float32) {
	checkBatchNormTrain("BatchNormTrain", x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar, n, c, hw, momentum)
	cc.d.BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar, n, c, hw, momentum, eps)
}

func (cc checked) BatchNormTrainReLU(x, res, y, gamma, beta, saveMean, saveInvStd, runMean, runVar Buffer, n, c, hw int, momentum, eps float32) {
	const op = "BatchNormTrainReLU"
	checkBatchNormTrain(op, x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar, n, c, hw, momentum)
	optLen(op, "res", res, n*c*hw)
	cc.d.BatchNormTrainReLU(x, res, y, gamma, beta, saveMean, saveInvStd, runMean, runVar, n, c, hw, momentum, eps)
}

func (cc checked) BatchNormInfer(x, y, gamma, beta, runMean, runVar, saveMean, saveInvStd Buffer, n, c, hw int, eps float32) {
	const op = "BatchNormInfer"
	checkBatchNorm(op, n, c, hw, x, y, "x", "y")
	needLen(op, "gamma", gamma, c)
	needLen(op, "beta", beta, c)
	needLen(op, "runMean", runMean, c)
	needLen(op, "runVar", runVar, c)
	needLen(op, "saveMean", saveMean, c)
	needLen(op, "saveInvStd", saveInvStd, c)
	cc.d.BatchNormInfer(x, y, gamma, beta, runMean, runVar, saveMean, saveInvStd, n, c, hw, eps)
}

func (cc checked) BatchNormBackward(x, dy, dx, gamma, saveMean, saveInvStd, dgamma, dbeta Buffer, n, c, hw int, batchStats bool) {
	checkBatchNormBackward("BatchNormBackward", x, dy, dx, gamma, saveMean, saveInvStd, dgamma, dbeta, n, c, hw)
	cc.d.BatchNormBackward(x, dy, dx, gamma, saveMean, saveInvStd, dgamma, dbeta, n, c, hw, batchStats)
}

func (cc checked) BatchNormBackwardReLU(x, y, dy, dz, dx, gamma, saveMean, saveInvStd, dgamma, dbeta Buffer, n, c, hw int, batchStats bool) {
	const op = "BatchNormBackwardReLU"
	checkBatchNormBackward(op, x, dy, dx, gamma, saveMean, saveInvStd, dgamma, dbeta, n, c, hw)
	needLen(op, "y", y, n*c*hw)
	needLen(op, "dz", dz, n*c*hw)
	cc.d.BatchNormBackwardReLU(x, y, dy, dz, dx, gamma, saveMean, saveInvStd, dgamma, dbeta, n, c, hw, batchStats)
}
