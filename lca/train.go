package lca

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/internal/bytesize"
	"github.com/gazeml/gaze/internal/npy"
	"github.com/gazeml/gaze/train"
)

// Spec is the LCA part of a run's configuration (config.json's "lca", compared on --resume).
type Spec struct {
	Examples int    `json:"examples"` // size of the LCA set: a seeded subset of the training split (0: all of it)
	Seed     uint64 `json:"seed"`     // seed of that subset
	Config   Config `json:"integrator"`
	SaveLCA  bool   `json:"save_lca"`     // also write lca.npy (T × D)
	SaveW    bool   `json:"save_weights"` // also write weights.npy ((T+1) × D), for offline LCA
	Offline  bool   `json:"offline"`      // train and save the trajectory only
	// HeldOut also allocates the loss over the held-out split (--held-out N), into held_out/.
	HeldOut bool `json:"held_out,omitempty"`
	// Devices are the devices that compute the full-set gradients ("cpu:2", "cuda:0,cuda:1";
	// empty: the run's device). How the run executes, not what it computes: it may change on
	// --resume.
	Devices string `json:"devices,omitempty"`
	// Every allocates over windows of Every iterations instead of single ones (online): each row
	// of the LCA files is the change from θ_t to θ_{t+Every} along the straight chord.
	Every int `json:"every,omitempty"`
	// SaveWEvery keeps every SaveWEvery-th θ in weights.npy (0: every one), for offline
	// window LCA (gaze lca compute --every K, K a multiple of it).
	SaveWEvery int `json:"save_weights_every,omitempty"`
}

// specMutable are the fields of Spec that may change on --resume, as dotted paths of config.json.
var specMutable = []string{"lca.devices"}

// Validate reports an LCA part that cannot run, naming the flag.
func (sp Spec) Validate() error {
	if err := sp.Config.Validate(); err != nil {
		return err
	}
	if sp.Examples < 0 {
		return fmt.Errorf("--lca-examples %d must be ≥ 0", sp.Examples)
	}
	if sp.Offline && !sp.SaveW {
		return errors.New("--offline needs --save-weights: offline LCA is computed from the saved trajectory")
	}
	if sp.Every < 0 || sp.SaveWEvery < 0 {
		return fmt.Errorf("--lca-every %d and --save-weights-every %d must be ≥ 0", sp.Every, sp.SaveWEvery)
	}
	if sp.Every > 1 && sp.Offline {
		return errors.New("--lca-every is window LCA computed online; for an --offline run give the window to gaze lca compute --every")
	}
	if sp.SaveWEvery > 1 && !sp.SaveW {
		return errors.New("--save-weights-every needs --save-weights")
	}
	if sp.Devices != "" {
		if _, err := engine.ParseDevices(sp.Devices); err != nil {
			return fmt.Errorf("--devices: %w", err)
		}
	}
	return nil
}

// TrainConfig is an LCA study's configuration: the training run's, with the LCA part beside it
// in config.json.
type TrainConfig struct {
	train.Config
	LCA Spec `json:"lca"`
}

// TrainOptions are how an LCA study is carried out (see train.Options).
type TrainOptions struct {
	train.Options
	NoReport bool  // do not write the report at the end
	MaxDisk  int64 // refuse a run whose folder would hold more than this many bytes (0: no limit)
}

