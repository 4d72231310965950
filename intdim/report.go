package intdim

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// DimStat summarises the finished seeds of one subspace dimension.
type DimStat struct {
	Dim                 int
	Accs                []float64 // per finished seed
	Mean, Std, Min, Max float64
	Failed              int
}

// Summary is a sweep's outcome: accuracy against d, both baselines and d_int90 under each.
type Summary struct {
	Dims    []DimStat
	Trained DimStat // the directly trained baseline over seeds (Dim 0)
	Global  float64
	// DInt90 under the global and the trained baseline: the smallest swept d whose mean accuracy
	// exceeds 0.9 × baseline; 0 when no swept d does.
	DInt90Global, DInt90Trained int
	// 95 % bootstrap intervals over seeds (percentiles 2.5 and 97.5 of d_int90 when each d's
	// seeds, and the baseline's, are resampled with replacement); 0 stands for "not reached".
	CIGlobal, CITrained [2]int
	Bootstrap           int
	Failed              []Result
	Missing             []int
}

// MarshalJSON writes a d without finished seeds (a sweep still running) with null statistics:
// their NaN has no JSON form, and a report of a partial sweep must still be written.
func (s DimStat) MarshalJSON() ([]byte, error) {
	num := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		Dim                 int
		Accs                []float64
		Mean, Std, Min, Max *float64
		Failed              int
	}{s.Dim, s.Accs, num(s.Mean), num(s.Std), num(s.Min), num(s.Max), s.Failed})
}

func stat(dim int, accs []float64) DimStat {
	s := DimStat{Dim: dim, Accs: accs, Min: math.Inf(1), Max: math.Inf(-1)}
	if len(accs) == 0 {
		s.Mean, s.Std, s.Min, s.Max = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		return s
	}
	for _, a := range accs {
		s.Mean += a
		s.Min, s.Max = min(s.Min, a), max(s.Max, a)
	}
	s.Mean /= float64(len(accs))
	for _, a := range accs {
		s.Std += (a - s.Mean) * (a - s.Mean)
	}
	if len(accs) > 1 {
		s.Std = math.Sqrt(s.Std / float64(len(accs)-1))
	} else {
		s.Std = 0
	}
	return s
}

// dint90 is the smallest d (dims sorted ascending) whose mean exceeds 0.9·baseline, or 0.
func dint90(dims []int, means []float64, baseline float64) int {
	for i, d := range dims {
		if means[i] > 0.9*baseline {
			return d
		}
	}
	return 0
}

// Summarize computes accuracy against d, the baselines and d_int90 with bootstrap intervals
// from B resamples (a fixed seed, so a report is reproducible).
func Summarize(spec Spec, results []Result, missing []int, B int) Summary {
	s := Summary{Global: spec.Global, Bootstrap: B, Missing: missing}
	byDim := map[int][]float64{}
	failed := map[int]int{}
	var base []float64
	for _, r := range results {
		if r.Status != StatusOK {
			s.Failed = append(s.Failed, r)
			failed[r.Dim]++
			continue
		}
		if r.Baseline {
			base = append(base, r.TestAcc)
		} else {
			byDim[r.Dim] = append(byDim[r.Dim], r.TestAcc)
		}
	}
	s.Trained = stat(0, base)
	s.Trained.Failed = failed[0]
	dims := append([]int(nil), spec.Dims...)
	sort.Ints(dims)
	var swept []int
	var means []float64
	for _, d := range dims {
		st := stat(d, byDim[d])
		st.Failed = failed[d]
		s.Dims = append(s.Dims, st)
		if len(st.Accs) > 0 {
			swept = append(swept, d)
			means = append(means, st.Mean)
		}
	}
	s.DInt90Global = dint90(swept, means, s.Global)
	if len(base) > 0 {
		s.DInt90Trained = dint90(swept, means, s.Trained.Mean)
	}
	if B > 0 && len(swept) > 0 {
		r := rand.New(rand.NewPCG(90, 2018))
		g, t := make([]int, B), make([]int, B)
		bm := make([]float64, len(swept))
		resample := func(a []float64) float64 {
			var m float64
			for range a {
				m += a[r.IntN(len(a))]
			}
			return m / float64(len(a))
		}
		for b := range B {
			for i, d := range swept {
				bm[i] = resample(byDim[d])
			}
			g[b] = dint90(swept, bm, s.Global)
			if len(base) > 0 {
				t[b] = dint90(swept, bm, resample(base))
			}
		}
		s.CIGlobal = percentiles(g)
		if len(base) > 0 {
			s.CITrained = percentiles(t)
		}
	}
	return s
}

