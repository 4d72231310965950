package coordconv

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gazeml/gaze/internal/crashpoint"
	"github.com/gazeml/gaze/internal/rundir"
)

// Summary is a result's headline: over seeds, the best test metric's median and spread, and
// how many seeds reached a target.
type Summary struct {
	Task, Split, Model string
	Seeds              int
	Params             int
	BestTest           []float64 // per seed
	TrainAtBest        []float64
	TimeToBest         []float64
	EpochSecs          float64 // mean over seeds
	Epochs             []int   // epochs run per seed
	BestEpoch          []int
}

// Summarise collects a result's per-seed numbers.
func (r *Result) Summarise() Summary {
	s := Summary{Task: string(r.Config.Task), Split: r.Config.Split, Model: r.Config.Model, Seeds: len(r.Seeds)}
	for _, sr := range r.Seeds {
		s.Params = sr.Params
		s.BestTest = append(s.BestTest, sr.BestTest)
		s.TrainAtBest = append(s.TrainAtBest, sr.TrainAtBest)
		s.TimeToBest = append(s.TimeToBest, sr.TimeToBest)
		s.EpochSecs += sr.EpochSecs / float64(len(r.Seeds))
		s.Epochs = append(s.Epochs, sr.Epochs)
		s.BestEpoch = append(s.BestEpoch, sr.BestEpoch)
	}
	return s
}

