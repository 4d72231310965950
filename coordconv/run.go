package coordconv

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/rundir"
)

// Config is one experiment: a task, a split, a model and its training recipe, run for each seed.
type Config struct {
	Task      Task    `json:"task"`
	Split     string  `json:"split"`      // uniform or quadrant
	TestFrac  float64 `json:"test_frac"`  // uniform split's test fraction (0.2 in the paper)
	SplitSeed uint64  `json:"split_seed"` // uniform split's draw
	Model     string  `json:"model"`      // coordconv or conv
	// Recipe, for the CoordConv models, is "paper", the paper's code exactly, or "gaze"
	// (WithRecipe says how they differ). The conv baselines have one recipe and Recipe is
	// empty, as it was for every model but the regressor before the others had two (so those
	// folders resume with the build that wrote them).
	Recipe string       `json:"recipe,omitempty"`
	Opts   ModelOptions `json:"opts"`
	LR     float64      `json:"lr"`
	// LRMilestones are the epochs (0-based: from epoch m+1 on) at which the learning rate is
	// multiplied by LRGamma (0: 0.1), as gaze train's --lr-milestones.
	LRMilestones []int    `json:"lr_milestones,omitempty"`
	LRGamma      float64  `json:"lr_gamma,omitempty"`
	Beta2        float64  `json:"beta2"` // Adam β2: the paper's code uses 0.99
	L2           float64  `json:"l2"`    // penalty L2/2·Σw² on weights, as tf l2_regularizer
	Batch        int      `json:"batch"`
	Epochs       int      `json:"epochs"`
	Seeds        []uint64 `json:"seeds"`
	// StopPerfect ends a seed's run at the first epoch whose train and test metrics are perfect
	// (accuracy 1 or IOU 1): nothing is left to improve, and the "time to best" is then
	// the time to that epoch.
	StopPerfect bool `json:"stop_perfect"`
	// Subsample, when positive, keeps every Subsample-th centre of each set (fast tests).
	Subsample int `json:"subsample,omitempty"`
}

// Recipes are the values of Config.Recipe.
var Recipes = []string{"paper", "gaze"}

// RegressorMilestones is gaze's learning-rate schedule for the CoordConv regressor: lr ×0.1
// after epochs 2, 4 and 6. From the hot-pixel initialisation the regressor is within 0.01 px
// after one or two epochs at the paper's lr 0.01; left there, Adam (β2 0.99) forgets its
// second moments once the gradients vanish and jumps away again by pixels.
var RegressorMilestones = []int{2, 4, 6}

// Gaze's renderer recipe (WithRecipe): the painter detached and trained by the centre loss of
// weight RenderInterm, a softmax gain of RenderGain (temperature 1/4096: the rendering
// convolutions see the one-hot of the painter's maximum) and L2 RenderL2.
const (
	RenderInterm = 1
	RenderGain   = 4096
	// RenderL2 is far below the paper's 1e-3: the data loss is the mean over 4,096 pixels, so a
	// square's four corner pixels weigh 1/1,024 of an example's loss, and at 1e-3 the penalty
	// on the rendering convolutions' weights outweighs them (the square is drawn without its
	// corners: IOU 77/81 = 0.9506 with every centre found).
	RenderL2 = 1e-5
)

// WithRecipe returns the configuration with the named recipe's options, initialisation and
// schedule. The CoordConv models have two: "paper", the paper's code exactly, and "gaze",
// which differs as follows. Classification: the painter reads its input coordinates scaled to
// [−1, 1] (NormCoords). Rendering: the same, plus the centre loss (weight RenderInterm) as the
// painter's only teacher (Detach), softmax gain RenderGain, L2 RenderL2 and the output bias at
// the background's log-odds (BackgroundBias). Regression: the hot-pixel initialisation and lr ×0.1
// after RegressorMilestones. The conv baselines have one recipe, and Recipe is empty.
func (c Config) WithRecipe(recipe string) Config {
	c.Recipe, c.LRMilestones, c.LRGamma = "", nil, 0
	if c.Model != "coordconv" {
		return c
	}
	c.Recipe = recipe
	gaze := recipe == "gaze"
	switch c.Task {
	case Regression:
		if gaze {
			c.LRMilestones, c.LRGamma = append([]int(nil), RegressorMilestones...), 0.1
		}
	case Classification:
		c.Opts.NormCoords = gaze
	case Rendering:
		c.Opts.NormCoords, c.Opts.Detach, c.Opts.BackgroundBias = gaze, gaze, gaze
		c.Opts.Interm, c.Opts.Gain, c.L2 = 0, 0, 1e-3
		if gaze {
			c.Opts.Interm, c.Opts.Gain, c.L2 = RenderInterm, RenderGain, RenderL2
		}
	}
	return c
}

