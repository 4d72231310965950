// Package data holds gaze's host-side data sets: MNIST (IDX files), CIFAR-10 (binary batches)
// and a synthetic set for tests and benchmarks, with the batching, held-out splitting and
// per-epoch shuffling the trainer uses.
//
// A Dataset keeps its images as float32 in [0, 1], NCHW, in one gorgonia.org/tensor Dense of
// shape [N, C, H, W]. The tensor is the interchange type for host-side data; the hot paths
// (Gather, the loaders) work on its backing []float32 directly, because tensor's generic ops
// allocate and type-switch per call, which a per-batch copy cannot afford.
//
// Every random choice here (Split, Shuffle, Synthetic) is a pure function of its seed and is
// specified down to the bit (see Permutation), so a resumed run or another machine recomputes
// the same split and the same epoch order.
package data

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"

	"gorgonia.org/tensor"
)

// maxElements bounds the number of values in one data set or IDX payload (4 Gi values, 16 GiB
// as float32): far above any data set this package loads, low enough that a corrupt size field
// is reported instead of attempted as an allocation.
const maxElements = 1 << 32

// Dataset is N labelled examples of shape (C, H, W). Images are float32 in [0, 1] (the loaders
// guarantee it; New does not check pixel values), labels are class indices in [0, Classes).
// A Dataset is read-only after construction and safe for concurrent readers.
type Dataset struct {
	name    string
	c, h, w int
	classes int
	images  *tensor.Dense // shape [N, C, H, W], backed by pix
	pix     []float32     // the backing slice of images, kept so hot loops skip the interface
	labels  []int32
}

// New builds a Dataset that takes ownership of images (N·C·H·W values, NCHW per example) and
// labels (N class indices in [0, classes)). Neither slice is copied.
func New(name string, images []float32, labels []int32, c, h, w, classes int) (*Dataset, error) {
	if c <= 0 || h <= 0 || w <= 0 {
		return nil, fmt.Errorf("data: %s: example shape (%d, %d, %d) must be positive", name, c, h, w)
	}
	if classes <= 0 {
		return nil, fmt.Errorf("data: %s: %d classes, want at least 1", name, classes)
	}
	es, ok := mulChecked(c, h, w)
	if !ok {
		return nil, fmt.Errorf("data: %s: example shape (%d, %d, %d) is too large", name, c, h, w)
	}
	n := len(labels)
	if total, ok := mulChecked(n, es); !ok || total != len(images) {
		return nil, fmt.Errorf("data: %s: %d labels and examples of shape (%d, %d, %d) need %d·%d image values, got %d",
			name, n, c, h, w, n, es, len(images))
	}
	for i, l := range labels {
		if l < 0 || int(l) >= classes {
			return nil, fmt.Errorf("data: %s: label %d of example %d is outside [0, %d)", name, l, i, classes)
		}
	}
	t, err := newDense(images, n, c, h, w)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	return &Dataset{name: name, c: c, h: h, w: w, classes: classes, images: t, pix: images, labels: labels}, nil
}

// newDense wraps pix as a [n, c, h, w] float32 tensor without copying. tensor.New panics on
// inputs it dislikes (an empty backing slice, for one); those panics become errors here.
func newDense(pix []float32, n, c, h, w int) (t *tensor.Dense, err error) {
	if len(pix) == 0 {
		// tensor takes &backing[0]; a zero-length slice with spare capacity is accepted.
		pix = make([]float32, 0, 1)
	}
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("building the [%d %d %d %d] image tensor: %v", n, c, h, w, r)
		}
	}()
	return tensor.New(tensor.WithShape(n, c, h, w), tensor.WithBacking(pix)), nil
}

// mulChecked multiplies non-negative ints, reporting false if the product exceeds maxElements.
func mulChecked(xs ...int) (int, bool) {
	p := uint64(1)
	for _, x := range xs {
		if x < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(p, uint64(x))
		if hi != 0 || lo > maxElements {
			return 0, false
		}
		p = lo
	}
	return int(p), true
}

// Name is the data set's name, e.g. "mnist-train".
func (d *Dataset) Name() string { return d.name }

// Len is the number of examples N.
func (d *Dataset) Len() int { return len(d.labels) }

// Shape is the shape (C, H, W) of one example.
func (d *Dataset) Shape() (c, h, w int) { return d.c, d.h, d.w }

// ExampleSize is C·H·W, the number of float32 values in one example.
func (d *Dataset) ExampleSize() int { return d.c * d.h * d.w }

// Classes is the number of classes; labels lie in [0, Classes).
func (d *Dataset) Classes() int { return d.classes }

// Images is the backing slice of the image tensor: example i occupies
// Images()[i*ExampleSize() : (i+1)*ExampleSize()], channel planes in order, rows row-major.
// It aliases the tensor; callers must not write to it.
func (d *Dataset) Images() []float32 { return d.pix }

