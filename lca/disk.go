package lca

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/bytesize"
	"github.com/gazeml/gaze/train"
)

// DiskPlan is the most an LCA run's folder (or a part folder) holds at once, by kind of file:
// the one estimate behind the free-space check, --max-disk and the plan a run prints before it
// starts.
type DiskPlan struct {
	Weights      int64 // weights.npy
	Full         int64 // lca.npy (--save-lca)
	Rows         int64 // losses.csv and the per-layer and per-neuron files, one row per iteration or window
	Classes      int64 // the per-class files (--per-class)
	HeldOut      int64 // held_out/ (--lca-held-out)
	Accumulators int64 // lca_total.npy, helped_count.npy and their temporary copies
	Checkpoints  int64 // the checkpoint and its replacement, written beside it before the rename
	Logs         int64 // metrics.csv, epochs.csv, config.json, result.json, meta.json, the index files
	Report       int64 // report/
}

// Total is the plan's sum.
func (p DiskPlan) Total() int64 {
	return p.Weights + p.Full + p.Rows + p.Classes + p.HeldOut + p.Accumulators + p.Checkpoints + p.Logs + p.Report
}

// String lists the plan's items, largest first, and its total.
func (p DiskPlan) String() string {
	items := []struct {
		name string
		b    int64
	}{{"weights.npy", p.Weights}, {"lca.npy", p.Full}, {"per-row LCA files", p.Rows}, {"per-class files", p.Classes},
		{"held_out/", p.HeldOut}, {"accumulators", p.Accumulators}, {"checkpoints", p.Checkpoints}, {"logs and metadata", p.Logs}, {"report", p.Report}}
	sort.SliceStable(items, func(i, j int) bool { return items[i].b > items[j].b })
	var parts []string
	for _, it := range items {
		if it.b > 0 {
			parts = append(parts, it.name+" "+bytesize.Format(it.b))
		}
	}
	return fmt.Sprintf("%s (%s)", bytesize.Format(p.Total()), strings.Join(parts, ", "))
}

// DiskNeed is the plan of a run's folder: the recorder's files (rec.plan), the checkpoint twice
// (the old one and its replacement), the accumulators' temporary copies, the training logs,
// meta.json and the index files (indices examples), and the report.
func DiskNeed(rec *Recorder, checkpoint int64, T, indices int, params []engine.Param) DiskPlan {
	d := int64(rec.m.Arena.D)
	p := rec.plan(T)
	p.Checkpoints = 2 * checkpoint
	p.Accumulators += 12*d + 2*npyHeader
	p.Logs = int64(T)*96 + 64<<10 // metrics.csv, epochs.csv, config.json, result.json
	p.Logs += int64(len(params))*256 + int64(rec.neurons.Count)*16 + int64(indices)*8 + 2*npyHeader
	p.Report = ReportBytes(len(rec.layers))
	return p
}

// ReportBytes bounds the size of the report of a run with the given number of layers: six
// figures and a heat map per layer as PNGs (a few hundred kilobytes each at most), and the HTML
// holding them again in base64.
func ReportBytes(layers int) int64 { return int64(6+layers) * (1 << 20) }

// runPlan is the disk plan of an LCA run of sp in a session: the LCA files an online run
// writes, or for an offline run its trajectory and the files merge will write (lca.npy when
// asked for).
func runPlan(s *train.Session, sp Spec) DiskPlan {
	out := sp.outputs()
	if sp.Offline {
		out.LCA = sp.SaveLCA
	}
	sets, classes := 1, 0
	if sp.HeldOut {
		sets = 2
	}
	if sp.Config.PerClass {
		classes = s.Data.Classes
	}
	rec := NewRecorder(s.Dir(), s.Model, nil, out)
	for k := range sets {
		rec.splits = append(rec.splits, &splitRec{full: k == 0 && out.LCA, classes: classes})
	}
	n := s.Data.Train.Len()
	if sp.Examples > 0 {
		n = min(n, sp.Examples)
	}
	if s.Data.HeldOut != nil {
		n += s.Data.HeldOut.Len()
	}
	return DiskNeed(rec, s.Trainer.CheckpointBytes(rec.StateBytes()), s.Trainer.TotalSteps(), n, s.Model.Arena.Params)
}

