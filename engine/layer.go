package engine

import "fmt"

// Tensor is a batch of N examples on a device, each of the given per-example shape.
type Tensor struct {
	Buf   Buffer
	N     int
	Shape []int
}

// Size is the number of elements of one example.
func (t Tensor) Size() int { return prod(t.Shape) }

func prod(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}

// Mode says how a forward pass behaves.
type Mode struct {
	Dropout     bool // dropout active (training)
	BatchStats  bool // batch norm normalises with the batch's statistics
	UpdateStats bool // batch norm moves its running statistics (training steps only)
}

var (
	// TrainMode is a training step.
	TrainMode = Mode{Dropout: true, BatchStats: true, UpdateStats: true}
	// EvalMode is inference: no dropout, running statistics.
	EvalMode = Mode{}
)

// Context is what layers see while they run.
type Context struct {
	Dev   Device
	Arena *Arena
	Mode  Mode
	Seed  uint64 // names the dropout streams of this run
	Step  uint64 // the training iteration; dropout masks differ per step
	// LossScale is the factor on the data loss's gradient in this pass (Model.Batch's scale,
	// 1/n for a mean): layers that add a loss term of their own scale its gradient alike.
	LossScale float64
	alloc     []Buffer
	// graph is set while a CUDA graph is being captured (model_graph.go): layers whose kernels
	// take per-step scalars (Dropout's offset) then read them from its slots.
	graph *graphState
}

// Alloc allocates an activation buffer that the model frees when it is closed or resized.
func (c *Context) Alloc(n int) (Buffer, error) {
	b, err := c.Dev.Alloc(n)
	if err != nil {
		return nil, err
	}
	c.alloc = append(c.alloc, b)
	return b, nil
}

func (c *Context) freeAll() {
	for _, b := range c.alloc {
		c.Dev.Free(b)
	}
	c.alloc = c.alloc[:0]
}

// Layer is one differentiable stage of a network. Build runs once and registers parameters;
// Setup allocates activation storage for batches of up to maxN examples (it may run again
// when a larger batch is needed); Forward and Backward run per batch. A layer keeps what its
// backward pass needs (its input, its output) from the latest Forward.
type Layer interface {
	Name() string
	// Build registers the layer's parameters and returns the per-example output shape for
	// a per-example input shape, or an error naming the layer and the impossible shape.
	Build(b *Builder, in []int) ([]int, error)
	Setup(ctx *Context, maxN int) error
	Forward(ctx *Context, x Tensor) Tensor
	// Backward accumulates parameter gradients into ∇θ and returns ∂loss/∂x; when needDx is
	// false the input gradient is not computed (the first layer of a network) and the
	// returned tensor is meaningless.
	Backward(ctx *Context, dy Tensor, needDx bool) Tensor
}

func shapeErr(l Layer, in []int, want string) error {
	return fmt.Errorf("layer %s: input shape %v, want %s", l.Name(), in, want)
}

// BatchBuffer is an activation buffer for up to maxN examples of per elements each, for layers
// (here and in experiment packages) to keep their outputs and input gradients in. The views of
// its first n examples are cached for the latest two sizes (a full batch and a short last
// one): creating a view allocates on the CPU device, and steady-state passes must not.
type BatchBuffer struct {
	buf Buffer
	per int
	n   [2]int
	v   [2]Buffer
}

// Alloc (re)allocates the buffer through ctx, which frees it with the model.
func (b *BatchBuffer) Alloc(ctx *Context, maxN, per int) (err error) {
	*b = BatchBuffer{per: per}
	b.buf, err = ctx.Alloc(maxN * per)
	return err
}

// First returns the view of the first n examples.
func (b *BatchBuffer) First(n int) Buffer {
	switch n {
	case b.n[0]:
		return b.v[0]
	case b.n[1]:
		return b.v[1]
	}
	b.n[1], b.v[1] = b.n[0], b.v[0]
	b.n[0], b.v[0] = n, b.buf.Slice(0, n*b.per)
	return b.v[0]
}