// percentiles returns the 2.5th and 97.5th percentiles of d_int90 draws, with "not reached" (0)
// ranked above every d.
func percentiles(v []int) [2]int {
	key := func(d int) int {
		if d == 0 {
			return math.MaxInt
		}
		return d
	}
	sort.Slice(v, func(i, j int) bool { return key(v[i]) < key(v[j]) })
	n := len(v)
	return [2]int{v[int(0.025*float64(n-1)+0.5)], v[int(0.975*float64(n-1)+0.5)]}
}

func dstr(d int, maxD int) string {
	if d == 0 {
		return fmt.Sprintf("> %d (not reached)", maxD)
	}
	return fmt.Sprint(d)
}

// WriteText prints the summary as a table.
func (s Summary) WriteText(w io.Writer, spec Spec) {
	maxD := 0
	for _, d := range spec.Dims {
		maxD = max(maxD, d)
	}
	if spec.ES != nil {
		fmt.Fprintf(w, "intrinsic dimension: %s, %s projection, evolution strategies (population %d, σ %g, %d episode(s) per policy), %s lr %g, %d generations, %d seeds\n",
			spec.Model, spec.Proj, spec.Batch, spec.ES.Sigma, spec.ES.Episodes, spec.Opt.Kind, spec.Opt.LR, spec.Epochs, spec.Seeds)
		fmt.Fprintf(w, "acc = the final policy's mean return over %d evaluation episodes / %d; the baseline is ES on all D parameters\n",
			spec.ES.EvalEpisodes, CartPoleMaxSteps)
	} else {
		fmt.Fprintf(w, "intrinsic dimension: %s on %s, %s projection, %s lr %g, batch %d, %d epochs, %d seeds\n",
			spec.Model, spec.Data, spec.Proj, spec.Opt.Kind, spec.Opt.LR, spec.Batch, spec.Epochs, spec.Seeds)
	}
	fmt.Fprintf(w, "%8s %4s %9s %9s %9s %9s %6s\n", "d", "n", "mean acc", "std", "min", "max", "failed")
	row := func(name string, st DimStat) {
		if len(st.Accs) == 0 { // no finished seed yet
			fmt.Fprintf(w, "%8s %4d %9s %9s %9s %9s %6d\n", name, 0, "-", "-", "-", "-", st.Failed)
			return
		}
		fmt.Fprintf(w, "%8s %4d %9.4f %9.4f %9.4f %9.4f %6d\n", name, len(st.Accs), st.Mean, st.Std, st.Min, st.Max, st.Failed)
	}
	for _, st := range s.Dims {
		row(fmt.Sprint(st.Dim), st)
	}
	row("baseline", s.Trained)
	fmt.Fprintf(w, "global baseline %.4f: 90%% line %.4f, d_int90 = %s, 95%% bootstrap interval over seeds [%s, %s]\n",
		s.Global, 0.9*s.Global, dstr(s.DInt90Global, maxD), dstr(s.CIGlobal[0], maxD), dstr(s.CIGlobal[1], maxD))
	if len(s.Trained.Accs) > 0 {
		fmt.Fprintf(w, "trained baseline %.4f: 90%% line %.4f, d_int90 = %s, 95%% bootstrap interval over seeds [%s, %s]\n",
			s.Trained.Mean, 0.9*s.Trained.Mean, dstr(s.DInt90Trained, maxD), dstr(s.CITrained[0], maxD), dstr(s.CITrained[1], maxD))
	} else {
		fmt.Fprintln(w, "trained baseline: no finished baseline point yet")
	}
	for _, f := range s.Failed {
		fmt.Fprintf(w, "failed: point %d (%s): %s\n", f.Index, f.Name(), f.Reason)
	}
	if len(s.Missing) > 0 {
		fmt.Fprintf(w, "missing: %d of %d points have no result yet (indices %s)\n", len(s.Missing), spec.NumPoints(), ranges(s.Missing))
	}
}

// ranges prints sorted indices compactly: 0-3,7,9-10.
func ranges(v []int) string {
	var parts []string
	for i := 0; i < len(v); {
		j := i
		for j+1 < len(v) && v[j+1] == v[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", v[i], v[j]))
		} else {
			parts = append(parts, fmt.Sprint(v[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// WriteCSV writes one row per point.
func WriteCSV(w io.Writer, results []Result) {
	fmt.Fprintln(w, "index,name,baseline,d,seed,status,test_acc,test_loss,train_loss,epochs,iters,seconds,device,reason")
	for _, r := range results {
		fmt.Fprintf(w, "%d,%s,%t,%d,%d,%s,%.6f,%.6f,%.6f,%d,%d,%.2f,%s,%q\n", r.Index, r.Name(), r.Baseline, r.Dim, r.Seed,
			r.Status, r.TestAcc, r.TestLoss, r.TrainLoss, r.Epochs, r.Iters, r.Seconds, r.Device, r.Reason)
	}
}
