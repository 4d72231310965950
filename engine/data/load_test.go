package data

import (
	"slices"
	"strings"
	"testing"
)

// Load's synthetic set is the documented recipe: one draw of N + N/5 examples (seed 1), the
// first draw of Split's permutation as the test set; then the held-out split, then TrainN.
func TestLoadSynthetic(t *testing.T) {
	all, err := Synthetic(60, 1, 3, 2, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantTest, wantTrain, err := Split(all, 50, 1)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Load(Spec{Name: "synthetic", Synthetic: "50x1x3x2", Classes: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.Train.Len() != 50 || l.Test.Len() != 10 || l.HeldOut != nil || !slices.Equal(l.Input, []int{1, 3, 2}) || l.Classes != 3 {
		t.Fatalf("loaded %d train, %d test, held-out %v, input %v, %d classes", l.Train.Len(), l.Test.Len(), l.HeldOut, l.Input, l.Classes)
	}
	if !slices.Equal(l.Train.Images(), wantTrain.Images()) || !slices.Equal(l.Test.Labels(), wantTest.Labels()) {
		t.Error("the synthetic split differs from Synthetic + Split")
	}

	l, err = Load(Spec{Name: "synthetic", Synthetic: "50x1x3x2", Classes: 3, HeldOut: 8, SplitSeed: 4, TrainN: 30}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rest, held, _ := Split(wantTrain, 8, 4)
	if !slices.Equal(l.HeldOut.Images(), held.Images()) {
		t.Error("the held-out split is not Split(train, 8, 4)")
	}
	if l.Train.Len() != 30 || !slices.Equal(l.Train.Images(), rest.Images()[:30*6]) || !slices.Equal(l.Train.Labels(), rest.Labels()[:30]) {
		t.Errorf("train-n 30 kept %d examples, not the first 30 after the held-out split", l.Train.Len())
	}
	// The index maps name each example's place in the training set before any split.
	if len(l.TrainIndex) != 30 || len(l.HeldOutIndex) != 8 {
		t.Fatalf("index maps of %d and %d entries", len(l.TrainIndex), len(l.HeldOutIndex))
	}
	es := wantTrain.ExampleSize()
	for _, side := range []struct {
		d   *Dataset
		idx []int
	}{{l.Train, l.TrainIndex}, {l.HeldOut, l.HeldOutIndex}} {
		for k, i := range side.idx {
			if !slices.Equal(side.d.Images()[k*es:(k+1)*es], wantTrain.Images()[i*es:(i+1)*es]) || side.d.Labels()[k] != wantTrain.Labels()[i] {
				t.Fatalf("example %d of %s is not example %d of the training set as loaded", k, side.d.Name(), i)
			}
		}
	}
	if l, err := Load(Spec{Name: "synthetic", Synthetic: "50x1x3x2", Classes: 3, TrainN: 500}, nil); err != nil || l.Train.Len() != 50 {
		t.Errorf("train-n beyond the set: %v", err)
	}
}

func TestLoadMNISTAndErrors(t *testing.T) {
	dir := t.TempDir()
	newFakeMNIST(5, 0, 4, 1, 9).write(t, dir, "train", true, "-")
	newFakeMNIST(7, 2, 1).write(t, dir, "t10k", true, "-")
	l, err := Load(Spec{Name: "mnist", Dir: dir, HeldOut: 2}, func(string, ...any) { t.Error("logged a fetch of MNIST that is there") })
	if err != nil {
		t.Fatal(err)
	}
	if l.Train.Len() != 3 || l.HeldOut.Len() != 2 || l.Test.Len() != 3 || l.Classes != 10 || !slices.Equal(l.Input, []int{1, 28, 28}) {
		t.Errorf("MNIST: %d train, %d held out, %d test, %d classes, input %v", l.Train.Len(), l.HeldOut.Len(), l.Test.Len(), l.Classes, l.Input)
	}
	for _, c := range []struct {
		spec Spec
		want string
	}{
		{Spec{Name: "imagenet"}, `unknown data set "imagenet" (want mnist, fashion-mnist, cifar10, synthetic)`},
		{Spec{Name: "synthetic", Synthetic: "10x1x8", Classes: 2}, `shape "10x1x8": want 4 sizes`},
		{Spec{Name: "synthetic", Synthetic: "10x0x8x8", Classes: 2}, `"0" is not a positive integer`},
		{Spec{Name: "synthetic", Synthetic: "10x1x8x8"}, "every size must be positive"},
		{Spec{Name: "synthetic", Synthetic: "10x1x8x8", Classes: 2, HeldOut: 11}, "cannot hold out 11 of 10"},
		{Spec{Name: "synthetic", Synthetic: "10x1x8x8", Classes: 2, HeldOut: -1}, "held-out size -1"},
		{Spec{Name: "cifar10", Dir: t.TempDir()}, "data_batch_1.bin"},
	} {
		_, err := Load(c.spec, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error containing %q", c.spec, err, c.want)
		}
	}
}
