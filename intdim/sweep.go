package intdim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/engine/models"
	"github.com/gazeml/gaze/internal/crashpoint"
	"github.com/gazeml/gaze/internal/rundir"
)

// Spec defines a sweep: every (d, seed) point and the directly trained baseline of every seed
// share these settings. It is saved as sweep.json in the sweep's folder; a folder's points
// belong to its spec, and a spec that differs (in anything but Dims and Seeds, which may grow)
// is refused.
type Spec struct {
	Model     string           `json:"model"`
	Data      string           `json:"data"`                // mnist, fashion-mnist, cifar10, synthetic, or toy (with --model toy)
	Synthetic string           `json:"synthetic,omitempty"` // NxCxHxW for synthetic data
	Classes   int              `json:"classes,omitempty"`   // classes of synthetic data
	TrainN    int              `json:"train_n,omitempty"`   // use only the first TrainN training examples (0: all)
	Proj      string           `json:"proj"`
	Dims      []int            `json:"dims"`
	Seeds     int              `json:"seeds"`
	Opt       engine.OptConfig `json:"optimizer"`
	Batch     int              `json:"batch"`
	Epochs    int              `json:"epochs"`
	L2        float64          `json:"l2,omitempty"`
	// BaselineLR, when set, replaces the learning rate of the directly trained baseline: a
	// subspace's directions are unit vectors spread over all D parameters, so the curvature it
	// sees (and the stable learning rate) can differ widely from the full network's.
	BaselineLR float64 `json:"baseline_lr,omitempty"`
	EvalBatch  int     `json:"eval_batch,omitempty"`
	// Global is the fixed baseline accuracy of d_int90's first definition (1.0 for MNIST; for
	// cart-pole 1.0 is the best return, 500).
	Global float64 `json:"global_baseline"`
	// ES holds the evolution-strategies settings of the cart-pole model, whose points are
	// trained by ES (es.go) rather than by gradient descent: Batch is then the population size
	// and Epochs the number of generations. Nil for every other model.
	ES *ESSpec `json:"es,omitempty"`
}

// Validate reports an impossible spec (d against D is checked once the model is built).
func (s *Spec) Validate() error {
	if s.Model == CartPoleModelName {
		if s.Data == "" {
			s.Data = CartPoleModelName
		}
		if s.Data != CartPoleModelName {
			return fmt.Errorf("the cart-pole model takes --data cartpole (its environment), not %q", s.Data)
		}
		if err := s.ES.validate(s.Batch); err != nil {
			return err
		}
		if s.L2 != 0 {
			return fmt.Errorf("--l2 %v: evolution strategies on cart-pole use no L2 penalty", s.L2)
		}
	} else if s.ES != nil {
		return fmt.Errorf("evolution-strategies settings go with --model cartpole, not %s", s.Model)
	}
	if s.Model == ToyModelName {
		if s.Data == "" {
			s.Data = ToyModelName
		}
		if s.Data != ToyModelName {
			return fmt.Errorf("the toy model takes --data toy, not %q", s.Data)
		}
	}
	switch s.Data {
	case "mnist", "fashion-mnist", "cifar10", "synthetic", ToyModelName, CartPoleModelName:
	default:
		return fmt.Errorf("unknown data set %q (want mnist, fashion-mnist, cifar10, synthetic, toy or cartpole)", s.Data)
	}
	if s.Data == ToyModelName && s.Model != ToyModelName {
		return fmt.Errorf("--data toy goes with --model toy")
	}
	if s.Data == CartPoleModelName && s.Model != CartPoleModelName {
		return fmt.Errorf("--data cartpole goes with --model cartpole")
	}
	if !slices.Contains(Kinds, s.Proj) {
		return fmt.Errorf("unknown projection %q (want %s)", s.Proj, strings.Join(Kinds, ", "))
	}
	if len(s.Dims) == 0 {
		return errors.New("the sweep has no subspace dimensions (--dims 10,100,1000)")
	}
	seen := map[int]bool{}
	for _, d := range s.Dims {
		if d <= 0 {
			return fmt.Errorf("subspace dimension %d must be ≥ 1", d)
		}
		if seen[d] {
			return fmt.Errorf("subspace dimension %d is listed twice", d)
		}
		seen[d] = true
	}
	if s.Seeds < 1 {
		return fmt.Errorf("--seeds %d must be ≥ 1", s.Seeds)
	}
	if s.Batch < 1 || s.Epochs < 1 {
		return fmt.Errorf("batch %d and epochs %d must be ≥ 1", s.Batch, s.Epochs)
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !(s.L2 >= 0) || !finite(s.L2):
		return fmt.Errorf("--l2 %v must be a finite number ≥ 0", s.L2)
	case s.TrainN < 0:
		return fmt.Errorf("--train-n %d must be ≥ 0", s.TrainN)
	case !(s.BaselineLR >= 0) || !finite(s.BaselineLR):
		return fmt.Errorf("--baseline-lr %v must be a finite number ≥ 0", s.BaselineLR)
	}
	if !(s.Global > 0 && s.Global <= 1) {
		return fmt.Errorf("global baseline %v must be in (0, 1]", s.Global)
	}
	return s.Opt.Validate()
}

