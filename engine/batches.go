package engine

import "fmt"

// Batches walks a data set in order, a chunk of examples at a time, for passes that visit every
// example once (full-set gradients, evaluation). Next gathers the next chunk on the host and
// uploads its inputs and targets into the model's device batch, where Forward (or the model's
// own loss passes) read them:
//
//	it, err := m.Batches(ds, chunk)
//	...
//	for it.Next() {
//		out, err := it.Forward(EvalMode)
//		... it.Start(), it.Len(), it.Targets() ...
//	}
//	if err := it.Err(); err != nil { ... }
//
// It stages through the model's own host and device buffers, so it allocates nothing once the
// model holds a batch of the chunk size, and the staged chunk is valid only until the model's
// next upload: one Batches at a time per model.
type Batches struct {
	m          *Model
	ds         Examples
	chunk      int
	start, k   int // the staged chunk: examples start … start+k−1
	next       int // first example of the chunk Next stages
	err        error
	targetSize int
}

// Batches checks ds against the model, grows the model's batch storage to min(chunk, ds.Len())
// examples and returns an iterator positioned before the first chunk.
func (m *Model) Batches(ds Examples, chunk int) (Batches, error) {
	n := ds.Len()
	if n == 0 {
		return Batches{}, ErrEmpty
	}
	if chunk < 1 {
		return Batches{}, fmt.Errorf("batch chunk %d must be ≥ 1", chunk)
	}
	if err := m.checkData(ds); err != nil {
		return Batches{}, err
	}
	chunk = min(chunk, n)
	if err := m.EnsureBatch(chunk); err != nil {
		return Batches{}, err
	}
	return Batches{m: m, ds: ds, chunk: chunk, targetSize: m.TargetSize()}, nil
}

// Next stages the next chunk on the device; it returns false when every example has been
// staged or gathering failed (see Err).
func (b *Batches) Next() bool {
	if b.err != nil || b.m == nil || b.next >= b.ds.Len() {
		b.k = 0
		return false
	}
	m := b.m
	b.start, b.k = b.next, min(b.chunk, b.ds.Len()-b.next)
	b.next += b.k
	idx := m.idx[:b.k]
	for i := range idx {
		idx[i] = b.start + i
	}
	if err := m.stage(b.ds, idx); err != nil {
		b.err = err
		b.k = 0
		return false
	}
	return true
}

// stage gathers the examples idx of ds on the host and uploads them into the device batch (the
// model holds storage for len(idx) examples).
func (m *Model) stage(ds Examples, idx []int) error {
	if err := ds.Gather(idx, m.hostX, m.hostY); err != nil {
		return err
	}
	m.Dev.Upload(m.x.buf, m.hostX[:len(idx)*m.InSize()])
	m.Dev.Upload(m.y.buf, m.hostY[:len(idx)*m.TargetSize()])
	return nil
}

// Err is the error that stopped Next, if any.
func (b *Batches) Err() error { return b.err }

// Start is the index in the data set of the staged chunk's first example.
func (b *Batches) Start() int { return b.start }

// Len is the number of examples in the staged chunk: the chunk size, less for the last one.
func (b *Batches) Len() int { return b.k }

// Targets are the staged chunk's targets on the host (Len()·TargetSize values), valid until the
// next call of Next.
func (b *Batches) Targets() []float32 { return b.m.hostY[:b.k*b.targetSize] }

// Forward runs the network on the staged chunk and returns the output on the device (valid
// until the next forward pass).
func (b *Batches) Forward(mode Mode) (Tensor, error) {
	return b.m.forward(b.k, mode), b.m.Dev.Sync()
}