// Defaults returns gaze's recipe for a task and model (WithRecipe("paper") gives the paper's),
// which starts from the recipe of the paper's code: Adam with β2 = 0.99,
// minibatch 16, He-normal initialisation, and the learning rate, L2 and epoch budget of the
// authors' experiment scripts (classification and rendering: CoordConv lr 0.005, deconv 0.002,
// l2 1e-3; regression: CoordConv lr 0.01, l2 1e-5, conv lr 0.001, l2 1e-4, 100 epochs).
func Defaults(task Task, model string) Config {
	c := Config{Task: task, Model: model, Split: "uniform", TestFrac: 0.2, Beta2: 0.99, Batch: 16, StopPerfect: true}
	switch {
	case task == Classification && model == "coordconv":
		c.LR, c.L2, c.Epochs = 0.005, 1e-3, 50
	case task == Classification:
		c.LR, c.L2, c.Epochs = 0.002, 1e-3, 60
	case task == Regression && model == "coordconv":
		c.LR, c.L2, c.Epochs = 0.01, 1e-5, 100
	case task == Regression:
		c.LR, c.L2, c.Epochs = 0.001, 1e-4, 100
	case task == Rendering && model == "coordconv":
		c.LR, c.L2, c.Epochs = 0.005, 1e-3, 50
	default:
		c.LR, c.L2, c.Epochs = 0.002, 1e-3, 60
	}
	return c.WithRecipe("gaze")
}

// Metric describes a task's metric.
type Metric struct {
	Name          string
	HigherBetter  bool
	Perfect       float64 // the best possible value (accuracy 1, IOU 1); NaN when there is none
	Format, Units string
}

// TaskMetric is accuracy for classification, mean distance in pixels for regression and IOU for
// rendering.
func TaskMetric(t Task) Metric {
	switch t {
	case Classification:
		return Metric{Name: "accuracy", HigherBetter: true, Perfect: 1, Format: "%.2f%%", Units: "%"}
	case Regression:
		return Metric{Name: "mean distance (px)", Perfect: math.NaN(), Format: "%.3f", Units: "px"}
	}
	return Metric{Name: "IOU", HigherBetter: true, Perfect: 1, Format: "%.4f"}
}

// Show formats a metric value (accuracy in percent).
func (m Metric) Show(v float64) string {
	if m.Units == "%" {
		v *= 100
	}
	return fmt.Sprintf(m.Format, v)
}

func (m Metric) better(a, b float64) bool {
	if m.HigherBetter {
		return a > b
	}
	return a < b
}

// EpochResult is one epoch of one seed.
type EpochResult struct {
	Epoch       int     `json:"epoch"`
	TrainLoss   float64 `json:"train_loss"` // mean minibatch data loss over the epoch
	TrainMetric float64 `json:"train_metric"`
	TestMetric  float64 `json:"test_metric"`
	Seconds     float64 `json:"seconds"` // cumulative wall time, training and evaluation
	// PainterTrain and PainterTest, for the CoordConv renderer, are the fractions of the
	// centres where its painter's map (the spatial softmax's input) peaks: the classification
	// accuracy of the painter inside it. With the IOU they tell which half fails: a painter
	// that misses the centres, or rendering layers that do not draw the square around a
	// painter that finds them.
	PainterTrain *float64 `json:"painter_train,omitempty"`
	PainterTest  *float64 `json:"painter_test,omitempty"`
}

