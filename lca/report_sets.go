package lca

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// The report's figures of per-class and held-out LCA, when the run has them.

// setPlots lists the per-class and held-out figures.
func setPlots(r *Run, s Summary) []reportPlot {
	d := reportData{r, s}
	var out []reportPlot
	if r.Classes != nil {
		out = append(out,
			reportPlot{"class_loss", "Per-class loss: true against rebuilt from LCA", "Each class's loss L_c over its examples of the LCA set (solid) and L_c(θ₀) + cumulative ΣLCA_c (dashed), one colour per class. L = Σ_c (n_c/n)·L_c.",
				16 * vg.Centimeter, 10 * vg.Centimeter, d.drawClassLoss},
			reportPlot{"class_layers", "Total LCA per class and layer", "Σ over iterations of each class's per-layer LCA; blue helped the class, red hurt it (colour scale symmetric).",
				16 * vg.Centimeter, 9 * vg.Centimeter, d.drawClassLayers})
	}
	if r.HeldOut != nil {
		out = append(out,
			reportPlot{"held_out_layers", "Total LCA per layer: LCA set against held-out split", "Σ over iterations of each layer's LCA on the LCA set (training data) and on the held-out split. A layer that helps both helps generalisation; one that helps only the training data fits it.",
				16 * vg.Centimeter, 9 * vg.Centimeter, d.drawHeldOutLayers},
			reportPlot{"held_out_loss", "Loss on the LCA set and the held-out split", "True loss (solid) and the loss rebuilt from cumulative ΣLCA (dashed) on both splits.",
				16 * vg.Centimeter, 9 * vg.Centimeter, d.drawHeldOutLoss})
	}
	return out
}

func (d reportData) drawClassLoss(p *plot.Plot) error {
	cr := d.r.Classes
	p.X.Label.Text, p.Y.Label.Text = "iteration", "loss of the class"
	for c := range cr.Counts {
		if cr.Counts[c] == 0 {
			continue
		}
		cum := cr.Before[c][0]
		truth, err := plotter.NewLine(d.series(func(t int) float64 { return cr.After[c][t] }))
		if err != nil {
			return err
		}
		rebuilt, err := plotter.NewLine(d.series(func(t int) float64 { cum += cr.Sum[c][t]; return cum }))
		if err != nil {
			return err
		}
		truth.Color, rebuilt.Color = layerColor(c), layerColor(c)
		truth.Width, rebuilt.Width = vg.Points(1), vg.Points(1)
		rebuilt.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		p.Add(truth, rebuilt)
		p.Legend.Add(strconv.Itoa(c), truth)
	}
	p.Legend.Top = true
	return nil
}

// classLayerGrid is the classes × layers totals as a heat-map grid.
type classLayerGrid struct {
	v      [][]float64 // [class][layer]
	lo, hi float64
}

func (g classLayerGrid) Dims() (c, r int) { return len(g.v[0]), len(g.v) }
func (g classLayerGrid) X(c int) float64  { return float64(c) }
func (g classLayerGrid) Y(r int) float64  { return float64(r) }
func (g classLayerGrid) Z(c, r int) float64 {
	return math.Max(g.lo, math.Min(g.hi, g.v[r][c]))
}

func (d reportData) drawClassLayers(p *plot.Plot) error {
	g := classLayerGrid{}
	lim := 1e-12
	for _, cs := range d.s.Classes {
		g.v = append(g.v, cs.Layers)
		for _, v := range cs.Layers {
			lim = math.Max(lim, math.Abs(v))
		}
	}
	g.lo, g.hi = -lim, lim
	cm := moreland.SmoothBlueRed()
	cm.SetMin(-lim)
	cm.SetMax(lim)
	h := plotter.NewHeatMap(g, cm.Palette(255))
	h.Min, h.Max = -lim, lim
	p.Add(h)
	p.NominalX(d.r.Meta.Layers...)
	var classes []string
	for c := range g.v {
		classes = append(classes, strconv.Itoa(c))
	}
	p.NominalY(classes...)
	p.X.Label.Text, p.Y.Label.Text = "layer", "class"
	if len(d.r.Meta.Layers) > 8 {
		p.X.Tick.Label.Rotation = math.Pi / 3
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = -1, -0.5
	}
	return nil
}

func (d reportData) drawHeldOutLayers(p *plot.Plot) error {
	layers := d.s.Layers
	train, held := make(plotter.Values, len(layers)), make(plotter.Values, len(layers))
	names := make([]string, len(layers))
	for i, l := range layers {
		train[i], held[i], names[i] = l.TotalLCA, d.s.HeldOut.Layers[i].TotalLCA, l.Layer
	}
	w := vg.Points(max(6, 150/float64(len(layers))))
	a, err := plotter.NewBarChart(train, w)
	if err != nil {
		return err
	}
	b, err := plotter.NewBarChart(held, w)
	if err != nil {
		return err
	}
	a.Color, b.Color = color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}
	a.Offset, b.Offset = -w/2, w/2
	p.Add(a, b)
	p.Legend.Add("LCA set", a)
	p.Legend.Add("held-out split", b)
	p.Legend.Top = true
	p.NominalX(names...)
	p.Y.Label.Text = "total LCA"
	if len(names) > 8 {
		p.X.Tick.Label.Rotation = math.Pi / 3
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = -1, -0.5
	}
	return nil
}

func (d reportData) drawHeldOutLoss(p *plot.Plot) error {
	p.X.Label.Text, p.Y.Label.Text = "iteration", "loss"
	for k, r := range []*Run{d.r, d.r.HeldOut} {
		name := []string{"LCA set", "held-out split"}[k]
		cum := r.Before[0]
		truth, err := plotter.NewLine(d.series(func(t int) float64 { return r.After[t] }))
		if err != nil {
			return err
		}
		rebuilt, err := plotter.NewLine(d.series(func(t int) float64 { cum += r.Sum[t]; return cum }))
		if err != nil {
			return err
		}
		truth.Color, rebuilt.Color = layerColor(k), layerColor(k)
		truth.Width, rebuilt.Width = vg.Points(1), vg.Points(1)
		rebuilt.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		p.Add(truth, rebuilt)
		p.Legend.Add(name, truth)
		p.Legend.Add(name+", rebuilt", rebuilt)
	}
	p.Legend.Top = true
	return nil
}

// pairTable is a synchronisation result's pair ratios as rows for the HTML.
func pairTable(names []string, s *SyncResult) [][]string {
	var out [][]string
	for i, row := range s.Pairs {
		r := []string{names[i]}
		for _, v := range row {
			if v == nil {
				r = append(r, "–")
			} else {
				r = append(r, fmt.Sprintf("%.2f", *v))
			}
		}
		out = append(out, r)
	}
	return out
}