// checkDisk prints the run's disk plan and checks, before the run folder is touched, that it
// fits --max-disk (maxDisk > 0), naming the flags that would make it fit, and that the folder's
// file system has room for what the run still writes (the plan, less what a resumed run's files
// hold already), which it returns.
func checkDisk(s *train.Session, sp Spec, maxDisk int64) (int64, error) {
	p := runPlan(s, sp)
	s.Logf("disk plan: the run folder holds at most %s", p)
	if maxDisk > 0 && p.Total() > maxDisk {
		return 0, fmt.Errorf("--max-disk %s: the run would write %s; %s", bytesize.Format(maxDisk), p, fitHints(s, sp, maxDisk))
	}
	need := max(p.Total()-dirBytes(s.Dir()), 0)
	return need, CheckDisk(existingParent(s.Dir()), need)
}

// fitHints names the changes of the LCA flags that make a run's plan fit maxDisk, each with the
// plan's total then: the smallest --save-weights-every and --lca-every that fit, and dropping
// --save-lca, --save-weights, --per-class or --lca-held-out.
func fitHints(s *train.Session, sp Spec, maxDisk int64) string {
	fits := func(v Spec) (int64, bool) {
		t := runPlan(s, v).Total()
		return t, t <= maxDisk
	}
	var hints []string
	T := s.Trainer.TotalSteps()
	smallest := func(flag string, set func(*Spec, int)) {
		v := sp
		set(&v, T)
		if _, ok := fits(v); !ok {
			return
		}
		k := sort.Search(T-1, func(i int) bool { v := sp; set(&v, i+2); _, ok := fits(v); return ok }) + 2
		v = sp
		set(&v, k)
		t, _ := fits(v)
		hints = append(hints, fmt.Sprintf("%s %d (%s)", flag, k, bytesize.Format(t)))
	}
	if sp.SaveW && T > 1 {
		smallest("--save-weights-every", func(v *Spec, k int) { v.SaveWEvery = k })
	}
	if !sp.Offline && T > 1 {
		smallest("--lca-every", func(v *Spec, k int) { v.Every = k })
	}
	for _, c := range []struct {
		on   bool
		flag string
		off  func(*Spec)
	}{
		{sp.SaveLCA, "--save-lca", func(v *Spec) { v.SaveLCA = false }},
		{sp.SaveW && !sp.Offline, "--save-weights", func(v *Spec) { v.SaveW, v.SaveWEvery = false, 0 }},
		{sp.Config.PerClass, "--per-class", func(v *Spec) { v.Config.PerClass = false }},
		{sp.HeldOut, "--lca-held-out", func(v *Spec) { v.HeldOut = false }},
	} {
		if !c.on {
			continue
		}
		v := sp
		c.off(&v)
		if t, ok := fits(v); ok {
			hints = append(hints, fmt.Sprintf("without %s (%s)", c.flag, bytesize.Format(t)))
		}
	}
	if len(hints) == 0 {
		return "no single change of --save-weights-every, --lca-every, --save-lca, --save-weights, --per-class or --lca-held-out makes it fit: raise --max-disk, train fewer epochs or choose a smaller model"
	}
	return "it fits with " + strings.Join(hints, ", or ")
}

// computePlan is the disk plan of a part folder of rows rows (gaze lca compute): the recorder's
// files, the accumulators' copies and meta.json.
func computePlan(rec *Recorder, iters int, meta *Meta) DiskPlan {
	p := rec.plan(iters)
	p.Accumulators += 12*int64(meta.D) + 2*npyHeader
	p.Logs = int64(len(meta.Params))*256 + int64(rec.neurons.Count)*16 + 64<<10
	return p
}

// dirBytes is the size of the files directly in dir (0 when it does not exist).
func dirBytes(dir string) int64 {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
	}
	return n
}

// existingParent is dir or its nearest existing ancestor: where a folder not made yet will be.
func existingParent(dir string) string {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			return d
		}
	}
}