// SeedResult is one seed's run.
type SeedResult struct {
	Seed        uint64        `json:"seed"`
	Params      int           `json:"params"`
	Curve       []EpochResult `json:"curve"`
	BestEpoch   int           `json:"best_epoch"`    // the first epoch with the best test metric (ties: best train metric)
	BestTest    float64       `json:"best_test"`     // the best test metric
	TrainAtBest float64       `json:"train_at_best"` // the train metric at that epoch
	TimeToBest  float64       `json:"time_to_best"`  // seconds from the start to that epoch's end
	Wall        float64       `json:"wall"`          // seconds for the whole run
	EpochSecs   float64       `json:"epoch_secs"`    // mean seconds per training epoch (without evaluation)
	Epochs      int           `json:"epochs"`        // epochs run (fewer than configured after a perfect one)
	Interrupted bool          `json:"interrupted"`   // stopped (Ctrl-C) before its last epoch
	// Pred holds, for nPred test examples spread over the set, the model's output maps (probabilities) or, for
	// regression, the predicted (x, y) in pixels, from the best epoch.
	Pred [][]float32 `json:"-"`
	// InitDiag and FinalDiag, for the CoordConv regressor, diagnose θ₀ and the final θ on the
	// training set (RegressorDiagnosis): where the max pool's winners lie, and whether the run
	// ended trapped at the mean centre.
	InitDiag  *RegressorDiagnosis `json:"init_diagnosis,omitempty"`
	FinalDiag *RegressorDiagnosis `json:"final_diagnosis,omitempty"`
}

// Result is a whole experiment.
type Result struct {
	Config Config       `json:"config"`
	Train  int          `json:"train"` // examples
	Test   int          `json:"test"`
	Seeds  []SeedResult `json:"seeds"`
	Device string       `json:"device"`
}

// MaxEpochs bounds a run's epochs (a typo of a few extra digits is refused, not run for a year).
const MaxEpochs = 1_000_000

// Validate reports an impossible configuration, naming the flag, before anything is created on
// disk: the optimizer's settings and the model's options included, which a run would otherwise
// only find wrong when it builds its first model.
func (c Config) Validate() error {
	if _, err := ParseTask(string(c.Task)); err != nil {
		return err
	}
	if c.Model != "coordconv" && c.Model != "conv" {
		return fmt.Errorf("unknown model %q (want coordconv or conv)", c.Model)
	}
	if cc := c.Model == "coordconv"; (cc && c.Recipe != "paper" && c.Recipe != "gaze") || (!cc && c.Recipe != "") {
		return fmt.Errorf("recipe %q: the CoordConv models' is paper or gaze, the conv baselines' empty (one recipe)", c.Recipe)
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case c.Batch < 1:
		return fmt.Errorf("--batch %d must be ≥ 1", c.Batch)
	case c.Epochs < 1 || c.Epochs > MaxEpochs:
		return fmt.Errorf("--epochs %d must be in [1, %d]", c.Epochs, MaxEpochs)
	case len(c.Seeds) == 0:
		return fmt.Errorf("--seeds 0 must be ≥ 1")
	case c.Subsample < 0:
		return fmt.Errorf("--subsample %d must be ≥ 0", c.Subsample)
	case !(c.LR > 0) || !finite(c.LR):
		return fmt.Errorf("--lr %v: the learning rate must be a finite number > 0", c.LR)
	case !(c.L2 >= 0) || !finite(c.L2):
		return fmt.Errorf("--l2 %v must be a finite number ≥ 0", c.L2)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("--beta2 %v must be a finite number in [0, 1)", c.Beta2)
	case c.Split == "uniform" && !(c.TestFrac > 0 && c.TestFrac < 1):
		return fmt.Errorf("--test-frac %v must be a number in (0, 1)", c.TestFrac)
	case !(c.Opts.Interm >= 0) || !finite(c.Opts.Interm):
		return fmt.Errorf("--interm %v must be a finite number ≥ 0", c.Opts.Interm)
	case !(c.Opts.Gain >= 0) || !finite(c.Opts.Gain):
		return fmt.Errorf("--softmax-gain %v must be a finite number > 0", c.Opts.Gain)
	case c.Opts.RenderFS < 0 || (c.Opts.RenderFS > 0 && c.Opts.RenderFS%2 == 0):
		return fmt.Errorf("--render-fs %d must be odd and ≥ 1", c.Opts.RenderFS)
	case c.Opts.Mul < 0 || c.Opts.FS < 0:
		return fmt.Errorf("--mul %d and --fs %d must be ≥ 1", c.Opts.Mul, c.Opts.FS)
	}
	if err := c.optConfig().Validate(); err != nil {
		return err
	}
	for _, m := range c.LRMilestones {
		if m < 1 {
			return fmt.Errorf("--lr-milestones %v: each must be ≥ 1 (a milestone past --epochs never comes)", c.LRMilestones)
		}
	}
	if _, err := NewSpec(c.Task, c.Model, c.Opts); err != nil {
		return err
	}
	return nil
}

