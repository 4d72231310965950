package engine

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Examples is a data set the engine can draw batches from. Gather copies the examples named by
// idx into x (len(idx)·ExampleSize floats) and their targets into y (len(idx)·TargetSize).
type Examples interface {
	Len() int
	ExampleSize() int
	TargetSize() int
	Gather(idx []int, x, y []float32) error
}

// Model is a network built on a device: its layers, its parameter arena, its loss, and the
// device buffers for a batch.
type Model struct {
	Name  string
	Net   Layer
	In    []int // per-example input shape
	Out   []int // per-example output shape
	Loss  LossKind
	L2    float64 // coefficient λ of the optional penalty λ/2·Σ‖w‖² over Weight parameters
	Arena *Arena
	Dev   Device

	ctx   Context
	maxN  int
	x, y  BatchBuffer // device batch
	lb    lossBuffers
	argm  BatchBuffer // argmax per example
	hostX []float32   // host batch staging
	hostY []float32
	idx   []int
	pred  []float32

	lastOut Tensor // output of the latest forward pass
}

// NewModel builds net for inputs of the given per-example shape on dev, with activation storage
// for batches of up to maxBatch examples (grown on demand).
func NewModel(dev Device, name string, net Layer, in []int, loss LossKind, maxBatch int) (*Model, error) {
	if maxBatch < 1 {
		return nil, fmt.Errorf("model %s: batch size %d must be ≥ 1", name, maxBatch)
	}
	b := NewBuilder()
	out, err := net.Build(b, in)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	if b.d == 0 {
		return nil, fmt.Errorf("model %s has no parameters", name)
	}
	arena, err := b.arena(dev)
	if err != nil {
		return nil, fmt.Errorf("model %s: allocating %d parameters: %w", name, b.d, err)
	}
	m := &Model{Name: name, Net: net, In: append([]int(nil), in...), Out: out, Loss: loss, Arena: arena, Dev: dev}
	m.ctx = Context{Dev: dev, Arena: arena}
	if err := m.EnsureBatch(maxBatch); err != nil {
		return nil, err
	}
	return m, nil
}

// InSize and OutSize are the element counts of one example's input and output.
func (m *Model) InSize() int  { return prod(m.In) }
func (m *Model) OutSize() int { return prod(m.Out) }

// TargetSize is the number of target floats per example.
func (m *Model) TargetSize() int { return m.Loss.TargetSize(m.OutSize()) }

// MaxBatch is the largest batch the model currently has storage for.
func (m *Model) MaxBatch() int { return m.maxN }

// EnsureBatch grows the activation storage to hold n examples.
func (m *Model) EnsureBatch(n int) error {
	if n <= m.maxN {
		return nil
	}
	m.ctx.freeAll()
	m.maxN = 0
	if err := m.Net.Setup(&m.ctx, n); err != nil {
		m.ctx.freeAll()
		return fmt.Errorf("model %s: activations for a batch of %d: %w", m.Name, n, err)
	}
	err := errors.Join(m.x.Alloc(&m.ctx, n, m.InSize()), m.y.Alloc(&m.ctx, n, m.TargetSize()),
		m.lb.losses.Alloc(&m.ctx, n, 1), m.lb.grad.Alloc(&m.ctx, n, m.OutSize()), m.argm.Alloc(&m.ctx, n, 1))
	if err != nil {
		m.ctx.freeAll()
		return fmt.Errorf("model %s: batch buffers for %d: %w", m.Name, n, err)
	}
	m.hostX = make([]float32, n*m.InSize())
	m.hostY = make([]float32, n*m.TargetSize())
	m.idx = make([]int, n)
	m.pred = make([]float32, n)
	m.maxN = n
	return nil
}

// Close frees the model's device memory.
func (m *Model) Close() {
	m.ctx.freeAll()
	m.Dev.Free(m.Arena.Theta)
	m.Dev.Free(m.Arena.Grad)
	m.Dev.Free(m.Arena.Stats)
}