// Train trains cfg in the run folder o.Dir and allocates every iteration's loss change among the
// parameters (online), or saves the trajectory for `gaze lca compute` (cfg.LCA.Offline). It
// returns the report's summary, or nil when no report was written (offline, or o.NoReport).
// Resuming a finished run returns a *rundir.FinishedError and changes nothing.
//
// The LCA files are streams of the run (rundir.Streams): committed with every checkpoint, cut
// back to it or refused on resume. The run is marked finished after its report, so a run
// killed while writing the report finishes it when resumed.
func Train(ctx context.Context, cfg TrainConfig, o TrainOptions) (*Summary, error) {
	sp := cfg.LCA
	if err := sp.Validate(); err != nil {
		return nil, err
	}
	if sp.HeldOut && cfg.Data.HeldOut == 0 {
		return nil, errors.New("--lca-held-out needs a held-out split: add --held-out N")
	}
	to := o.Options
	to.Saved = func(c train.Config) any { return TrainConfig{Config: c, LCA: sp} }
	to.Mutable = append(to.Mutable, specMutable...)
	// The disk is checked before the folder is touched. (An LCA set larger than the training
	// split is all of it, as the report says.)
	var need int64
	to.Check = func(s *train.Session) (err error) {
		if err := checkPerClassBatchNorm(sp.Config, s.Model); err != nil {
			return err
		}
		need, err = checkDisk(s, sp, o.MaxDisk)
		return err
	}
	var gd *gradientDevices
	if !sp.Offline {
		var err error
		if gd, err = openGradientDevices(cmpOr(sp.Devices, cfg.Device), cfg.Device); err != nil {
			return nil, err
		}
		to.Device = gd.train
	}
	s, err := train.Open(cfg.Config, to)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	dir := s.Run.Dir
	ls, err := TrainSets(s.Data, sp.Examples, sp.Seed, sp.HeldOut)
	if err != nil {
		return nil, err
	}
	var it *Integrator
	if !sp.Offline {
		gd.fill(s.Device)
		build := func(dev engine.Device) (*engine.Model, error) {
			return train.BuildModel(dev, cfg.Config, s.Data, min(sp.Config.Chunk, ls.Sets[0].Data.Len()))
		}
		if it, err = newIntegratorOn(s.Model, ls.Sets, sp.Config, gd, build); err != nil {
			return nil, err
		}
		defer it.pool.Close()
	}
	rec := NewRecorder(dir, s.Model, it, sp.outputs())
	rec.Streams = s.Run.Streams
	rec.T = s.Trainer.TotalSteps()
	plan := fmt.Sprintf("LCA over %s", ls.Desc)
	if it != nil {
		if sp.HeldOut {
			plan += fmt.Sprintf(" and the held-out split (%d examples)", ls.Sets[1].Data.Len())
		}
		plan += fmt.Sprintf(", gradients on %s", strings.Join(gd.names(), ", "))
		if sp.Config.PerClass {
			plan += fmt.Sprintf("; per-class accumulators (%d classes) take %s of host memory", ls.Sets[0].Classes,
				bytesize.Format(PerClassBytes(s.Model.Arena.D, ls.Sets)))
		}
	}
	s.Logf("%s; the run needs about %s more in %s", plan, bytesize.Format(need), dir)
	meta, err := newMeta(s, sp, ls)
	if err != nil {
		return nil, err
	}
	if err := ls.WriteIndices(dir, meta); err != nil {
		return nil, err
	}
	if err := WriteMeta(dir, meta); err != nil {
		return nil, err
	}
	s.Trainer.Hook = rec.Hook
	s.Trainer.Extra = rec
	if !s.FromCheckpoint() {
		if err := rec.Start(0, s.Model.Arena.Theta); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	_, err = s.Train(ctx)
	if cerr := rec.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	s.Logf("training with LCA took %.1f s", time.Since(start).Seconds())
	if sp.Offline || o.NoReport {
		return nil, s.Finish(RunFiles...)
	}
	sum, err := Report(dir)
	if err != nil {
		return nil, err
	}
	return &sum, s.Finish(RunFiles...)
}

// RunFiles are the files of an LCA run folder besides the training run's, as finished.json
// lists them (the optional ones when present). The report is not among them: `gaze lca report`
// rewrites it.
var RunFiles = []string{MetaFile, LossesFile, LayersFile, HelpedLayers, NeuronsFile, TotalFile, HelpedFile, FullFile, WeightsFile,
	ClassLossesFile, ClassLayersFile, ClassHelpedFile, IndicesFile, HeldOutIndices,
	filepath.Join(HeldOutDir, LossesFile), filepath.Join(HeldOutDir, LayersFile), filepath.Join(HeldOutDir, HelpedLayers),
	filepath.Join(HeldOutDir, NeuronsFile), filepath.Join(HeldOutDir, TotalFile), filepath.Join(HeldOutDir, HelpedFile),
	filepath.Join(HeldOutDir, FullFile), filepath.Join(HeldOutDir, ClassLossesFile), filepath.Join(HeldOutDir, ClassLayersFile),
	filepath.Join(HeldOutDir, ClassHelpedFile)}

// outputs are the recorder's outputs of a run (online, or an offline run's trajectory).
func (sp Spec) outputs() Outputs {
	o := Outputs{LCA: sp.SaveLCA && !sp.Offline, Weights: sp.SaveW, WeightsEvery: sp.SaveWEvery}
	if !sp.Offline {
		o.Every = sp.Every
	}
	return o
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// gradientDevices are the devices of a run's gradient pool. The first one is the training device
// when it is a whole device (a GPU, or the CPU device with all its threads); CPU instances with a
// share of the cores (cpu:N) are opened apart from the training device, which keeps all of them.
type gradientDevices struct {
	insts []engine.Instance
	devs  []engine.Device // nil where the training device goes (fill)
	train engine.Device   // the device to train on, when the pool chose it (else the run opens its own)
}

// openInstance opens a device of the gradient pool (tests put slow or failing devices here).
var openInstance = engine.OpenInstance

func openGradientDevices(spec, trainDevice string) (*gradientDevices, error) {
	insts, err := engine.ParseDevices(spec)
	if err != nil {
		return nil, fmt.Errorf("--devices: %w", err)
	}
	kind, _, _ := strings.Cut(trainDevice, ":")
	if insts[0].Kind != kind {
		return nil, fmt.Errorf("--devices %s are %s devices but the run trains on %s: training stays on the first of --devices, so give --device %s", spec, insts[0].Kind, trainDevice, insts[0].Kind)
	}
	gd := &gradientDevices{insts: insts}
	for i, in := range insts {
		if i == 0 && in.Kind == "cpu" && in.Ordinal < 0 {
			gd.devs = append(gd.devs, nil)
			continue
		}
		d, err := openInstance(in)
		if err != nil {
			return nil, fmt.Errorf("--devices: %s: %w", in, err)
		}
		gd.devs = append(gd.devs, d)
	}
	if gd.devs[0] != nil && kind != "cpu" {
		gd.train = gd.devs[0]
	}
	return gd, nil
}

// fill puts the training device where the pool shares it.
func (gd *gradientDevices) fill(train engine.Device) {
	if gd.devs[0] == nil {
		gd.devs[0] = train
	}
}

func (gd *gradientDevices) names() []string {
	var out []string
	for _, in := range gd.insts {
		out = append(out, in.String())
	}
	return out
}

// newIntegratorOn starts the gradient pool on gd's devices (each with a model from build) and the
// integrator over sets, after checking that the host holds per-class LCA's accumulators.
func newIntegratorOn(m *engine.Model, sets []Set, cfg Config, gd *gradientDevices, build func(engine.Device) (*engine.Model, error)) (*Integrator, error) {
	if cfg.PerClass {
		need := PerClassBytes(m.Arena.D, sets)
		if avail, ok := memAvailable(); ok && need > avail {
			return nil, fmt.Errorf("--per-class keeps 5 float64 vectors of %d parameters per class and set, and a class-sorted copy of the examples, on the host: %s for %d classes × %d sets, but only %s of memory is available; drop --per-class or --lca-held-out, or use a machine with more memory",
				m.Arena.D, bytesize.Format(need), sets[0].Classes, len(sets), bytesize.Format(avail))
		}
	}
	pool, err := NewPool(gd.devs, gd.names(), build)
	if err != nil {
		return nil, err
	}
	it, err := NewIntegrator(m, sets, cfg, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return it, nil
}

// memAvailable is the host memory the kernel reports as available (Linux), if it says.
func memAvailable() (int64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				if v, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return v * 1024, true
				}
			}
		}
	}
	return 0, false
}