// optConfig is the run's optimizer: Adam (β1 0.9, ε 1e-8, the engine's defaults, spelled out
// so that Validate can check the whole) with the configured β2 and schedule.
func (c Config) optConfig() engine.OptConfig {
	gamma := c.LRGamma
	if gamma == 0 {
		gamma = 0.1
	}
	return engine.OptConfig{Kind: "adam", LR: c.LR, Beta1: 0.9, Beta2: c.Beta2, Eps: 1e-8, Milestones: c.LRMilestones, Gamma: gamma}
}

// Sets returns the training and test examples of the configuration's split and task.
func (c Config) Sets() (train, test *Examples, err error) {
	s, err := NewSplit(c.Split, c.TestFrac, c.SplitSeed)
	if err != nil {
		return nil, nil, err
	}
	tr, te := s.Train, s.Test
	if c.Subsample > 1 {
		tr, te = every(tr, c.Subsample), every(te, c.Subsample)
	}
	if train, err = NewExamples(c.Task, tr); err != nil {
		return nil, nil, fmt.Errorf("%s split, training set: %w", c.Split, err)
	}
	if test, err = NewExamples(c.Task, te); err != nil {
		return nil, nil, fmt.Errorf("%s split, test set: %w", c.Split, err)
	}
	return train, test, nil
}

func every(c []Centre, k int) []Centre {
	var out []Centre
	for i := 0; i < len(c); i += k {
		out = append(out, c[i])
	}
	return out
}

// Run trains the configured model once per seed on dev. When ctx is cancelled, the result holds
// the seeds done and the epochs finished of the interrupted one, alongside the error; with
// opts.Dir, they are saved there too, and opts.Resume continues them later. Resuming a
// finished run returns its result with a *rundir.FinishedError, and changes nothing.
func Run(ctx context.Context, dev engine.Device, cfg Config, opts RunOptions) (_ *Result, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	train, test, err := cfg.Sets()
	if err != nil {
		return nil, err
	}
	res := &Result{Config: cfg, Train: train.Len(), Test: test.Len(), Device: dev.Name()}
	if opts.Dir != "" {
		var r *rundir.Run
		r, res.Seeds, err = openRun(opts.Dir, cfg, opts.Resume)
		if errors.Is(err, rundir.ErrFinished) {
			done, lerr := Load(opts.Dir)
			return done, errors.Join(err, lerr)
		}
		if err != nil {
			return nil, err
		}
		defer func() { err = errors.Join(err, r.Close()) }()
	}
	for _, seed := range cfg.Seeds[len(res.Seeds):] {
		ck := ""
		if opts.Dir != "" {
			ck = checkpointPath(opts.Dir, seed)
		}
		sr, err := runSeed(ctx, dev, cfg, train, test, seed, ck, opts.Progress)
		if sr != nil {
			res.Seeds = append(res.Seeds, *sr)
			if opts.Dir != "" {
				if serr := res.Save(opts.Dir, test.Centres); serr != nil {
					return res, errors.Join(err, fmt.Errorf("writing %s: %w", opts.Dir, serr))
				}
				if err == nil {
					if rerr := dropCheckpoint(opts.Dir, seed); rerr != nil {
						return res, rerr
					}
				}
			}
		}
		if err != nil {
			return res, fmt.Errorf("seed %d: %w", seed, err)
		}
	}
	if opts.Dir != "" {
		// The result files once more: a run killed while writing them after its last seed
		// finishes them here (the same files an uninterrupted run writes).
		if err := res.Save(opts.Dir, test.Centres); err != nil {
			return res, fmt.Errorf("writing %s: %w", opts.Dir, err)
		}
		if err := finish(opts.Dir, cfg); err != nil {
			return res, err
		}
	}
	return res, nil
}