// Init sets θ to its initial value from seed: He-normal weights (N(0, 2/fan_in), PyTorch's
// kaiming_normal_), zero biases, batch-norm γ = 1 and β = 0, running mean 0 and variance 1.
// Values are drawn on the host in arena order, so a seed gives the same θ on every device.
func (m *Model) Init(seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x6a09e667f3bcc908))
	theta := make([]float32, m.Arena.D)
	for _, p := range m.Arena.Params {
		v := theta[p.Offset : p.Offset+p.Size]
		if p.Kind == Weight {
			std := math.Sqrt(2 / float64(p.FanIn))
			for i := range v {
				v[i] = float32(r.NormFloat64() * std)
			}
			continue
		}
		for i := range v {
			v[i] = p.Init
		}
	}
	m.Dev.Upload(m.Arena.Theta, theta)
	if len(m.Arena.State) > 0 {
		st := make([]float32, m.Arena.Stats.Len())
		for _, s := range m.Arena.State {
			for i := range s.Size {
				st[s.Offset+i] = s.Init
			}
		}
		m.Dev.Upload(m.Arena.Stats, st)
	}
}

// SetSeed names the run's dropout streams; SetStep says which iteration a forward pass belongs
// to, so dropout masks depend only on (seed, layer, step).
func (m *Model) SetSeed(seed uint64) { m.ctx.Seed = seed }
func (m *Model) SetStep(step int)    { m.ctx.Step = uint64(step) }

// ZeroGrad clears ∇θ.
func (m *Model) ZeroGrad() { m.Dev.Fill(m.Arena.Grad, 0) }

// Batch runs n examples staged in x and y (host memory) through the network. It returns the sum
// over the batch of each example's loss (so the batch mean is the result divided by n) and,
// with grad, adds scale·∂(example losses)/∂θ to ∇θ: scale 1/n gives the batch mean's gradient.
func (m *Model) Batch(x, y []float32, n int, mode Mode, grad bool, scale float64) (float64, error) {
	if n < 1 || len(x) < n*m.InSize() || len(y) < n*m.TargetSize() {
		return 0, fmt.Errorf("model %s: batch of %d needs %d inputs and %d targets, got %d and %d", m.Name, n, n*m.InSize(), n*m.TargetSize(), len(x), len(y))
	}
	if err := m.EnsureBatch(n); err != nil {
		return 0, err
	}
	m.Dev.Upload(m.x.buf, x[:n*m.InSize()])
	m.Dev.Upload(m.y.buf, y[:n*m.TargetSize()])
	loss := m.run(n, mode, grad, scale)
	return loss, m.Dev.Sync()
}

// run is Batch on data already on the device.
func (m *Model) run(n int, mode Mode, grad bool, scale float64) float64 {
	m.ctx.LossScale = scale
	out := m.forward(n, mode)
	loss, g := m.Loss.compute(m.Dev, &m.lb, out, m.y.First(n), scale, grad)
	if grad {
		m.Net.Backward(&m.ctx, Tensor{Buf: g, N: n, Shape: out.Shape}, false)
	}
	return loss
}

// L2Penalty returns λ/2·Σ‖w‖² over Weight parameters (0 when L2 is off).
func (m *Model) L2Penalty() float64 {
	if m.L2 == 0 {
		return 0
	}
	var s float64
	for i, p := range m.Arena.Params {
		if p.Kind == Weight {
			s += m.Dev.SumSquares(m.Arena.View(i))
		}
	}
	return m.L2 / 2 * s
}

// AddL2Grad adds λ·w to the gradient of every Weight parameter.
func (m *Model) AddL2Grad() {
	if m.L2 == 0 {
		return
	}
	for i, p := range m.Arena.Params {
		if p.Kind == Weight {
			m.Dev.Axpy(float32(m.L2), m.Arena.View(i), m.Arena.GradView(i))
		}
	}
}

// ErrEmpty is returned for an empty data set.
var ErrEmpty = errors.New("empty data set")

// Gradient sets ∇θ to the gradient of the mean loss over every example of ds at the current θ,
// computed in chunks of up to chunk examples, and returns that mean loss (without the L2 term).
// mode chooses dropout and batch-norm behaviour; running statistics are never updated here.
// In steady state (same chunk size) it allocates nothing.
func (m *Model) Gradient(ds Examples, chunk int, mode Mode) (float64, error) {
	it, err := m.Batches(ds, chunk)
	if err != nil {
		return 0, err
	}
	mode.UpdateStats = false
	m.ZeroGrad()
	var total float64
	n := ds.Len()
	scale := 1 / float64(n)
	for it.Next() {
		total += m.run(it.Len(), mode, true, scale)
	}
	if err := it.Err(); err != nil {
		return 0, err
	}
	return total / float64(n), m.Dev.Sync()
}