// Point is one job of a sweep: the baseline of a seed (Dim 0) or a (d, seed) subspace run.
type Point struct {
	Index    int  `json:"index"`
	Baseline bool `json:"baseline"`
	Dim      int  `json:"d"`
	Seed     int  `json:"seed"`
}

// Name is the point's file name stem: baseline-s0, d750-s2.
func (p Point) Name() string {
	if p.Baseline {
		return fmt.Sprintf("baseline-s%d", p.Seed)
	}
	return fmt.Sprintf("d%d-s%d", p.Dim, p.Seed)
}

// Points lists the sweep's points in index order: the Seeds baselines first (the longest jobs
// of a GPU sweep start first), then the dims in the order given, each over seeds 0 … Seeds−1.
// Index k ≥ Seeds is dims[(k−Seeds)/Seeds] with seed (k−Seeds)%Seeds.
func (s Spec) Points() []Point {
	out := make([]Point, 0, s.Seeds*(len(s.Dims)+1))
	for seed := range s.Seeds {
		out = append(out, Point{Index: len(out), Baseline: true, Seed: seed})
	}
	for _, d := range s.Dims {
		for seed := range s.Seeds {
			out = append(out, Point{Index: len(out), Dim: d, Seed: seed})
		}
	}
	return out
}

// Point returns point k, or an error naming the valid range.
func (s Spec) Point(k int) (Point, error) {
	n := s.Seeds * (len(s.Dims) + 1)
	if k < 0 || k >= n {
		return Point{}, fmt.Errorf("point index %d is outside the sweep's %d points (0 … %d)", k, n, n-1)
	}
	if k < s.Seeds {
		return Point{Index: k, Baseline: true, Seed: k}, nil
	}
	j := k - s.Seeds
	return Point{Index: k, Dim: s.Dims[j/s.Seeds], Seed: j % s.Seeds}, nil
}

// NumPoints is the number of points (jobs) of the sweep.
func (s Spec) NumPoints() int { return s.Seeds * (len(s.Dims) + 1) }

// key is the spec without what may change between invocations on one folder.
func (s Spec) key() Spec {
	s.Dims, s.Seeds = nil, 0
	return s
}

const specFile = "sweep.json"

// LoadSpec reads a sweep folder's spec.
func LoadSpec(dir string) (Spec, error) {
	var s Spec
	if err := rundir.ReadConfig(dir, sweepLayout, &s); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return s, fmt.Errorf("%s holds no sweep (no %s; create one with gaze intdim sweep --out %s)", dir, specFile, dir)
		}
		return s, err
	}
	return s, s.Validate()
}

// InitSweep creates dir for spec, or checks that the sweep already there is the same one
// (Dims and Seeds may change: points are files named by d and seed, so finished ones are
// reused and never rerun), field by field, and records spec.
func InitSweep(dir string, spec Spec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	r, err := rundir.Continue(dir, sweepLayout, spec)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := os.MkdirAll(filepath.Join(dir, "points"), 0o755); err != nil {
		return fmt.Errorf("sweep folder: %w", err)
	}
	return r.WriteConfig(spec)
}

