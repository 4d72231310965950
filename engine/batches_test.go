package engine_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/engine/models"
)

// recorder is a data set that remembers the indices of every Gather and can fail one.
type recorder struct {
	*data.Dataset
	calls  [][]int
	failAt int // 1-based Gather call that fails; 0 never
}

func (r *recorder) Gather(idx []int, x, y []float32) error {
	r.calls = append(r.calls, slices.Clone(idx))
	if len(r.calls) == r.failAt {
		return errors.New("disk on fire")
	}
	return r.Dataset.Gather(idx, x, y)
}

func batchesModel(t *testing.T) (*engine.Model, *data.Dataset) {
	t.Helper()
	ds, err := data.Synthetic(37, 1, 6, 6, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.New(cpu.New(), "mlp:36-8-3", []int{1, 6, 6}, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(4)
	return m, ds
}

// Batches visits every example once, in order, in chunks of the given size with a short last
// chunk; each staged chunk holds the data set's inputs and targets for those examples.
func TestBatchesChunksInOrder(t *testing.T) {
	m, ds := batchesModel(t)
	es := ds.ExampleSize()
	for _, tc := range []struct {
		chunk int
		sizes []int
	}{
		{16, []int{16, 16, 5}},
		{37, []int{37}},
		{100, []int{37}},
		{12, []int{12, 12, 12, 1}},
	} {
		rec := &recorder{Dataset: ds}
		it, err := m.Batches(rec, tc.chunk)
		if err != nil {
			t.Fatal(err)
		}
		var sizes []int
		next := 0
		for it.Next() {
			k := it.Len()
			sizes = append(sizes, k)
			if it.Start() != next {
				t.Errorf("chunk %d: staged chunk starts at %d, want %d", tc.chunk, it.Start(), next)
			}
			want := make([]int, k)
			for i := range want {
				want[i] = next + i
			}
			if got := rec.calls[len(rec.calls)-1]; !slices.Equal(got, want) {
				t.Errorf("chunk %d: gathered %v, want %v", tc.chunk, got, want)
			}
			// The targets are the labels of those examples.
			wantY := make([]float32, k)
			for i, l := range ds.Labels()[next : next+k] {
				wantY[i] = float32(l)
			}
			if !slices.Equal(it.Targets(), wantY) {
				t.Errorf("chunk %d at %d: targets %v, want %v", tc.chunk, next, it.Targets(), wantY)
			}
			// The staged inputs are the examples': the network's output on them equals its
			// output on the same inputs uploaded by Forward.
			out, err := it.Forward(engine.EvalMode)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, k*m.OutSize())
			m.Dev.Download(got, out.Buf)
			ref, err := m.Forward(ds.Images()[next*es:(next+k)*es], k, engine.EvalMode)
			if err != nil {
				t.Fatal(err)
			}
			want32 := make([]float32, k*m.OutSize())
			m.Dev.Download(want32, ref.Buf)
			if !slices.Equal(got, want32) {
				t.Errorf("chunk %d at %d: output on the staged chunk differs from Forward's", tc.chunk, next)
			}
			next += k
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sizes, tc.sizes) {
			t.Errorf("chunk %d: chunk sizes %v, want %v", tc.chunk, sizes, tc.sizes)
		}
		if it.Next() || it.Len() != 0 {
			t.Errorf("chunk %d: Next after the end stages %d examples", tc.chunk, it.Len())
		}
	}
}

// A failing Gather stops the walk and is reported by Err; bad arguments are refused up front.
func TestBatchesErrors(t *testing.T) {
	m, ds := batchesModel(t)
	rec := &recorder{Dataset: ds, failAt: 2}
	it, err := m.Batches(rec, 10)
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	for it.Next() {
		steps++
	}
	if steps != 1 || it.Err() == nil || !strings.Contains(it.Err().Error(), "disk on fire") {
		t.Errorf("Gather failing on the second chunk: %d chunks staged, Err %v", steps, it.Err())
	}
	if it.Next() || len(rec.calls) != 2 {
		t.Errorf("Next after an error gathered again (%d calls)", len(rec.calls))
	}
	if _, _, err := m.Evaluate(&recorder{Dataset: ds, failAt: 3}, 10, engine.EvalMode); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Evaluate over a failing data set: %v", err)
	}
	if _, err := m.Gradient(&recorder{Dataset: ds, failAt: 1}, 10, engine.EvalMode); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Gradient over a failing data set: %v", err)
	}

	if _, err := m.Batches(ds, 0); err == nil {
		t.Error("chunk 0: no error")
	}
	empty, err := data.Subset(ds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Batches(empty, 4); !errors.Is(err, engine.ErrEmpty) {
		t.Errorf("empty data set: %v, want ErrEmpty", err)
	}
	other, err := data.Synthetic(5, 1, 5, 5, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Batches(other, 4); err == nil {
		t.Error("examples of the wrong size: no error")
	}
}

// A pass over the data set allocates nothing once the model holds a batch of the chunk size.
func TestBatchesDoNotAllocate(t *testing.T) {
	m, ds := batchesModel(t)
	pass := func() {
		it, err := m.Batches(ds, 16)
		if err != nil {
			t.Fatal(err)
		}
		for it.Next() {
			if _, err := it.Forward(engine.EvalMode); err != nil {
				t.Fatal(err)
			}
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
	pass()
	if allocs := testing.AllocsPerRun(5, pass); allocs > 0 {
		t.Errorf("a pass allocates %.0f times", allocs)
	}
}