// nPred is the number of test examples whose predictions are kept for the plots.
const nPred = 8

// isPredIndex tells whether example i of n is one of the nPred spread evenly over the set (in
// canvas order, so the plots show predictions from all over the test region).
func isPredIndex(i, n int) bool {
	if n <= nPred {
		return true
	}
	// i = ⌊k·n/nPred⌋ for some k.
	k := (i*nPred + nPred - 1) / n
	return k*n/nPred == i
}

// predCentres are the centres isPredIndex picks.
func predCentres(c []Centre) []Centre {
	var out []Centre
	for i := range c {
		if isPredIndex(i, len(c)) {
			out = append(out, c[i])
		}
	}
	return out
}

var errPerfect = errors.New("perfect")

// runSeed trains one seed. With ckpt, it checkpoints there after every epoch and on
// cancellation, and continues from the checkpoint if the file exists.
func runSeed(ctx context.Context, dev engine.Device, cfg Config, train, test *Examples, seed uint64, ckpt string, progress func(uint64, EpochResult)) (*SeedResult, error) {
	spec, err := NewSpec(cfg.Task, cfg.Model, cfg.Opts)
	if err != nil {
		return nil, err
	}
	m, err := engine.NewModel(dev, string(cfg.Task)+"-"+cfg.Model, spec.Net, spec.In, spec.Loss, cfg.Batch)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	m.L2 = cfg.L2
	diagnose := cfg.Task == Regression && cfg.Model == "coordconv"
	var initDiag *RegressorDiagnosis
	if err := InitModel(m, cfg, seed); err != nil {
		return nil, err
	}
	if diagnose {
		d, err := DiagnoseRegressor(m.Arena, m.Theta(), train.Centres)
		if err != nil {
			return nil, err
		}
		initDiag = &d
	}
	opt, err := engine.NewOptimizer(dev, m.Arena, cfg.optConfig())
	if err != nil {
		return nil, err
	}
	tr, err := engine.NewTrainer(m, opt, train, nil, engine.TrainConfig{Epochs: cfg.Epochs, Batch: cfg.Batch, Seed: seed, Checkpoint: ckpt})
	if err != nil {
		return nil, err
	}
	metric := TaskMetric(cfg.Task)
	ev := newEvaluator(m, cfg.Task)
	sr := &SeedResult{Seed: seed, Params: m.Arena.D, BestEpoch: -1, InitDiag: initDiag}
	p := &seedProgress{sr: sr, start: time.Now()}
	if ckpt != "" {
		tr.Extra = p
		if _, err := os.Stat(ckpt); err == nil {
			if err := tr.LoadCheckpoint(ckpt); err != nil {
				return nil, err
			}
		}
	}
	tr.OnEpoch = func(info engine.EpochInfo) error {
		p.trainSecs += info.Seconds
		trm, tem, pred, err := epochMetrics(ev, train, test)
		if err != nil {
			return err
		}
		e := EpochResult{Epoch: info.Epoch, TrainLoss: info.TrainLoss, TrainMetric: trm, TestMetric: tem, Seconds: p.elapsed()}
		if ptr, ok := ev.painter[train]; ok {
			pte := ev.painter[test]
			e.PainterTrain, e.PainterTest = &ptr, &pte
		}
		sr.Curve = append(sr.Curve, e)
		// The best epoch has the best test metric; among equal ones (a baseline stuck at 0 % on
		// the unseen quadrant), the best train metric.
		if sr.BestEpoch < 0 || metric.better(tem, sr.BestTest) || (tem == sr.BestTest && metric.better(trm, sr.TrainAtBest)) {
			sr.BestEpoch, sr.BestTest, sr.TrainAtBest, sr.TimeToBest, sr.Pred = e.Epoch, tem, trm, e.Seconds, pred
		}
		if progress != nil {
			progress(seed, e)
		}
		if cfg.StopPerfect && trm == metric.Perfect && tem == metric.Perfect {
			return errPerfect
		}
		return nil
	}
	err = tr.Run(ctx)
	if errors.Is(err, errPerfect) {
		err = nil
	}
	if diagnose && sr.InitDiag != nil {
		d, derr := DiagnoseRegressor(m.Arena, m.Theta(), train.Centres)
		if derr != nil {
			return nil, derr
		}
		sr.FinalDiag = &d
	}
	sr.Wall = p.elapsed()
	sr.Epochs = len(sr.Curve)
	if sr.Epochs > 0 {
		sr.EpochSecs = p.trainSecs / float64(sr.Epochs)
	}
	if err != nil {
		// An interrupted run keeps the epochs it finished (Run reports them with the error).
		if sr.Epochs > 0 && ctx.Err() != nil {
			sr.Interrupted = true
			return sr, err
		}
		return nil, err
	}
	return sr, nil
}