// LCASets are the sets an LCA run allocates over (the LCA set, and the held-out split with
// --lca-held-out), each example's place in the training set as loaded (before any split), and
// the LCA set described in words.
type LCASets struct {
	Sets    []Set
	Indices [][]int // per set
	HeldOut []int   // the held-out split's places, whether or not it is allocated over (nil: none)
	Desc    string
}

// TrainSets chooses the LCA set from the training split: all of it, or a seeded subset of n
// examples (data.Split's choice with that seed, in the split's order); with heldOut, the whole
// held-out split is the second set.
func TrainSets(l *data.Loaded, n int, seed uint64, heldOut bool) (*LCASets, error) {
	tr := l.Train
	ls := &LCASets{HeldOut: l.HeldOutIndex}
	pos := make([]int, tr.Len())
	for i := range pos {
		pos[i] = i
	}
	set := tr
	ls.Desc = fmt.Sprintf("the whole training split (%d examples)", tr.Len())
	if n > 0 && n < tr.Len() {
		_, pos = data.SplitIndices(tr.Len(), n, seed)
		var err error
		if set, err = data.Subset(tr, pos); err != nil {
			return nil, err
		}
		ls.Desc = fmt.Sprintf("a fixed random subset of %d training examples (seed %d)", n, seed)
	}
	ls.add("train", set, mapIndex(l.TrainIndex, pos))
	if heldOut {
		if l.HeldOut == nil {
			return nil, errors.New("held-out LCA needs a held-out split (--held-out N)")
		}
		ls.add("held_out", l.HeldOut, l.HeldOutIndex)
	}
	return ls, nil
}