// Result is what a point leaves in points/NAME.json.
type Result struct {
	Point
	Status    string             `json:"status"` // "ok" or "failed"
	Reason    string             `json:"reason,omitempty"`
	Model     string             `json:"model"`
	Proj      string             `json:"proj,omitempty"`
	D         int                `json:"D"`
	ProjBytes int64              `json:"proj_bytes,omitempty"`
	TestAcc   float64            `json:"test_acc"`  // toy: the fraction of groups solved (ToyAccuracy); cartpole: Return/500
	TestLoss  float64            `json:"test_loss"` // toy: the largest |group sum − target|
	TrainLoss float64            `json:"train_loss"`
	Epochs    int                `json:"epochs"`
	Iters     int                `json:"iters"`
	Seconds   float64            `json:"seconds"`
	Device    string             `json:"device"`
	Finished  time.Time          `json:"finished"`
	History   []engine.EpochInfo `json:"history,omitempty"`
	Spec      Spec               `json:"spec"` // the sweep key it ran under (Dims, Seeds cleared)
	// Cart-pole: the final policy's mean return over the evaluation episodes, and each
	// generation's population returns.
	Return      float64        `json:"return,omitempty"`
	Generations []ESGeneration `json:"generations,omitempty"`
}

// Status values.
const (
	StatusOK     = "ok"
	StatusFailed = "failed"
)

// Options are how a sweep's points run here; they do not change results.
type Options struct {
	Device      string // engine device name (default cpu)
	DataDir     string // where data sets live
	Parallel    int    // points at once (Sweep)
	RetryFailed bool   // rerun failed points (their old file is kept as NAME.failed-TIME.json)
	MemLimit    int64  // projection memory limit in bytes (0: none)
	Workers     int    // goroutines evaluating an ES population (0: GOMAXPROCS)
	Log         func(format string, args ...any)

	afterGeneration func(gen int) // tests: called after each ES generation is checkpointed
}

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		o.Log(format, args...)
	}
}

// loadedData is a sweep's data, loaded once and shared read-only by its points.
type loadedData struct {
	train, test engine.Examples
	in          []int
	classes     int
}

func loadData(spec Spec, dir string, logf func(string, ...any)) (*loadedData, error) {
	if spec.Data == ToyModelName {
		return &loadedData{train: ToyData{}, in: []int{ToyGroupSize}}, nil
	}
	if spec.Data == CartPoleModelName {
		return &loadedData{in: []int{cartPoleWidths[0]}}, nil // the environment is the data
	}
	// Sweeps have always read fewer than two synthetic classes as two.
	l, err := data.Load(data.Spec{Name: spec.Data, Dir: dir, Synthetic: spec.Synthetic, Classes: max(spec.Classes, 2), TrainN: spec.TrainN}, logf)
	if err != nil {
		return nil, err
	}
	return &loadedData{train: l.Train, test: l.Test, in: l.Input, classes: l.Classes}, nil
}

// newModel builds and initialises the spec's model for a seed.
func newModel(dev engine.Device, spec Spec, ld *loadedData) (*engine.Model, error) {
	var m *engine.Model
	var err error
	switch spec.Model {
	case ToyModelName:
		m, err = NewToyModel(dev)
	case CartPoleModelName:
		m, err = NewCartPoleModel(dev)
	default:
		m, err = models.New(dev, spec.Model, ld.in, ld.classes, min(spec.Batch, ld.train.Len()))
	}
	if err != nil {
		return nil, err
	}
	m.L2 = spec.L2
	return m, nil
}

// projConfig is the projection of a point: its seed names a stream per (seed, d), so points
// are independent draws.
func projConfig(spec Spec, p Point, m *engine.Model, limit int64) ProjConfig {
	_, starts, ends := m.Arena.LayerSegments()
	return ProjConfig{Kind: spec.Proj, D: m.Arena.D, Dim: p.Dim, Seed: mix(uint64(p.Seed), uint64(p.Dim)),
		Starts: starts, Ends: ends, MemLimit: limit}
}