// WriteTable prints one line per seed: train and test metric at the best test epoch, the
// parameters, the epoch and wall time of that best, and the seconds per training epoch.
func (r *Result) WriteTable(w io.Writer) error {
	m := TaskMetric(r.Config.Task)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	diag := len(r.Seeds) > 0 && r.Seeds[0].InitDiag != nil
	lock := !math.IsNaN(m.Perfect)
	hdr := "task\tsplit\tmodel\tseed\ttrain %s\ttest %s\tparams\tbest epoch\tepochs run\ttime to best (s)\ts/epoch\t"
	if lock {
		hdr += "locked in from\t"
	}
	if diag {
		// The regressor's diagnosis (RegressorDiagnosis), on the training set.
		hdr += "winner ≤ 2 px from the hot pixel: θ₀\tend\toutput at the end\t"
	}
	fmt.Fprintf(tw, hdr+"\n", m.Name, m.Name)
	interrupted := false
	for _, sr := range r.Seeds {
		run := strconv.Itoa(sr.Epochs)
		if sr.Interrupted {
			run += "*"
			interrupted = true
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d\t%d\t%s\t%.1f\t%.2f\t", r.Config.Task, r.Config.Split, r.Config.Model, sr.Seed,
			m.Show(sr.TrainAtBest), m.Show(sr.BestTest), sr.Params, sr.BestEpoch, run, sr.TimeToBest, sr.EpochSecs)
		if lock {
			fmt.Fprintf(tw, "%s\t", lockText(lockIn(sr.Curve, m)))
		}
		if diag {
			fmt.Fprintf(tw, "%s\t%s\t%s\t", pct(sr.InitDiag), pct(sr.FinalDiag), trapped(sr.FinalDiag))
		}
		fmt.Fprintln(tw)
	}
	if len(r.Seeds) > 1 {
		s := r.Summarise()
		fmt.Fprintf(tw, "%s\t%s\t%s\tmedian\t%s\t%s\t%d\t\t\t%.1f\t%.2f\t", r.Config.Task, r.Config.Split, r.Config.Model,
			m.Show(median(s.TrainAtBest)), m.Show(median(s.BestTest)), s.Params, median(s.TimeToBest), s.EpochSecs)
		if lock {
			n := 0
			for _, sr := range r.Seeds {
				if lockIn(sr.Curve, m) > 0 {
					n++
				}
			}
			fmt.Fprintf(tw, "%d of %d\t", n, len(r.Seeds))
		}
		if diag {
			n := 0
			for _, sr := range r.Seeds {
				if sr.FinalDiag != nil && sr.FinalDiag.Trapped() {
					n++
				}
			}
			fmt.Fprintf(tw, "\t\t%d of %d trapped\t", n, len(r.Seeds))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if interrupted {
		_, err := fmt.Fprintf(w, "* interrupted before its last epoch (of %d configured)\n", r.Config.Epochs)
		return err
	}
	return nil
}

// lockText shows a lock-in epoch: "–" for a seed that was not perfect at its last epoch.
func lockText(e int) string {
	if e == 0 {
		return "–"
	}
	return strconv.Itoa(e)
}

// pct and trapped show a seed's regressor diagnosis in the table ("–" where there is none: a
// seed interrupted before its end).
func pct(d *RegressorDiagnosis) string {
	if d == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*d.NearHot)
}

func trapped(d *RegressorDiagnosis) string {
	switch {
	case d == nil:
		return "–"
	case d.Trapped():
		return "trapped"
	}
	return "free"
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// predFile is what Save keeps of the predictions, for the plots.
type predFile struct {
	Task    Task          `json:"task"`
	Centres []Centre      `json:"centres"` // the first test centres
	Seeds   []uint64      `json:"seeds"`
	Pred    [][][]float32 `json:"pred"` // [seed][example][values]
}

// Save writes result.json, results.csv (one row per seed), curves.csv (one row per seed and
// epoch), table.txt, predictions.json and the PNG plots into dir.
func (r *Result) Save(dir string, testCentres []Centre) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	m := TaskMetric(r.Config.Task)
	rows := [][]string{{"task", "split", "model", "seed", "params", "train_metric", "test_metric", "metric", "best_epoch", "epochs_run", "time_to_best_s", "wall_s", "epoch_s", "lock_in_epoch"}}
	curves := [][]string{{"seed", "epoch", "train_loss", "train_metric", "test_metric", "seconds", "painter_train", "painter_test"}}
	pf := predFile{Task: r.Config.Task}
	for _, sr := range r.Seeds {
		rows = append(rows, []string{string(r.Config.Task), r.Config.Split, r.Config.Model, u(sr.Seed), strconv.Itoa(sr.Params),
			f(sr.TrainAtBest), f(sr.BestTest), m.Name, strconv.Itoa(sr.BestEpoch), strconv.Itoa(sr.Epochs), f(sr.TimeToBest), f(sr.Wall), f(sr.EpochSecs), strconv.Itoa(lockIn(sr.Curve, m))})
		for _, e := range sr.Curve {
			curves = append(curves, []string{u(sr.Seed), strconv.Itoa(e.Epoch), f(e.TrainLoss), f(e.TrainMetric), f(e.TestMetric), f(e.Seconds), fp(e.PainterTrain), fp(e.PainterTest)})
		}
		pf.Seeds = append(pf.Seeds, sr.Seed)
		pf.Pred = append(pf.Pred, sr.Pred)
	}
	pf.Centres = predCentres(testCentres)
	// Every file is written atomically, and result.json (what a resumed run reads back, with
	// the predictions of the seeds it lists) after the others: a process killed in between
	// leaves a result.json whose seeds all have their predictions.
	b, err := json.Marshal(pf)
	if err != nil {
		return err
	}
	if err := rundir.WriteFileAtomic(filepath.Join(dir, "predictions.json"), b); err != nil {
		return err
	}
	if err := writeCSV(filepath.Join(dir, "results.csv"), rows); err != nil {
		return err
	}
	if err := writeCSV(filepath.Join(dir, "curves.csv"), curves); err != nil {
		return err
	}
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		return err
	}
	if err := rundir.WriteFileAtomic(filepath.Join(dir, "table.txt"), table.Bytes()); err != nil {
		return err
	}
	crashpoint.Hit("save") // the tables written, result.json not yet
	if b, err = json.MarshalIndent(r, "", "  "); err != nil {
		return err
	}
	if err := rundir.WriteFileAtomic(filepath.Join(dir, "result.json"), b); err != nil {
		return err
	}
	return Plot(dir)
}

func f(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
func u(v uint64) string  { return strconv.FormatUint(v, 10) }

func writeCSV(path string, rows [][]string) error {
	var b bytes.Buffer
	if err := csv.NewWriter(&b).WriteAll(rows); err != nil {
		return err
	}
	return rundir.WriteFileAtomic(path, b.Bytes())
}

// loadPredFile reads a predictions.json written by Save.
func loadPredFile(dir string) (predFile, error) {
	var pf predFile
	b, err := os.ReadFile(filepath.Join(dir, "predictions.json"))
	if err != nil {
		return pf, err
	}
	if err := json.Unmarshal(b, &pf); err != nil {
		return pf, fmt.Errorf("%s/predictions.json: %w", dir, err)
	}
	return pf, nil
}

// Load reads a result.json written by Save.
func Load(dir string) (*Result, error) {
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "result.json"), err)
	}
	return &r, nil
}

