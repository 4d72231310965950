package intdim

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// WriteSVG plots test accuracy against d: every seed as a dot, the mean as a line inside its
// min–max band, the 90 % lines of the global (red) and trained (blue) baselines, and d_int90
// under each as a vertical mark. d is on a log axis when the swept values span more than 10×.
// SVG keeps the module free of a plotting dependency and renders in any browser.
func (s Summary) WriteSVG(w io.Writer, spec Spec) error {
	const W, H, left, right, top, bottom = 720.0, 460.0, 70.0, 20.0, 40.0, 55.0
	var xs []float64
	lo, hi := math.Inf(1), math.Inf(-1)
	ymin := 1.0
	for _, st := range s.Dims {
		lo, hi = min(lo, float64(st.Dim)), max(hi, float64(st.Dim))
		for _, a := range st.Accs {
			ymin = min(ymin, a)
		}
	}
	if len(s.Dims) == 0 {
		return fmt.Errorf("nothing to plot: the sweep has no dimensions")
	}
	for _, a := range s.Trained.Accs {
		ymin = min(ymin, a)
	}
	ymin = math.Max(0, math.Floor(math.Min(ymin, 0.85*s.Global)*10)/10)
	logx := hi > 10*lo
	tx := func(d float64) float64 {
		if hi == lo {
			return left + (W-left-right)/2
		}
		if logx {
			return left + (W-left-right)*(math.Log10(d)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))
		}
		return left + (W-left-right)*(d-lo)/(hi-lo)
	}
	ty := func(a float64) float64 { return top + (H-top-bottom)*(1-(a-ymin)/(1-ymin)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-family="sans-serif" font-size="12">`+"\n", W, H)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%g" y="22" text-anchor="middle" font-size="14">%s on %s, %s projection (%d seeds, %d epochs)</text>`+"\n",
		W/2, spec.Model, spec.Data, spec.Proj, spec.Seeds, spec.Epochs)
	// Axes, ticks and grid.
	fmt.Fprintf(&b, `<path d="M%g %g V%g H%g" stroke="black" fill="none"/>`+"\n", left, top, H-bottom, W-right)
	for i := 0; i <= 5; i++ {
		a := ymin + (1-ymin)*float64(i)/5
		y := ty(a)
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%g" y="%.1f" text-anchor="end">%.2f</text>`+"\n", left, W-right, y, y, left-6, y+4, a)
	}
	for _, st := range s.Dims {
		xs = append(xs, float64(st.Dim))
	}
	for _, d := range xs {
		x := tx(d)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%g" y2="%g" stroke="black"/><text x="%.1f" y="%g" text-anchor="middle" font-size="10">%g</text>`+"\n", x, x, H-bottom, H-bottom+5, x, H-bottom+18, d)
	}
	xlabel := "subspace dimension d"
	if logx {
		xlabel += " (log scale)"
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">%s</text>`+"\n", (left+W-right)/2, H-12, xlabel)
	fmt.Fprintf(&b, `<text transform="translate(18 %g) rotate(-90)" text-anchor="middle">test accuracy</text>`+"\n", (top+H-bottom)/2)
	// Band, mean line, dots.
	var band, upper, mean []string
	for _, st := range s.Dims {
		if len(st.Accs) == 0 {
			continue
		}
		x := tx(float64(st.Dim))
		upper = append(upper, fmt.Sprintf("%.1f %.1f", x, ty(st.Max)))
		band = append([]string{fmt.Sprintf("%.1f %.1f", x, ty(st.Min))}, band...)
		mean = append(mean, fmt.Sprintf("%.1f %.1f", x, ty(st.Mean)))
		for _, a := range st.Accs {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="#555"/>`+"\n", x, ty(a))
		}
	}
	if len(mean) > 0 {
		fmt.Fprintf(&b, `<polygon points="%s" fill="#9ecae1" fill-opacity="0.5"/>`+"\n", strings.Join(append(upper, band...), " "))
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#08519c" stroke-width="2"/>`+"\n", strings.Join(mean, " "))
	}
	// The global label sits above its line at the right, the trained one below its line at the
	// left, so they stay readable when the two lines coincide.
	hline := func(a float64, color, label string, below bool) {
		y := ty(a)
		x, anchor, ly := W-right-4, "end", y-4
		if below {
			x, anchor, ly = left+4, "start", y+14
		}
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="6 4"/><text x="%g" y="%.1f" text-anchor="%s" fill="%s">%s</text>`+"\n",
			left, W-right, y, y, color, x, ly, anchor, color, label)
	}
	vline := func(d int, color string) {
		if d == 0 {
			return
		}
		x := tx(float64(d))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%g" y2="%g" stroke="%s" stroke-width="1.5"/>`+"\n", x, x, top, H-bottom, color)
	}
	hline(0.9*s.Global, "#cb181d", fmt.Sprintf("90%% of global baseline %.3g: d_int90 = %s", s.Global, dstr(s.DInt90Global, int(hi))), false)
	vline(s.DInt90Global, "#cb181d")
	if len(s.Trained.Accs) > 0 {
		hline(0.9*s.Trained.Mean, "#2171b5", fmt.Sprintf("90%% of trained baseline %.4f: d_int90 = %s", s.Trained.Mean, dstr(s.DInt90Trained, int(hi))), true)
		vline(s.DInt90Trained, "#2171b5")
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WritePNG draws the plot of WriteSVG as a PNG (gonum/plot), for reports and READMEs that show
// images: every seed as a dot, the mean over seeds as a line, the 90 % lines of the global
// (red) and trained (blue) baselines, d on a log axis when the swept values span more than 10×.
func (s Summary) WritePNG(w io.Writer, spec Spec) error {
	if len(s.Dims) == 0 {
		return fmt.Errorf("nothing to plot: the sweep has no dimensions")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s on %s, %s projection (%d seeds, %d epochs)", spec.Model, spec.Data, spec.Proj, spec.Seeds, spec.Epochs)
	if spec.ES != nil {
		p.Title.Text = fmt.Sprintf("%s, %s projection, ES (%d seeds, %d generations)", spec.Model, spec.Proj, spec.Seeds, spec.Epochs)
	}
	p.X.Label.Text = "subspace dimension d"
	p.Y.Label.Text = "test accuracy"
	if spec.ES != nil {
		p.Y.Label.Text = fmt.Sprintf("mean return / %d", CartPoleMaxSteps)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	var dots, means plotter.XYs
	for _, st := range s.Dims {
		lo, hi = min(lo, float64(st.Dim)), max(hi, float64(st.Dim))
		for _, a := range st.Accs {
			dots = append(dots, plotter.XY{X: float64(st.Dim), Y: a})
		}
		if len(st.Accs) > 0 {
			means = append(means, plotter.XY{X: float64(st.Dim), Y: st.Mean})
		}
	}
	logAxisIfWide(p, lo, hi)
	blue, red, grey := color.RGBA{8, 81, 156, 255}, color.RGBA{203, 24, 29, 255}, color.RGBA{85, 85, 85, 255}
	if len(dots) > 0 {
		sc, err := plotter.NewScatter(dots)
		if err != nil {
			return err
		}
		sc.GlyphStyle.Color, sc.GlyphStyle.Radius, sc.GlyphStyle.Shape = grey, vg.Points(2), draw.CircleGlyph{}
		p.Add(sc)
		p.Legend.Add("one seed", sc)
	}
	if len(means) > 0 {
		l, err := plotter.NewLine(means)
		if err != nil {
			return err
		}
		l.Color, l.Width = blue, vg.Points(1.5)
		p.Add(l)
		p.Legend.Add("mean over seeds", l)
	}
	hline := func(y float64, c color.Color, label string) error {
		l, err := addHLine(p, lo, hi, y, c, true)
		if err == nil {
			p.Legend.Add(label, l)
		}
		return err
	}
	if err := hline(0.9*s.Global, red, fmt.Sprintf("90%% of global baseline %.3g: d_int90 = %s", s.Global, dstr(s.DInt90Global, int(hi)))); err != nil {
		return err
	}
	if len(s.Trained.Accs) > 0 {
		if err := hline(0.9*s.Trained.Mean, color.RGBA{33, 113, 181, 255},
			fmt.Sprintf("90%% of trained baseline %.4f: d_int90 = %s", s.Trained.Mean, dstr(s.DInt90Trained, int(hi)))); err != nil {
			return err
		}
	}
	// Accuracies stay ≤ 1; the legend gets the band above.
	p.Legend.Top, p.Legend.Left = true, true
	p.Y.Min = math.Max(0, math.Min(p.Y.Min, 0.85*s.Global-0.05))
	p.Y.Max = math.Max(p.Y.Max, 1) + 0.3*(math.Max(p.Y.Max, 1)-p.Y.Min)
	return writePlot(w, p, 18, 11, "png")
}

// logAxisIfWide puts the d axis on a log scale when the swept values span more than 10×.
func logAxisIfWide(p *plot.Plot, lo, hi float64) {
	if hi > 10*lo {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
}

// addHLine draws a horizontal line at y across d ∈ [lo, hi] (dashed or solid) and returns it,
// for the legend.
func addHLine(p *plot.Plot, lo, hi, y float64, c color.Color, dashed bool) (*plotter.Line, error) {
	l, err := plotter.NewLine(plotter.XYs{{X: lo, Y: y}, {X: hi, Y: y}})
	if err != nil {
		return nil, err
	}
	l.Color = c
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	p.Add(l)
	return l, nil
}

// writePlot renders p at width × height centimetres as format (png or svg) to w.
func writePlot(w io.Writer, p *plot.Plot, width, height vg.Length, format string) error {
	wt, err := p.WriterTo(width*vg.Centimeter, height*vg.Centimeter, format)
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}