// lockIn is the first epoch from which the curve's train and test metrics stay perfect through
// its last epoch (0: not perfect at the last epoch, or a metric without a perfect value). It is
// computed from the curve wherever it is shown, so folders of every build have it; whether a
// seed stays perfect shows only in a run with StopPerfect off.
func lockIn(curve []EpochResult, m Metric) int {
	e := 0
	for i := len(curve) - 1; i >= 0 && curve[i].TrainMetric == m.Perfect && curve[i].TestMetric == m.Perfect; i-- {
		e = curve[i].Epoch
	}
	return e
}

// InitModel sets θ₀ of a run's model for the seed: He-normal (engine.Model.Init), and on top,
// with recipe gaze the CoordConv regressor's hot-pixel initialisation, with
// Opts.BackgroundBias the renderer's output bias at the background's log-odds.
func InitModel(m *engine.Model, cfg Config, seed uint64) error {
	m.Init(seed)
	var init func(*engine.Arena, []float32) error
	switch {
	case cfg.Recipe == "gaze" && cfg.Task == Regression && cfg.Model == "coordconv":
		init = HotPixelInit
	case cfg.Opts.BackgroundBias:
		init = BackgroundBiasInit
	default:
		return nil
	}
	theta := m.Theta()
	if err := init(m.Arena, theta); err != nil {
		return err
	}
	return m.SetTheta(theta)
}

// BackgroundBiasInit sets the CoordConv renderer's output bias (render5.bias) to the log-odds
// of a pixel of the background, log(81/4,015): the renderer then starts at the loss of the
// all-background rate instead of reaching it in its first steps by pushing every rendering
// unit down, which leaves ReLUs dead before the painter finds any centre (the prior
// initialisation of RetinaNet's classifier, Lin et al. 2017).
func BackgroundBiasInit(a *engine.Arena, theta []float32) error {
	i, ok := a.Find("render5.bias")
	if !ok || a.Params[i].Size != 1 {
		return fmt.Errorf("background bias initialisation: not the CoordConv renderer (no one-channel render5.bias)")
	}
	fg := float64(Side * Side)
	theta[a.Params[i].Offset] = float32(math.Log(fg / (Canvas*Canvas - fg)))
	return nil
}

// epochMetrics evaluates the metric over the training and test sets after an epoch, with the
// predictions kept for the plots. (A variable: tests script the metrics an epoch reports.)
var epochMetrics = func(ev *evaluator, train, test *Examples) (trm, tem float64, pred [][]float32, err error) {
	if trm, err = ev.metric(train, nil); err != nil {
		return 0, 0, nil, err
	}
	tem, err = ev.metric(test, &pred)
	return trm, tem, pred, err
}

// evaluator computes a task's metric over a set from the model's outputs, in inference mode.
type evaluator struct {
	m     *engine.Model
	task  Task
	batch int
	out   []float32
	// sharpen is the renderer's spatial softmax (nil in the other models): metric also counts
	// the examples whose softmax map peaks at the centre, into painter.
	sharpen *SpatialSoftmax
	painter map[*Examples]float64
	sm      []float32
}

// evalBatch keeps evaluation activations small: the painters hold ~400 channels of 64×64 per example.
const evalBatch = 32

func newEvaluator(m *engine.Model, task Task) *evaluator {
	return &evaluator{m: m, task: task, batch: evalBatch, sharpen: findSharpen(m.Net), painter: map[*Examples]float64{}}
}