func (ls *LCASets) add(name string, d *data.Dataset, idx []int) {
	ls.Sets = append(ls.Sets, Set{Name: name, Data: d, Labels: d.Labels(), Classes: d.Classes()})
	ls.Indices = append(ls.Indices, idx)
}

func mapIndex(index, pos []int) []int {
	out := make([]int, len(pos))
	for k, p := range pos {
		out[k] = index[p]
	}
	return out
}

// SetsFromIndices rebuilds the sets a run allocated over from its index files (meta.Indices and,
// for held-out LCA, meta.HeldOutIndices in dir), so that offline computation uses the very
// examples the run named. A run without index files (older runs) chooses its LCA set again from
// its seed.
func SetsFromIndices(dir string, meta *Meta, l *data.Loaded) (*LCASets, error) {
	if meta.Indices == "" {
		return TrainSets(l, meta.LCAExamples, meta.LCASeed, false)
	}
	ls := &LCASets{HeldOut: l.HeldOutIndex, Desc: meta.LCASet}
	pick := func(name, file string, from *data.Dataset, index []int) error {
		path := filepath.Join(dir, file)
		want, err := npy.ReadInt64(path)
		if err != nil {
			return fmt.Errorf("the run's %s set (meta.json names %s): %w", name, file, err)
		}
		where := make(map[int]int, len(index))
		for k, i := range index {
			where[i] = k
		}
		pos := make([]int, len(want))
		for k, i := range want {
			p, ok := where[int(i)]
			if !ok || from == nil {
				return fmt.Errorf("%s: example %d of the training set is not in the %s split as loaded now (another data set, --held-out or --split-seed?)", path, i, name)
			}
			pos[k] = p
		}
		d, err := data.Subset(from, pos)
		if err != nil {
			return err
		}
		ls.add(name, d, mapIndex(index, pos))
		return nil
	}
	if err := pick("train", meta.Indices, l.Train, l.TrainIndex); err != nil {
		return nil, err
	}
	if meta.HeldOut != nil {
		if err := pick("held_out", meta.HeldOutIndices, l.HeldOut, l.HeldOutIndex); err != nil {
			return nil, err
		}
	}
	return ls, nil
}