// mix is SplitMix64's finaliser over two words.
func mix(a, b uint64) uint64 {
	z := a*0x9e3779b97f4a7c15 ^ (b + 0x632be59bd9b4e019)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func pointPath(dir string, p Point) string {
	return filepath.Join(dir, "points", p.Name()+".json")
}

// ReadResult reads a point's result file; ok is false when the point has none.
func ReadResult(dir string, p Point) (r Result, ok bool, err error) {
	b, err := os.ReadFile(pointPath(dir, p))
	if errors.Is(err, fs.ErrNotExist) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, false, fmt.Errorf("%s: %w", pointPath(dir, p), err)
	}
	return r, true, nil
}

// RunPoint runs point k of the sweep in dir unless it is finished (its result is returned with
// skipped true). A diverging run is recorded as failed with the reason and is not an error.
func RunPoint(ctx context.Context, dir string, k int, opt Options) (res Result, skipped bool, err error) {
	spec, err := LoadSpec(dir)
	if err != nil {
		return res, false, err
	}
	return runPoint(ctx, dir, spec, k, opt, nil)
}

func runPoint(ctx context.Context, dir string, spec Spec, k int, opt Options, ld *loadedData) (res Result, skipped bool, err error) {
	p, err := spec.Point(k)
	if err != nil {
		return res, false, err
	}
	// One process per point (the points of a sweep run as separate jobs sharing its folder):
	// a job retried while the first still runs is refused, naming it.
	lock, err := rundir.AcquireLock(strings.TrimSuffix(pointPath(dir, p), ".json")+".lock", fmt.Sprintf("point %d (%s) of %s", p.Index, p.Name(), dir))
	if err != nil {
		return res, false, err
	}
	defer func() { err = errors.Join(err, lock.Release()) }()
	if old, done, err := previousResult(dir, p, opt.RetryFailed); err != nil || done {
		return old, done, err
	}
	if spec.Model == CartPoleModelName {
		res, err := runESPoint(ctx, dir, spec, p, opt)
		return res, false, err
	}
	if ld == nil {
		if ld, err = loadData(spec, opt.DataDir, opt.logf); err != nil {
			return res, false, err
		}
	}
	pt, err := newPointTraining(dir, spec, p, opt, ld)
	if err != nil {
		return res, false, err
	}
	defer pt.close()
	if err := pt.resume(opt.logf); err != nil {
		return pt.res, false, err
	}
	if err := pt.train(ctx, opt.logf); err != nil {
		return pt.res, false, err
	}
	if err := pt.save(dir); err != nil {
		return pt.res, false, err
	}
	return pt.res, false, nil
}

// previousResult returns a point's finished result (done). A failed one is kept beside, as
// NAME.failed-TIME.json, when failed points are retried, and returned as done otherwise.
func previousResult(dir string, p Point, retryFailed bool) (old Result, done bool, err error) {
	old, ok, err := ReadResult(dir, p)
	if err != nil || !ok {
		return Result{}, false, err
	}
	if old.Status == StatusOK || !retryFailed {
		return old, true, nil
	}
	keep := strings.TrimSuffix(pointPath(dir, p), ".json") + ".failed-" + old.Finished.UTC().Format("20060102T150405") + ".json"
	if err := os.Rename(pointPath(dir, p), keep); err != nil {
		return Result{}, false, err
	}
	return Result{}, false, nil
}

// pointTraining is one point set up to train: its model, the optimizer over θ (a baseline) or
// over the subspace's variables, the trainer, the result so far, and the files beside the result.
type pointTraining struct {
	spec    Spec
	p       Point
	m       *engine.Model
	tr      *engine.Trainer
	res     Result
	ck      string   // checkpoint; none for the toy model, whose epoch is one step
	hist    string   // the epochs finished before an interruption
	closers []func() // what close frees, in the order of allocation
}