// Labels holds the class index of every example. Callers must not write to it.
func (d *Dataset) Labels() []int32 { return d.labels }

// Tensor is the images as a gorgonia tensor of shape [N, C, H, W]; it shares memory with
// Images. For an empty data set its shape is [0, C, H, W].
func (d *Dataset) Tensor() *tensor.Dense { return d.images }

// String describes the data set in one line.
func (d *Dataset) String() string {
	return fmt.Sprintf("%s: %d examples of %d×%d×%d, %d classes", d.name, d.Len(), d.c, d.h, d.w, d.classes)
}

// Gather copies the examples named by idx, in order, into the batch buffers: example idx[k] goes
// to x[k*ExampleSize():(k+1)*ExampleSize()] and its label, as a float32 class index, to y[k].
// x must hold at least len(idx)·ExampleSize() values and y at least len(idx); anything past
// that is left untouched, so one full-size buffer serves a short last batch. Indices may repeat.
// Gather does not allocate (except to report an error) and checks every index before copying.
func (d *Dataset) Gather(idx []int, x, y []float32) error {
	es := d.ExampleSize()
	if len(x) < len(idx)*es {
		return fmt.Errorf("data: %s: Gather of %d examples needs x of %d values, got %d", d.name, len(idx), len(idx)*es, len(x))
	}
	if len(y) < len(idx) {
		return fmt.Errorf("data: %s: Gather of %d examples needs y of %d values, got %d", d.name, len(idx), len(idx), len(y))
	}
	n := d.Len()
	for k, i := range idx {
		if i < 0 || i >= n {
			return fmt.Errorf("data: %s: Gather index idx[%d] = %d is outside [0, %d)", d.name, k, i, n)
		}
	}
	for k, i := range idx {
		copy(x[k*es:(k+1)*es], d.pix[i*es:(i+1)*es])
		y[k] = float32(d.labels[i])
	}
	return nil
}

// Subset returns a new data set holding copies of the examples named by idx, in that order
// (indices may repeat). Its name is d's name with suffix "/subset".
func Subset(d *Dataset, idx []int) (*Dataset, error) {
	return subset(d, idx, d.name+"/subset")
}

func subset(d *Dataset, idx []int, name string) (*Dataset, error) {
	es := d.ExampleSize()
	total, ok := mulChecked(len(idx), es)
	if !ok {
		return nil, fmt.Errorf("data: %s: subset of %d examples is too large", d.name, len(idx))
	}
	pix := make([]float32, total)
	ys := make([]float32, len(idx))
	if err := d.Gather(idx, pix, ys); err != nil {
		return nil, err
	}
	labels := make([]int32, len(idx))
	for k, i := range idx {
		labels[k] = d.labels[i]
	}
	return New(name, pix, labels, d.c, d.h, d.w, d.classes)
}

// Split divides d into a training set and a held-out set of nHeldOut examples, chosen at random
// but reproducibly from seed:
//
//	perm := Permutation(d.Len(), rand.NewPCG(seed, 0))
//	heldOut = perm[:nHeldOut] sorted ascending; train = perm[nHeldOut:] sorted ascending
//
// Both sides keep d's original order, so the seed decides only which examples are held out.
// The LCA paper's MNIST split is Split(mnistTrain, 5000, 0): 55,000 train, 5,000 held out.
// The results are copies named d's name with "/train" and "/heldout" appended.
func Split(d *Dataset, nHeldOut int, seed uint64) (train, heldOut *Dataset, err error) {
	n := d.Len()
	if nHeldOut < 0 || nHeldOut > n {
		return nil, nil, fmt.Errorf("data: %s: cannot hold out %d of %d examples", d.name, nHeldOut, n)
	}
	rest, held := SplitIndices(n, nHeldOut, seed)
	if train, err = subset(d, rest, d.name+"/train"); err != nil {
		return nil, nil, err
	}
	if heldOut, err = subset(d, held, d.name+"/heldout"); err != nil {
		return nil, nil, err
	}
	return train, heldOut, nil
}

// SplitIndices is Split's choice for a data set of n examples: the positions of the examples
// kept for training and of those held out, each ascending. It panics unless 0 ≤ nHeldOut ≤ n.
func SplitIndices(n, nHeldOut int, seed uint64) (train, heldOut []int) {
	perm := Permutation(n, rand.NewPCG(seed, 0))
	held, rest := perm[:nHeldOut], perm[nHeldOut:]
	slices.Sort(held)
	slices.Sort(rest)
	return rest, held
}

// shuffleStream separates Shuffle's generator states from Split's (seed, 0); it is the 64-bit
// golden-ratio constant and has no other meaning.
const shuffleStream = 0x9E3779B97F4A7C15