// WriteIndices writes the index files meta names.
func (ls *LCASets) WriteIndices(dir string, meta *Meta) error {
	write := func(name string, idx []int) error {
		v := make([]int64, len(idx))
		for i, x := range idx {
			v[i] = int64(x)
		}
		return npy.Write(filepath.Join(dir, name), []int{len(v)}, v)
	}
	if err := write(meta.Indices, ls.Indices[0]); err != nil {
		return err
	}
	if meta.HeldOutIndices != "" {
		return write(meta.HeldOutIndices, ls.HeldOut)
	}
	return nil
}

func newMeta(s *train.Session, sp Spec, ls *LCASets) (*Meta, error) {
	cfg, tr := s.Config, s.Trainer
	dj, err := json.Marshal(cfg.Data)
	if err != nil {
		return nil, err
	}
	m := &Meta{Model: cfg.Model, Input: s.Data.Input, Classes: s.Data.Classes, Data: dj, Optimizer: cfg.Opt, L2: cfg.L2,
		Batch: cfg.Batch, Epochs: cfg.Epochs, StepsPerEpoch: tr.StepsPerEpoch(), Seed: cfg.Seed, Device: cfg.Device,
		Integrator: sp.Config, LCAExamples: sp.Examples, LCASubset: sp.Examples > 0, LCASeed: sp.Seed, LCASet: ls.Desc,
		Computed: !sp.Offline, T: tr.TotalSteps(), Indices: IndicesFile, Identity: cfg.Identity}
	if ls.HeldOut != nil {
		m.HeldOutIndices = HeldOutIndices
	}
	// An offline run's parts write lca.npy when it was asked for, and merge joins them.
	m.Outputs.LCA, m.Outputs.Weights = sp.SaveLCA, sp.SaveW
	if !sp.Offline {
		m.Window = every(sp.Every)
	}
	if sp.SaveW {
		m.WeightsEvery = every(sp.SaveWEvery)
	}
	m.Iters = [2]int{0, tr.TotalSteps()}
	m.FillArena(s.Model.Arena)
	m.describeSets(sp.Config, ls)
	return m, nil
}

// describeSets records how the sets are cut into chunks, the per-class counts and the held-out
// allocation.
func (m *Meta) describeSets(c Config, ls *LCASets) {
	if c.PerClass {
		m.Chunks = fmt.Sprintf("the set's examples (in the order of %s) sorted by class, stably, cut into chunks of at most %d examples of one class, classes in order", m.Indices, c.Chunk)
		m.ClassCounts = classCounts(ls.Sets[0])
	} else {
		m.Chunks = fmt.Sprintf("the set's examples in the order of %s, cut into chunks of %d (the last one shorter)", m.Indices, c.Chunk)
	}
	if len(ls.Sets) > 1 {
		h := &HeldOutMeta{Dir: HeldOutDir, Examples: ls.Sets[1].Data.Len()}
		if c.PerClass {
			h.ClassCounts = classCounts(ls.Sets[1])
		}
		m.HeldOut = h
	}
}

// checkPerClassBatchNorm refuses per-class LCA of a model with batch norm in batch-statistics
// mode. Per-class chunks hold one class each, so batch norm would normalise every chunk with one
// class's statistics: the loss allocated (the total as well as each class's) would be another
// function of θ than the loss the model trains on and than the same run without --per-class
// allocates. Mixing classes in the chunks instead would cost a pass per class. Running statistics make every
// example's output independent of its chunk, and then the split by class is exact.
func checkPerClassBatchNorm(c Config, m *engine.Model) error {
	if c.PerClass && c.BatchStats && m.Arena.Stats != nil && m.Arena.Stats.Len() > 0 {
		return errors.New("--per-class with batch norm needs --bn-running-stats: per-class chunks hold one class each, so batch norm in batch-statistics mode would normalise each chunk with one class's statistics and allocate another loss than the model's (the total too)")
	}
	return nil
}

func classCounts(s Set) []int {
	out := make([]int, s.Classes)
	for _, c := range s.Labels {
		out[c]++
	}
	return out
}