// WriteMarkdown prints one row per run: task, split, model, seeds, the train and test metric at
// the best test epoch (median, then each seed), parameters, time to best, seconds per epoch and
// epochs run.
func WriteMarkdown(w io.Writer, rs []*Result) error {
	if _, err := fmt.Fprintln(w, "| task | split | model | recipe | seeds | train metric | test metric | params | time to best (s) | s/epoch | epochs run | locked in from |\n| --- | --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | --- | --- |"); err != nil {
		return err
	}
	for _, r := range rs {
		m := TaskMetric(r.Config.Task)
		s := r.Summarise()
		list := func(v []float64, show func(float64) string) string {
			out := show(median(v))
			if len(v) > 1 {
				parts := make([]string, len(v))
				for i, x := range v {
					parts[i] = show(x)
				}
				out += " (" + strings.Join(parts, ", ") + ")"
			}
			return out
		}
		runs, locks := make([]string, len(r.Seeds)), make([]string, len(r.Seeds))
		for i, sr := range r.Seeds {
			runs[i] = strconv.Itoa(sr.Epochs)
			if sr.Interrupted {
				runs[i] += "*"
			}
			locks[i] = lockText(lockIn(sr.Curve, m))
		}
		secs := func(v float64) string { return fmt.Sprintf("%.0f", v) }
		if _, err := fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %s | %s | %d | %s | %.1f | %s | %s |\n", s.Task, s.Split, s.Model, r.Config.RecipeText(), s.Seeds,
			list(s.TrainAtBest, m.Show), list(s.BestTest, m.Show), s.Params, list(s.TimeToBest, secs), s.EpochSecs, strings.Join(runs, ", "), strings.Join(locks, ", ")); err != nil {
			return err
		}
	}
	return nil
}

// RecipeText is the configuration's training recipe in one line.
func (c Config) RecipeText() string {
	s := fmt.Sprintf("lr %g, l2 %g, batch %d", c.LR, c.L2, c.Batch)
	if c.Recipe == "gaze" && c.Task == Regression && c.Model == "coordconv" {
		s += ", hot-pixel init"
	}
	if len(c.LRMilestones) > 0 {
		g := c.LRGamma
		if g == 0 {
			g = 0.1
		}
		var ms []string
		for _, m := range c.LRMilestones {
			ms = append(ms, strconv.Itoa(m))
		}
		s += fmt.Sprintf(", lr ×%g after epochs %s", g, strings.Join(ms, ", "))
	}
	if c.Model == "conv" && c.Task != Regression {
		o := c.Opts.withDefaults()
		s += fmt.Sprintf(", fs %d, m %d", o.FS, o.Mul)
	} else if c.Model == "conv" {
		s += fmt.Sprintf(", m %d", c.Opts.withDefaults().Mul)
	}
	s += c.Opts.Describe()
	if c.Subsample > 1 {
		s += fmt.Sprintf(", every %dth centre", c.Subsample)
	}
	return s
}

// SortBest orders results by the median over seeds of their best test metric, best first; among
// equal ones (baselines that all score 0 on the unseen quadrant), by the median train metric at
// that epoch, as a seed's best epoch is chosen.
func SortBest(rs []*Result) {
	sort.SliceStable(rs, func(i, j int) bool {
		m := TaskMetric(rs[i].Config.Task)
		a, b := rs[i].Summarise(), rs[j].Summarise()
		ta, tb := median(a.BestTest), median(b.BestTest)
		if ta != tb {
			return m.better(ta, tb)
		}
		return m.better(median(a.TrainAtBest), median(b.TrainAtBest))
	})
}

