package intdim

import (
	"fmt"
	"math"

	"github.com/gazeml/gaze/engine"
)

// The toy problem of the paper's §2: θ ∈ R^1000 in 10 groups of 100, and the loss asks the sum
// of group g to equal g+1. The constraints are 10 independent linear functions of θ, so a
// random subspace solves them all exactly when d ≥ 10 and cannot when d < 10: d_int = 10.
//
// It is an ordinary engine model: a Linear layer 100 → 10 without bias (weights [10, 100], row
// g = group g) applied to an all-ones input outputs the 10 group sums, and mean squared error
// against the targets 1…10 is the loss.
const (
	ToyGroups    = 10
	ToyGroupSize = 100
	// ToyTolerance: a group counts as solved when its sum is within this of its target.
	ToyTolerance = 0.01
)

// ToyModelName is the model (and data) name of the toy problem in sweeps.
const ToyModelName = "toy"

// NewToyModel builds the toy problem's model on dev.
func NewToyModel(dev engine.Device) (*engine.Model, error) {
	net := engine.NewSequential(ToyModelName, engine.NewLinear("groups", ToyGroups, false))
	return engine.NewModel(dev, ToyModelName, net, []int{ToyGroupSize}, engine.MeanSquaredError, 1)
}

// ToyData is the toy problem's one example: all-ones input, targets 1…10.
type ToyData struct{}

func (ToyData) Len() int         { return 1 }
func (ToyData) ExampleSize() int { return ToyGroupSize }
func (ToyData) TargetSize() int  { return ToyGroups }
func (ToyData) Gather(idx []int, x, y []float32) error {
	for n := range idx {
		for i := range ToyGroupSize {
			x[n*ToyGroupSize+i] = 1
		}
		for g := range ToyGroups {
			y[n*ToyGroups+g] = float32(g + 1)
		}
	}
	return nil
}

// ToyAccuracy is the fraction of groups whose sum is within ToyTolerance of its target, and the
// largest miss.
func ToyAccuracy(m *engine.Model) (acc, worst float64, err error) {
	if m.Arena.D != ToyGroups*ToyGroupSize {
		return 0, 0, fmt.Errorf("toy accuracy: model %s has %d parameters, not %d", m.Name, m.Arena.D, ToyGroups*ToyGroupSize)
	}
	theta := m.Theta()
	solved := 0
	for g := range ToyGroups {
		var s float64
		for _, v := range theta[g*ToyGroupSize : (g+1)*ToyGroupSize] {
			s += float64(v)
		}
		miss := math.Abs(s - float64(g+1))
		worst = max(worst, miss)
		if miss < ToyTolerance {
			solved++
		}
	}
	return float64(solved) / ToyGroups, worst, nil
}