// Shuffle returns the order in which the trainer visits n examples in the given epoch:
//
//	Permutation(n, rand.NewPCG(seed, 0x9E3779B97F4A7C15 ^ uint64(epoch)))
//
// It depends only on (n, seed, epoch), so a run resumed at epoch e recomputes the order it
// would have used. It returns an empty slice for n <= 0.
func Shuffle(n int, seed uint64, epoch int) []int {
	if n <= 0 {
		return []int{}
	}
	perm := make([]int, n)
	ShuffleInto(perm, seed, epoch)
	return perm
}

// ShuffleInto writes Shuffle(len(perm), seed, epoch) into perm without allocating.
func ShuffleInto(perm []int, seed uint64, epoch int) {
	// A PCG value and the concrete-typed copy of the algorithm below keep the generator off the
	// heap; through the rand.Source interface it would escape and allocate once per epoch.
	var src rand.PCG
	src.Seed(seed, shuffleStream^uint64(epoch))
	for i := range perm {
		perm[i] = i
	}
	for i := len(perm) - 1; i >= 1; i-- {
		j := uniformBelowPCG(&src, uint64(i)+1)
		perm[i], perm[j] = perm[j], perm[i]
	}
}

// Permutation returns a random permutation of 0..n-1 drawn from src (empty for n <= 0) by the
// Fisher–Yates shuffle of the identity:
//
//	for i := n-1; i >= 1; i-- { j := UniformBelow(src, i+1); swap(perm[i], perm[j]) }
//
// The algorithm uses only src.Uint64, whose output the PCG-DXSM definition fixes, and not
// math/rand/v2's Rand helpers, whose algorithms the standard library may change; so a
// permutation is reproducible across Go releases.
func Permutation(n int, src rand.Source) []int {
	if n <= 0 {
		return []int{}
	}
	perm := make([]int, n)
	permuteInto(perm, src)
	return perm
}

func permuteInto(perm []int, src rand.Source) {
	for i := range perm {
		perm[i] = i
	}
	for i := len(perm) - 1; i >= 1; i-- {
		j := UniformBelow(src, uint64(i)+1)
		perm[i], perm[j] = perm[j], perm[i]
	}
}

// UniformBelow returns an unbiased integer in [0, n) from src by Lemire's multiply-and-reject
// method ("Fast random integer generation in an interval", 2019): the high word of
// src.Uint64()·n, redrawing while the low word is below 2^64 mod n. It returns 0 for n == 0.
func UniformBelow(src rand.Source, n uint64) uint64 {
	if n == 0 {
		return 0
	}
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}

// uniformBelowPCG is UniformBelow for a concrete *rand.PCG (see ShuffleInto).
func uniformBelowPCG(src *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}

// uniform32 returns a float32 in [0, 1) with 24 random bits (every value is exact in float32).
func uniform32(src rand.Source) float32 {
	return float32(src.Uint64()>>40) * (1.0 / (1 << 24))
}

// syntheticStream separates Synthetic's generator from Split's and Shuffle's.
const syntheticStream = 0x53594E5448455449 // "SYNTHETI"

// Synthetic returns n examples of shape (c, h, w) in `classes` classes that a small model can
// learn: each class has a prototype image with pixels uniform in [0, 1); an example is its
// class's prototype plus independent noise uniform in [-0.25, 0.25) per pixel, clamped to
// [0, 1]; labels are uniform over the classes. Everything is drawn from
// rand.NewPCG(seed, 0x53594E5448455449): first the prototypes (class-major, pixel order), then
// per example its label (UniformBelow) and its noise, so the same arguments give the same data.
func Synthetic(n, c, h, w, classes int, seed uint64) (*Dataset, error) {
	if n <= 0 || c <= 0 || h <= 0 || w <= 0 || classes <= 0 {
		return nil, fmt.Errorf("data: Synthetic(n=%d, c=%d, h=%d, w=%d, classes=%d): every size must be positive", n, c, h, w, classes)
	}
	es, ok1 := mulChecked(c, h, w)
	total, ok2 := mulChecked(n, c, h, w)
	_, ok3 := mulChecked(classes, c, h, w)
	if !ok1 || !ok2 || !ok3 {
		return nil, errors.New("data: Synthetic: requested data set is too large")
	}
	src := rand.NewPCG(seed, syntheticStream)
	protos := make([]float32, classes*es)
	for i := range protos {
		protos[i] = uniform32(src)
	}
	pix := make([]float32, total)
	labels := make([]int32, n)
	for i := range n {
		l := int(UniformBelow(src, uint64(classes)))
		labels[i] = int32(l)
		p := protos[l*es : (l+1)*es]
		x := pix[i*es : (i+1)*es]
		for j := range x {
			v := p[j] + 0.5*uniform32(src) - 0.25
			x[j] = min(max(v, 0), 1)
		}
	}
	return New(fmt.Sprintf("synthetic-%d", seed), pix, labels, c, h, w, classes)
}