// Comparison sets a task and split's CoordConv result against its best conv baseline: the
// parameters of each, the baseline's best test metric and the wall time it took to get there,
// and the wall time CoordConv took to first match that metric (the paper's "10–100× fewer
// parameters, 150× faster" claim, measured on the same device).
type Comparison struct {
	Task, Split              string
	Metric                   Metric
	CoordParams, ConvParams  int
	ConvBest                 float64 // the baseline's best test metric over its seeds
	ConvTime                 float64 // seconds the baseline's best seed took to reach it
	ConvWall                 float64 // seconds of every baseline run of this task and split (the sweep), all seeds
	CoordBest                float64 // the median over CoordConv seeds of the best test metric
	CoordBestTime            float64 // the median over CoordConv seeds of the seconds to that seed's best
	CoordTime                float64 // median over CoordConv seeds of the seconds to first match ConvBest; NaN if none did
	CoordMatched, CoordSeeds int     // CoordConv seeds that matched ConvBest, of all
}

// Compare pairs, per task and split, the CoordConv result (the last one given, if several) with
// the best conv baseline among rs (ranked as SortBest ranks them). Wall times include the
// per-epoch evaluation on both sides.
func Compare(rs []*Result) []Comparison {
	type key struct{ task, split string }
	coord := map[key]*Result{}
	conv := map[key][]*Result{}
	var order []key
	for _, r := range rs {
		k := key{string(r.Config.Task), r.Config.Split}
		switch r.Config.Model {
		case "coordconv":
			if coord[k] == nil {
				order = append(order, k)
			}
			coord[k] = r
		case "conv":
			conv[k] = append(conv[k], r)
		}
	}
	var out []Comparison
	for _, k := range order {
		if len(conv[k]) == 0 {
			continue
		}
		bases := append([]*Result(nil), conv[k]...)
		SortBest(bases)
		base, cc := bases[0], coord[k]
		m := TaskMetric(cc.Config.Task)
		c := Comparison{Task: k.task, Split: k.split, Metric: m, CoordSeeds: len(cc.Seeds), CoordTime: math.NaN()}
		for i, sr := range base.Seeds {
			if i == 0 || m.better(sr.BestTest, c.ConvBest) {
				c.ConvBest, c.ConvTime, c.ConvParams = sr.BestTest, sr.TimeToBest, sr.Params
			}
		}
		for _, r := range bases {
			for _, sr := range r.Seeds {
				c.ConvWall += sr.Wall
			}
		}
		sum := cc.Summarise()
		c.CoordBest, c.CoordBestTime = median(sum.BestTest), median(sum.TimeToBest)
		var times []float64
		for _, sr := range cc.Seeds {
			c.CoordParams = sr.Params
			for _, e := range sr.Curve {
				if e.TestMetric == c.ConvBest || m.better(e.TestMetric, c.ConvBest) {
					times = append(times, e.Seconds)
					break
				}
			}
		}
		c.CoordMatched = len(times)
		if len(times) > 0 {
			c.CoordTime = median(times)
		}
		out = append(out, c)
	}
	return out
}

// WriteComparisons prints Compare's rows as a markdown table.
func WriteComparisons(w io.Writer, cs []Comparison) error {
	if len(cs) == 0 {
		return nil
	}
	if _, err := fmt.Fprintln(w, "\n| task | split | params conv / CoordConv | best conv test metric | conv time to it (s) | conv sweep wall (s) | CoordConv time to match it (s) | ratio | CoordConv best test metric, time to it (s) | CoordConv seeds matching |\n| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |"); err != nil {
		return err
	}
	for _, c := range cs {
		ratio, coordT := "—", "never"
		if !math.IsNaN(c.CoordTime) {
			coordT = fmt.Sprintf("%.0f", c.CoordTime)
			ratio = fmt.Sprintf("%.1f×", c.ConvTime/c.CoordTime)
		}
		if _, err := fmt.Fprintf(w, "| %s | %s | %d / %d = %.1f× | %s | %.0f | %.0f | %s | %s | %s, %.0f | %d of %d |\n", c.Task, c.Split,
			c.ConvParams, c.CoordParams, float64(c.ConvParams)/float64(c.CoordParams), c.Metric.Show(c.ConvBest),
			c.ConvTime, c.ConvWall, coordT, ratio, c.Metric.Show(c.CoordBest), c.CoordBestTime, c.CoordMatched, c.CoordSeeds); err != nil {
			return err
		}
	}
	return nil
}

// fp formats an optional value: empty when absent.
func fp(v *float64) string {
	if v == nil {
		return ""
	}
	return f(*v)
}
