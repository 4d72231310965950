package engine

import "fmt"

// BatchNorm2d normalises each channel of an [C, H, W] (or [C]) input. Momentum follows
// PyTorch's convention (weight of the new batch statistic, default 0.1).
type BatchNorm2d struct {
	name            string
	Momentum, Eps   float32
	c, hw           int
	gamma, beta     int // arena indices
	runMean, runVar int // state indices
	saveMean        Buffer
	saveInv         Buffer
	y, dx           BatchBuffer
	x               Tensor
	y0              Buffer // the latest output (with relu, the ReLU's output: its mask)
	batchStats      bool
	shape           []int
	// relu: the ReLU after this layer is applied here (Sequential.Build fuses the pair) and res,
	// when a Residual sets it before each forward pass, is added before it; dz is then the
	// gradient behind the ReLU, which the Residual hands to its shortcut.
	relu bool
	res  Buffer
	dz   BatchBuffer
}

// NewBatchNorm2d returns a batch-norm layer.
func NewBatchNorm2d(name string, momentum, eps float32) *BatchNorm2d {
	return &BatchNorm2d{name: name, Momentum: momentum, Eps: eps}
}

func (l *BatchNorm2d) Name() string { return l.name }

func (l *BatchNorm2d) Build(b *Builder, in []int) ([]int, error) {
	if len(in) != 3 && len(in) != 1 {
		return nil, shapeErr(l, in, "[C, H, W] or [C]")
	}
	if l.Momentum < 0 || l.Momentum > 1 || l.Eps <= 0 {
		return nil, fmt.Errorf("layer %s: momentum %v must be in [0, 1] and eps %v > 0", l.name, l.Momentum, l.Eps)
	}
	l.c, l.hw = in[0], prod(in[1:])
	var err error
	if l.gamma, err = b.Param(l.name, "weight", Gamma, []int{l.c}, 0, 1); err != nil {
		return nil, err
	}
	if l.beta, err = b.Param(l.name, "bias", Beta, []int{l.c}, 0, 0); err != nil {
		return nil, err
	}
	if l.runMean, err = b.State(l.name, "running_mean", l.c, 0); err != nil {
		return nil, err
	}
	if l.runVar, err = b.State(l.name, "running_var", l.c, 1); err != nil {
		return nil, err
	}
	l.shape = append([]int(nil), in...)
	return l.shape, nil
}

func (l *BatchNorm2d) Setup(ctx *Context, maxN int) (err error) {
	if err = l.y.Alloc(ctx, maxN, l.c*l.hw); err != nil {
		return err
	}
	if err = l.dx.Alloc(ctx, maxN, l.c*l.hw); err != nil {
		return err
	}
	if l.relu {
		if err = l.dz.Alloc(ctx, maxN, l.c*l.hw); err != nil {
			return err
		}
	}
	if l.saveMean, err = ctx.Alloc(l.c); err != nil {
		return err
	}
	l.saveInv, err = ctx.Alloc(l.c)
	return err
}

func (l *BatchNorm2d) Forward(ctx *Context, x Tensor) Tensor {
	l.x = x
	a := ctx.Arena
	y := l.y.First(x.N)
	l.batchStats = ctx.Mode.BatchStats
	if l.batchStats {
		mom := float32(0)
		if ctx.Mode.UpdateStats {
			mom = l.Momentum
		}
		if l.relu {
			ctx.Dev.BatchNormTrainReLU(x.Buf, l.res, y, a.View(l.gamma), a.View(l.beta), l.saveMean, l.saveInv,
				a.StateView(l.runMean), a.StateView(l.runVar), x.N, l.c, l.hw, mom, l.Eps)
		} else {
			ctx.Dev.BatchNormTrain(x.Buf, y, a.View(l.gamma), a.View(l.beta), l.saveMean, l.saveInv,
				a.StateView(l.runMean), a.StateView(l.runVar), x.N, l.c, l.hw, mom, l.Eps)
		}
	} else {
		ctx.Dev.BatchNormInfer(x.Buf, y, a.View(l.gamma), a.View(l.beta), a.StateView(l.runMean), a.StateView(l.runVar),
			l.saveMean, l.saveInv, x.N, l.c, l.hw, l.Eps)
		if l.relu { // inference passes are not worth a fused kernel of their own
			if l.res != nil {
				ctx.Dev.Add(y, l.res, y)
			}
			ctx.Dev.Relu(y, y)
		}
	}
	l.y0 = y
	return Tensor{Buf: y, N: x.N, Shape: l.shape}
}

func (l *BatchNorm2d) Backward(ctx *Context, dy Tensor, needDx bool) Tensor {
	a := ctx.Arena
	dx := l.dx.First(dy.N)
	if l.relu {
		ctx.Dev.BatchNormBackwardReLU(l.x.Buf, l.y0, dy.Buf, l.dz.First(dy.N), dx, a.View(l.gamma), l.saveMean, l.saveInv,
			a.GradView(l.gamma), a.GradView(l.beta), dy.N, l.c, l.hw, l.batchStats)
	} else {
		ctx.Dev.BatchNormBackward(l.x.Buf, dy.Buf, dx, a.View(l.gamma), l.saveMean, l.saveInv,
			a.GradView(l.gamma), a.GradView(l.beta), dy.N, l.c, l.hw, l.batchStats)
	}
	return Tensor{Buf: dx, N: dy.N, Shape: l.shape}
}