// newPointTraining builds point p on the options' device: the model initialised from the
// point's seed, its projection and subspace unless p is a baseline, the optimizer and trainer.
func newPointTraining(dir string, spec Spec, p Point, opt Options, ld *loadedData) (_ *pointTraining, err error) {
	devName := cmpOr(opt.Device, "cpu")
	dev, err := engine.Open(devName)
	if err != nil {
		return nil, err
	}
	pt := &pointTraining{spec: spec, p: p}
	defer func() {
		if err != nil {
			pt.close()
		}
	}()
	m, err := newModel(dev, spec, ld)
	if err != nil {
		return nil, err
	}
	pt.m, pt.closers = m, append(pt.closers, m.Close)
	m.Init(uint64(p.Seed))
	pt.res = Result{Point: p, Model: spec.Model, D: m.Arena.D, Device: devName, Epochs: spec.Epochs, Spec: spec.key()}
	arena := m.Arena
	var sub *Subspace
	if !p.Baseline {
		if sub, err = pt.subspace(opt.MemLimit); err != nil {
			return nil, err
		}
		arena = sub.VarArena()
	}
	oc := spec.Opt
	if p.Baseline && spec.BaselineLR > 0 {
		oc.LR = spec.BaselineLR
	}
	o, err := engine.NewOptimizer(dev, arena, oc)
	if err != nil {
		return nil, err
	}
	pt.closers = append(pt.closers, o.Close)
	if spec.Model != ToyModelName { // the toy's epoch is one step: a checkpoint per step would dominate
		pt.ck = strings.TrimSuffix(pointPath(dir, p), ".json") + ".ckpt"
	}
	pt.hist = strings.TrimSuffix(pointPath(dir, p), ".json") + ".epochs.json"
	if pt.tr, err = engine.NewTrainer(m, o, ld.train, ld.test, engine.TrainConfig{Epochs: spec.Epochs, Batch: spec.Batch,
		Seed: uint64(p.Seed), EvalBatch: spec.EvalBatch, Checkpoint: pt.ck}); err != nil {
		return nil, err
	}
	if sub != nil {
		pt.tr.Reparam = sub
	}
	return pt, nil
}

// subspace draws the point's projection and wraps the model in the subspace θ = θ₀ + P·θ_d.
func (pt *pointTraining) subspace(memLimit int64) (*Subspace, error) {
	pt.res.Proj = pt.spec.Proj
	proj, err := NewProjection(pt.m.Dev, projConfig(pt.spec, pt.p, pt.m, memLimit))
	if err != nil {
		return nil, fmt.Errorf("point %d (%s): %w", pt.p.Index, pt.p.Name(), err)
	}
	pt.closers = append(pt.closers, proj.Close)
	pt.res.ProjBytes = proj.Bytes()
	sub, err := NewSubspace(pt.m, proj)
	if err != nil {
		return nil, err
	}
	pt.closers = append(pt.closers, sub.Close)
	return sub, nil
}

// close frees the point's device state, last allocated first.
func (pt *pointTraining) close() {
	for i := len(pt.closers) - 1; i >= 0; i-- {
		pt.closers[i]()
	}
	pt.closers = nil
}

// resume continues from the point's checkpoint, if an interrupted run left one, with the epochs
// it had finished.
func (pt *pointTraining) resume(logf func(string, ...any)) error {
	if pt.ck == "" {
		return nil
	}
	if _, err := os.Stat(pt.ck); err != nil {
		return nil
	}
	if err := pt.tr.LoadCheckpoint(pt.ck); err != nil {
		return err
	}
	if b, err := os.ReadFile(pt.hist); err == nil {
		if err := json.Unmarshal(b, &pt.res.History); err != nil {
			return fmt.Errorf("%s: %w", pt.hist, err)
		}
	}
	pt.res.History = slices.DeleteFunc(pt.res.History, func(e engine.EpochInfo) bool { return e.Iter > pt.tr.Iter })
	logf("%s: resuming at iteration %d of %d", pt.p.Name(), pt.tr.Iter, pt.tr.TotalSteps())
	return nil
}

// train runs the trainer to the end, recording every epoch (beside the checkpoint too, for a
// resumed run), and sets the result's outcome.
// progressEvery is how often a running point logs its epoch and ETA (its first epoch always).
var progressEvery = 30 * time.Second

