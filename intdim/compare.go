package intdim

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Compared is one sweep of a comparison (gaze intdim compare): its folder, spec and summary.
type Compared struct {
	Dir     string
	Label   string // "model on data, proj"
	Spec    Spec
	Summary Summary
}

// Compare reads and summarises each sweep folder (B bootstrap resamples each), in order.
func Compare(dirs []string, B int) ([]Compared, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("compare: name at least one sweep folder")
	}
	var out []Compared
	for _, dir := range dirs {
		spec, results, missing, err := Collect(dir)
		if err != nil {
			return nil, err
		}
		out = append(out, Compared{Dir: dir, Label: fmt.Sprintf("%s on %s, %s", spec.Model, spec.Data, spec.Proj),
			Spec: spec, Summary: Summarize(spec, results, missing, B)})
	}
	return out, nil
}

// WriteCompareTables writes two Markdown tables: d_int90 of each sweep under both baselines
// with their bootstrap intervals, and each sweep's mean test accuracy (min–max over seeds) at
// every d any of them swept.
func WriteCompareTables(w io.Writer, cs []Compared) {
	fmt.Fprintln(w, "| sweep | seeds × epochs | trained baseline | d_int90 (global) [95 % interval] | d_int90 (trained) [95 % interval] |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: |")
	dset := map[int]bool{}
	for _, c := range cs {
		s, maxD := c.Summary, 0
		for _, st := range s.Dims {
			dset[st.Dim] = true
			maxD = max(maxD, st.Dim)
		}
		base, trained := "–", "–"
		if len(s.Trained.Accs) > 0 {
			base = fmt.Sprintf("%.4f (%d)", s.Trained.Mean, len(s.Trained.Accs))
			trained = fmt.Sprintf("%s [%s, %s]", dstr(s.DInt90Trained, maxD), dstr(s.CITrained[0], maxD), dstr(s.CITrained[1], maxD))
		}
		note := ""
		switch n := len(s.Missing); {
		case n == 1:
			note = " (1 point missing)"
		case n > 1:
			note = fmt.Sprintf(" (%d points missing)", n)
		}
		global := fmt.Sprintf("%s [%s, %s]", dstr(s.DInt90Global, maxD), dstr(s.CIGlobal[0], maxD), dstr(s.CIGlobal[1], maxD))
		if s.DInt90Global == 0 && s.CIGlobal == [2]int{} {
			global = dstr(0, maxD) // in every resample too
		}
		fmt.Fprintf(w, "| %s%s | %d × %d | %s | %s | %s |\n", c.Label, note, c.Spec.Seeds, c.Spec.Epochs, base, global, trained)
	}
	var dims []int
	for d := range dset {
		dims = append(dims, d)
	}
	sort.Ints(dims)
	fmt.Fprintln(w)
	fmt.Fprint(w, "| mean test accuracy (min–max) |")
	for _, d := range dims {
		fmt.Fprintf(w, " d = %d |", d)
	}
	fmt.Fprint(w, " trained baseline |\n| --- |"+strings.Repeat(" ---: |", len(dims)+1)+"\n")
	cell := func(st DimStat) string {
		if len(st.Accs) == 0 {
			return "–"
		}
		if len(st.Accs) == 1 {
			return fmt.Sprintf("%.4f", st.Mean)
		}
		return fmt.Sprintf("%.4f (%.4f–%.4f)", st.Mean, st.Min, st.Max)
	}
	for _, c := range cs {
		fmt.Fprintf(w, "| %s |", c.Label)
		by := map[int]DimStat{}
		for _, st := range c.Summary.Dims {
			by[st.Dim] = st
		}
		for _, d := range dims {
			st, ok := by[d]
			if !ok {
				fmt.Fprint(w, " |")
				continue
			}
			fmt.Fprintf(w, " %s |", cell(st))
		}
		fmt.Fprintf(w, " %s |\n", cell(c.Summary.Trained))
	}
}

// compareColors tell the sweeps apart in the plot (ColorBrewer's Dark2).
var compareColors = []color.RGBA{{27, 158, 119, 255}, {217, 95, 2, 255}, {117, 112, 179, 255}, {231, 41, 138, 255},
	{102, 166, 30, 255}, {230, 171, 2, 255}, {166, 118, 29, 255}, {102, 102, 102, 255}}

// WriteComparePlot draws every sweep's mean test accuracy against d (its seeds as dots) in its
// own colour, with the 90 % line of its trained baseline dashed in the same colour and the 90 %
// line of the global baseline in black; d on a log axis when the swept values span more than
// 10×. format is "png" or "svg".
func WriteComparePlot(w io.Writer, cs []Compared, format string) error {
	p := plot.New()
	p.Title.Text = "test accuracy against the subspace dimension d"
	p.X.Label.Text = "subspace dimension d"
	p.Y.Label.Text = "test accuracy"
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range cs {
		for _, st := range c.Summary.Dims {
			if len(st.Accs) > 0 {
				lo, hi = min(lo, float64(st.Dim)), max(hi, float64(st.Dim))
			}
		}
	}
	if math.IsInf(lo, 1) {
		return fmt.Errorf("nothing to plot: no sweep has a finished subspace point")
	}
	logAxisIfWide(p, lo, hi)
	globals := map[float64]bool{}
	for i, c := range cs {
		col := compareColors[i%len(compareColors)]
		var dots, means plotter.XYs
		for _, st := range c.Summary.Dims {
			for _, a := range st.Accs {
				dots = append(dots, plotter.XY{X: float64(st.Dim), Y: a})
			}
			if len(st.Accs) > 0 {
				means = append(means, plotter.XY{X: float64(st.Dim), Y: st.Mean})
			}
		}
		if len(means) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(means)
		if err != nil {
			return err
		}
		l.Color, l.Width = col, vg.Points(1.5)
		sc.Color, sc.Shape, sc.Radius = col, draw.CircleGlyph{}, vg.Points(2.5)
		p.Add(l, sc)
		s, maxD := c.Summary, int(hi)
		label := fmt.Sprintf("%s: d_int90 %s", c.Label, dstr(s.DInt90Global, maxD))
		if len(s.Trained.Accs) > 0 {
			label += fmt.Sprintf(" (global), %s (trained, dashed)", dstr(s.DInt90Trained, maxD))
			if _, err := addHLine(p, lo, hi, 0.9*s.Trained.Mean, col, true); err != nil {
				return err
			}
		}
		p.Legend.Add(label, l, sc)
		if len(dots) > 0 {
			d, err := plotter.NewScatter(dots)
			if err != nil {
				return err
			}
			d.Color, d.Shape, d.Radius = col, draw.CircleGlyph{}, vg.Points(1.2)
			p.Add(d)
		}
		globals[s.Global] = true
	}
	for g := range globals {
		l, err := addHLine(p, lo, hi, 0.9*g, color.Black, false)
		if err != nil {
			return err
		}
		p.Legend.Add(fmt.Sprintf("90%% of the global baseline %.3g", g), l)
	}
	p.Legend.Top, p.Legend.Left = true, true
	// Room above the data for the legend (about 15 % of the data's span per entry).
	p.Y.Max = math.Max(p.Y.Max, 0.9) + 0.15*float64(len(cs)+len(globals))*(math.Max(p.Y.Max, 0.9)-p.Y.Min)
	return writePlot(w, p, 20, 13, format)
}