// GradientSum sets ∇θ to the gradient of the summed loss of the examples idx of ds, run as one
// batch in that order (batch norm in batch-statistics mode normalises them together), and
// returns that sum (without the L2 term). Running statistics are never updated. It is one chunk
// of a full-set gradient whose chunks are combined by the caller (lca combines them on the host
// in float64, in a fixed order, whichever device computed them).
func (m *Model) GradientSum(ds Examples, idx []int, mode Mode) (float64, error) {
	if len(idx) == 0 {
		return 0, ErrEmpty
	}
	if err := m.checkData(ds); err != nil {
		return 0, err
	}
	if err := m.EnsureBatch(len(idx)); err != nil {
		return 0, err
	}
	if err := m.stage(ds, idx); err != nil {
		return 0, err
	}
	mode.UpdateStats = false
	m.ZeroGrad()
	loss := m.run(len(idx), mode, true, 1)
	return loss, m.Dev.Sync()
}

func (m *Model) checkData(ds Examples) error {
	if ds.ExampleSize() != m.InSize() || ds.TargetSize() != m.TargetSize() {
		return fmt.Errorf("model %s takes examples of %v (%d values) with %d target values, but the data has %d and %d",
			m.Name, m.In, m.InSize(), m.TargetSize(), ds.ExampleSize(), ds.TargetSize())
	}
	return nil
}

// Evaluate returns the mean loss over ds and, for classification, the accuracy (argmax equals
// the label), in inference mode with batches of up to batch examples.
func (m *Model) Evaluate(ds Examples, batch int, mode Mode) (loss, acc float64, err error) {
	it, err := m.Batches(ds, max(batch, 1))
	if err != nil {
		return 0, 0, err
	}
	mode.UpdateStats = false
	var total float64
	correct := 0
	for it.Next() {
		k := it.Len()
		total += m.run(k, mode, false, 0)
		if m.Loss == SoftmaxCrossEntropy {
			m.Dev.Argmax(m.lastOut.Buf, m.argm.First(k), k, m.OutSize())
			m.Dev.Download(m.pred[:k], m.argm.buf)
			for i, label := range it.Targets() {
				if m.pred[i] == label {
					correct++
				}
			}
		}
	}
	if err := it.Err(); err != nil {
		return 0, 0, err
	}
	n := float64(ds.Len())
	return total / n, float64(correct) / n, m.Dev.Sync()
}

// Forward runs the network on n examples of host input and returns the output on the device
// (valid until the next forward pass).
func (m *Model) Forward(x []float32, n int, mode Mode) (Tensor, error) {
	if n < 1 || len(x) < n*m.InSize() {
		return Tensor{}, fmt.Errorf("model %s: forward of %d examples needs %d inputs, got %d", m.Name, n, n*m.InSize(), len(x))
	}
	if err := m.EnsureBatch(n); err != nil {
		return Tensor{}, err
	}
	m.Dev.Upload(m.x.buf, x[:n*m.InSize()])
	return m.forward(n, mode), m.Dev.Sync()
}

// forward runs the network on the first n examples of the device batch.
func (m *Model) forward(n int, mode Mode) Tensor {
	m.ctx.Mode = mode
	out := m.Net.Forward(&m.ctx, Tensor{Buf: m.x.First(n), N: n, Shape: m.In})
	m.lastOut = out
	return out
}

// Theta copies θ to the host.
func (m *Model) Theta() []float32 {
	out := make([]float32, m.Arena.D)
	m.Dev.Download(out, m.Arena.Theta)
	return out
}

// GradHost copies ∇θ to the host.
func (m *Model) GradHost() []float32 {
	out := make([]float32, m.Arena.D)
	m.Dev.Download(out, m.Arena.Grad)
	return out
}

// SetTheta uploads θ from the host.
func (m *Model) SetTheta(theta []float32) error {
	if len(theta) != m.Arena.D {
		return fmt.Errorf("model %s has %d parameters, got %d values", m.Name, m.Arena.D, len(theta))
	}
	m.Dev.Upload(m.Arena.Theta, theta)
	return m.Dev.Sync()
}