func (pt *pointTraining) train(ctx context.Context, logf func(string, ...any)) error {
	res := &pt.res
	var last time.Time
	var secs float64 // of the epochs run in this process, for the ETA
	var n int
	pt.tr.OnEpoch = func(e engine.EpochInfo) error {
		res.History = append(res.History, e)
		secs, n = secs+e.Seconds, n+1
		if e.Epoch < pt.spec.Epochs && (n == 1 || time.Since(last) >= progressEvery) {
			last = time.Now()
			left := time.Duration(secs / float64(n) * float64(pt.spec.Epochs-e.Epoch) * float64(time.Second))
			logf("point %d %s: epoch %d/%d, test accuracy %.4f, %.1f s an epoch, ETA %s",
				pt.p.Index, pt.p.Name(), e.Epoch, pt.spec.Epochs, e.TestAcc, secs/float64(n), left.Round(time.Second))
		}
		if pt.ck == "" {
			return nil
		}
		b, _ := json.Marshal(res.History)
		return rundir.WriteFileAtomic(pt.hist, b)
	}
	start := time.Now()
	err := pt.tr.Run(ctx)
	res.Seconds = time.Since(start).Seconds()
	res.Iters = pt.tr.Iter
	return pt.outcome(err)
}

// outcome records how the trainer's run ended: ok with the last epoch's numbers (the toy model's
// accuracy on its own terms), or failed with the reason when the loss diverged; any other error
// is returned.
func (pt *pointTraining) outcome(err error) error {
	res := &pt.res
	var div *engine.DivergedError
	switch {
	case errors.As(err, &div):
		res.Status, res.Reason = StatusFailed, err.Error()
	case err != nil:
		return fmt.Errorf("point %d (%s): %w", pt.p.Index, pt.p.Name(), err)
	default:
		res.Status = StatusOK
		if n := len(res.History); n > 0 {
			last := res.History[n-1]
			res.TestAcc, res.TestLoss, res.TrainLoss = last.TestAcc, last.TestLoss, last.TrainLoss
		}
		if pt.spec.Model == ToyModelName {
			acc, worst, err := ToyAccuracy(pt.m)
			if err != nil {
				return err
			}
			res.TestAcc, res.TestLoss = acc, worst
			res.History = res.History[max(len(res.History)-1, 0):] // one entry per step is noise
		}
	}
	return nil
}

