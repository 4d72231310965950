//go:build cuda

package cuda

import (
	"github.com/gazeml/gaze/engine"
)

// The norm op family (engine/kernels_norm.go) on the GPU: batch norm.

// The kernels of kernels/norm.cu.
var (
	kBatchNormTrainSum      = declare("norm", "batch_norm_train_sum")
	kBatchNormTrainSqdev    = declare("norm", "batch_norm_train_sqdev")
	kBatchNormTrainApply    = declare("norm", "batch_norm_train_apply")
	kBatchNormInfer         = declare("norm", "batch_norm_infer")
	kBatchNormBackwardSums  = declare("norm", "batch_norm_backward_sums")
	kBatchNormBackwardApply = declare("norm", "batch_norm_backward_apply")
)

// bnSplits spreads each channel over enough blocks to give every SM about four.
func (d *Device) bnSplits(n, c int) int { return min(max(ceilDiv(4*d.sms, c), 1), n, 65535) }

// BatchNormTrain normalises with batch statistics (two-pass float64 variance).
func (d *Device) BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar engine.Buffer, n, c, hw int, momentum, eps float32) {
	d.batchNormTrain("BatchNormTrain", x, nil, y, gamma, beta, saveMean, saveInvStd, runMean, runVar, n, c, hw, momentum, eps, false)
}

// BatchNormTrainReLU is BatchNormTrain with the residual add and ReLU in its apply kernel.
func (d *Device) BatchNormTrainReLU(x, res, y, gamma, beta, saveMean, saveInvStd, runMean, runVar engine.Buffer, n, c, hw int, momentum, eps float32) {
	d.batchNormTrain("BatchNormTrainReLU", x, res, y, gamma, beta, saveMean, saveInvStd, runMean, runVar, n, c, hw, momentum, eps, true)
}

func (d *Device) batchNormTrain(op string, x, res, y, gamma, beta, saveMean, saveInvStd, runMean, runVar engine.Buffer, n, c, hw int, momentum, eps float32, relu bool) {
	fits32(op, n*c*hw)
	if momentum == 0 { // the running statistics are not read (the kernel skips null pointers)
		runMean, runVar = nil, nil
	}
	sp := d.bnSplits(n, c)
	part := d.need(&d.part, int64(2*c*sp)*8)
	if part == 0 {
		return
	}
	psq := part + uintptr(c*sp)*8
	d.k(kBatchNormTrainSum).i(n).i(c).i(hw).i(sp).p(x).raw(part)
	d.go3(c, sp, 1, 256)
	d.k(kBatchNormTrainSqdev).i(n).i(c).i(hw).i(sp).p(x).raw(part).raw(psq)
	d.go3(c, sp, 1, 256)
	d.k(kBatchNormTrainApply).i(n).i(c).i(hw).i(sp).p(x).p(y).p(gamma).p(beta).p(saveMean).p(saveInvStd).p(runMean).p(runVar).f(momentum).f(eps).raw(part).raw(psq).p(res).flag(relu)
	d.go3(c, sp, 1, 256)
}

// BatchNormInfer normalises with the running statistics.
func (d *Device) BatchNormInfer(x, y, gamma, beta, runMean, runVar, saveMean, saveInvStd engine.Buffer, n, c, hw int, eps float32) {
	fits32("BatchNormInfer", n*c*hw)
	d.k(kBatchNormInfer).l(n * c * hw).i(c).i(hw).p(x).p(y).p(gamma).p(beta).p(runMean).p(runVar).p(saveMean).p(saveInvStd).f(eps)
	d.go1(d.streamBlocks(n*c*hw), 256)
}

// BatchNormBackward overwrites dx and accumulates dgamma, dbeta.
func (d *Device) BatchNormBackward(x, dy, dx, gamma, saveMean, saveInvStd, dgamma, dbeta engine.Buffer, n, c, hw int, batchStats bool) {
	d.batchNormBackward("BatchNormBackward", x, nil, dy, nil, dx, gamma, saveMean, saveInvStd, dgamma, dbeta, n, c, hw, batchStats)
}

// BatchNormBackwardReLU is BatchNormBackward of dy masked by y > 0 (both kernels mask; the apply
// kernel also writes the masked gradient to dz).
func (d *Device) BatchNormBackwardReLU(x, y, dy, dz, dx, gamma, saveMean, saveInvStd, dgamma, dbeta engine.Buffer, n, c, hw int, batchStats bool) {
	d.batchNormBackward("BatchNormBackwardReLU", x, y, dy, dz, dx, gamma, saveMean, saveInvStd, dgamma, dbeta, n, c, hw, batchStats)
}

func (d *Device) batchNormBackward(op string, x, y, dy, dz, dx, gamma, saveMean, saveInvStd, dgamma, dbeta engine.Buffer, n, c, hw int, batchStats bool) {
	fits32(op, n*c*hw)
	sp := d.bnSplits(n, c)
	part := d.need(&d.part, int64(2*c*sp)*8)
	if part == 0 {
		return
	}
	d.k(kBatchNormBackwardSums).i(n).i(c).i(hw).i(sp).p(x).p(dy).p(saveMean).raw(part).p(y)
	d.go3(c, sp, 1, 256)
	d.k(kBatchNormBackwardApply).i(n).i(c).i(hw).i(sp).p(x).p(dy).p(dx).p(gamma).p(saveMean).p(saveInvStd).p(dgamma).p(dbeta).flag(batchStats).raw(part).p(y).p(dz)
	d.go3(c, sp, 1, 256)
}