// findSharpen returns the spatial softmax of a network (searched through Sequential and
// CentreLoss), or nil.
func findSharpen(l engine.Layer) *SpatialSoftmax {
	switch l := l.(type) {
	case *SpatialSoftmax:
		return l
	case *CentreLoss:
		return findSharpen(l.Inner)
	case *engine.Sequential:
		for _, c := range l.Layers {
			if s := findSharpen(c); s != nil {
				return s
			}
		}
	}
	return nil
}

// metric returns the task metric over ds; with pred, it also returns the outputs for nPred
// examples spread over the set (probability maps, or predicted (x, y) in pixels).
func (e *evaluator) metric(ds *Examples, pred *[][]float32) (float64, error) {
	it, err := e.m.Batches(ds, e.batch)
	if err != nil {
		return 0, err
	}
	n, ys, os := ds.Len(), ds.TargetSize(), e.m.OutSize()
	if len(e.out) < e.batch*os {
		e.out = make([]float32, e.batch*os)
	}
	var total float64
	hits := 0
	for it.Next() {
		out, err := it.Forward(engine.EvalMode)
		if err != nil {
			return 0, err
		}
		k, y := it.Len(), it.Targets()
		o := e.out[:k*os]
		e.m.Dev.Download(o, out.Buf)
		if e.sharpen != nil {
			hits += e.painterHits(ds.Centres[it.Start() : it.Start()+k])
		}
		for i := range k {
			oi, yi := o[i*os:(i+1)*os], y[i*ys:(i+1)*ys]
			total += exampleMetric(e.task, oi, yi)
			if pred != nil && isPredIndex(it.Start()+i, n) {
				*pred = append(*pred, predMap(e.task, oi))
			}
		}
	}
	if err := it.Err(); err != nil {
		return 0, err
	}
	if e.sharpen != nil {
		e.painter[ds] = float64(hits) / float64(n)
	}
	return total / float64(n), nil
}

// painterHits counts the centres of the batch just evaluated at which the renderer's softmax
// map has its maximum (the first one, as the classification metric).
func (e *evaluator) painterHits(centres []Centre) int {
	per := prod(e.sharpen.shape)
	if len(e.sm) < len(centres)*per {
		e.sm = make([]float32, len(centres)*per)
	}
	sm := e.sm[:len(centres)*per]
	e.m.Dev.Download(sm, e.sharpen.out.Buf.Slice(0, len(sm)))
	hits := 0
	for i, c := range centres {
		if argmax(sm[i*per:(i+1)*per]) == c.Pixel() {
			hits++
		}
	}
	return hits
}

// argmax is the index of the first maximum of v.
func argmax(v []float32) int {
	best := 0
	for j, x := range v {
		if x > v[best] {
			best = j
		}
	}
	return best
}

// exampleMetric is one example's contribution: a hit (1 or 0), a distance in pixels, or an IOU.
func exampleMetric(task Task, out, target []float32) float64 {
	switch task {
	case Classification:
		if float32(argmax(out)) == target[0] {
			return 1
		}
		return 0
	case Regression:
		dx := Canvas * (float64(out[0]) - float64(target[0]))
		dy := Canvas * (float64(out[1]) - float64(target[1]))
		return math.Hypot(dx, dy)
	}
	// IOU of the thresholded output (sigmoid > 0.5, i.e. logit > 0) with the square.
	var inter, union float64
	for j, z := range out {
		p, t := z > 0, target[j] > 0.5
		if p && t {
			inter++
		}
		if p || t {
			union++
		}
	}
	return inter / union
}

// predMap turns one output into what the plots show: the softmax map for classification, the
// sigmoid map for rendering, the predicted (x, y) in pixels for regression.
func predMap(task Task, out []float32) []float32 {
	p := make([]float32, len(out))
	switch task {
	case Classification:
		mx := out[0]
		for _, v := range out {
			mx = max(mx, v)
		}
		var s float64
		for _, v := range out {
			s += math.Exp(float64(v - mx))
		}
		for j, v := range out {
			p[j] = float32(math.Exp(float64(v-mx)) / s)
		}
	case Regression:
		p[0], p[1] = Canvas*out[0], Canvas*out[1]
	default:
		for j, v := range out {
			p[j] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	}
	return p
}