// save writes the point's result file, which must not exist yet, and removes the checkpoint and
// epoch history it no longer needs.
func (pt *pointTraining) save(dir string) error {
	pt.res.Finished = time.Now().UTC()
	b, _ := json.MarshalIndent(pt.res, "", "  ")
	if err := rundir.WriteNew(pointPath(dir, pt.p), append(b, '\n')); err != nil {
		return err
	}
	crashpoint.Hit("point-saved")
	if pt.ck != "" {
		os.Remove(pt.ck)
		os.Remove(pt.hist)
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// preflight builds the model once and checks every point's projection (d ≤ D, memory), so a
// sweep fails before it starts rather than at its hundredth point.
func preflight(spec Spec, opt Options, ld *loadedData) (D int, err error) {
	devName := cmpOr(opt.Device, "cpu")
	if spec.Model == CartPoleModelName {
		devName = "cpu" // ES runs its points on the CPU whatever --device says
	}
	dev, err := engine.Open(devName)
	if err != nil {
		return 0, err
	}
	m, err := newModel(dev, spec, ld)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	for _, p := range spec.Points() {
		if p.Baseline {
			continue
		}
		if err := projConfig(spec, p, m, opt.MemLimit).Validate(); err != nil {
			return 0, fmt.Errorf("point %d (%s): %w", p.Index, p.Name(), err)
		}
	}
	return m.Arena.D, nil
}

// SweepStats counts what a Sweep did.
type SweepStats struct {
	Ran, Skipped, Failed int
	Elsewhere            int // points another process was running (its lock held): left to it
	Seconds              float64
}

// Sweep runs every unfinished point of spec in dir, opt.Parallel at a time. A point that
// diverges is recorded as failed and the sweep goes on; a point whose lock another process holds
// (a second sweep on the same folder, a cluster job) is left to that process and counted in
// Elsewhere; any other error stops it (running points finish or checkpoint first). The spec is checked against the data and the model
// (every d ≤ D, the projections' memory) before the folder is created.
func Sweep(ctx context.Context, dir string, spec Spec, opt Options) (SweepStats, error) {
	var st SweepStats
	if err := spec.Validate(); err != nil {
		return st, err
	}
	ld, err := loadData(spec, opt.DataDir, opt.logf)
	if err != nil {
		return st, err
	}
	D, err := preflight(spec, opt, ld)
	if err != nil {
		return st, err
	}
	if err := InitSweep(dir, spec); err != nil {
		return st, err
	}
	pts := spec.Points()
	opt.logf("sweep %s: %s (D = %d) on %s, %s projection, %d points (%d dims × %d seeds + %d baselines), %d at a time",
		dir, spec.Model, D, spec.Data, spec.Proj, len(pts), len(spec.Dims), spec.Seeds, spec.Seeds, max(opt.Parallel, 1))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	next := make(chan int)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range max(opt.Parallel, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				r, skipped, err := runPoint(ctx, dir, spec, k, opt, ld)
				mu.Lock()
				var locked *rundir.LockedError
				switch {
				case errors.As(err, &locked):
					// Several sweeps over one folder share its points this way: each takes the
					// next point nobody holds, and rerunning any of them finishes the rest.
					st.Elsewhere++
					opt.logf("point %d: running in %s; left to it", k, locked.Holder)
				case err != nil:
					errs = append(errs, err)
					cancel()
				case skipped:
					st.Skipped++
				default:
					st.Ran++
					if r.Status == StatusFailed {
						st.Failed++
						opt.logf("point %d %s FAILED: %s", k, r.Name(), r.Reason)
					} else {
						opt.logf("point %d %s: accuracy %.4f (%.1f s)", k, r.Name(), r.TestAcc, r.Seconds)
					}
					// The sweep's ETA from the points run so far, as if every point not yet
					// reached still had to run (some may turn out done or held elsewhere).
					left := len(pts) - st.Ran - st.Skipped - st.Elsewhere
					if left > 0 {
						eta := time.Duration(time.Since(start).Seconds() / float64(st.Ran) * float64(left) * float64(time.Second))
						opt.logf("sweep: %d of %d points run here (%d found done, %d left to other processes), %d to go: ETA %s at most",
							st.Ran, len(pts), st.Skipped, st.Elsewhere, left, eta.Round(time.Second))
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, p := range pts {
		select {
		case next <- p.Index:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	st.Seconds = time.Since(start).Seconds()
	if len(errs) > 0 {
		return st, errors.Join(errs...)
	}
	return st, ctx.Err()
}

// Collect reads the results of every point of the sweep in dir, merging in the point files of
// the other folders first (sweeps split across machines); a point already present is never
// replaced, and folders of another sweep are refused. It returns the results in index order
// and the indices still missing.
func Collect(dir string, from ...string) (spec Spec, results []Result, missing []int, err error) {
	if spec, err = LoadSpec(dir); err != nil {
		return spec, nil, nil, err
	}
	for _, f := range from {
		other, err := LoadSpec(f)
		if err != nil {
			return spec, nil, nil, err
		}
		if diffs, err := sameSweep(other, spec); err != nil || len(diffs) > 0 {
			return spec, nil, nil, fmt.Errorf("%s is another sweep than %s: %w", f, dir, errors.Join(err, diffError(diffs)))
		}
		for _, p := range spec.Points() {
			if _, ok, _ := ReadResult(dir, p); ok {
				continue
			}
			b, err := os.ReadFile(pointPath(f, p))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return spec, nil, nil, err
			}
			if err := rundir.WriteNew(pointPath(dir, p), b); err != nil {
				return spec, nil, nil, err
			}
		}
	}
	for _, p := range spec.Points() {
		r, ok, err := ReadResult(dir, p)
		if err != nil {
			return spec, nil, nil, err
		}
		if !ok {
			missing = append(missing, p.Index)
			continue
		}
		saved, want := r.Spec, spec
		if p.Baseline {
			// A baseline trains θ itself: the projection plays no part in it, so sweeps that
			// differ only in P may share baselines (copy points/baseline-s*.json across).
			saved.Proj, want.Proj = "", ""
		}
		if diffs, err := sameSweep(saved, want); err != nil || len(diffs) > 0 {
			return spec, nil, nil, fmt.Errorf("%s was run under another spec than %s's: %w", pointPath(dir, p), dir, errors.Join(err, diffError(diffs)))
		}
		r.Point = p // indices follow the current spec
		results = append(results, r)
	}
	sort.Slice(results, func(i, j int) bool { return results[i].Index < results[j].Index })
	return spec, results, missing, nil
}
