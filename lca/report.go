package lca

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/gazeml/gaze/internal/crashpoint"
	"github.com/gazeml/gaze/internal/rundir"
)

// ReportDir is where a run's report goes.
const ReportDir = "report"

// figure is one PNG of the report.
type figure struct {
	Name, Title, Caption string
	Data                 template.URL // data: URI, so the HTML is self-contained
}

// Report analyses a computed run directory and writes report/*.png, report/report.html (self
// contained: images inline) and report/summary.json. It returns the summary. The files of a
// finished run are first checked against its finished.json, and meta.json against config.json:
// a file changed or taken from another run is named, not reported on.
//
// A run that has not finished (still training, or killed) is reported as far as its last
// checkpoint, into report-partial/ (PartialReportDir) and labelled partial: the run's own files
// are only read, and no lock is taken, so a running writer goes on undisturbed (see
// ReadPartialRun).
func Report(dir string) (Summary, error) {
	if err := CheckRun(dir); err != nil {
		return Summary{}, err
	}
	partial, err := Partial(dir)
	if err != nil {
		return Summary{}, err
	}
	var r *Run
	out := filepath.Join(dir, ReportDir)
	if partial {
		r, _, err = ReadPartialRun(dir)
		out = filepath.Join(dir, PartialReportDir)
	} else {
		r, err = ReadRun(dir)
	}
	if err != nil {
		return Summary{}, err
	}
	s := Summarize(r)
	if partial {
		s.Partial, s.PlannedIterations = true, r.Meta.Iters[1]-r.Meta.Iters[0]
		if s.HeldOut != nil {
			s.HeldOut.Partial, s.HeldOut.PlannedIterations = true, s.PlannedIterations
		}
	}
	if s.Beside, err = besideRuns(dir, r.Meta, s); err != nil {
		return s, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return s, err
	}
	figs, err := writeFigures(out, r, s)
	if err != nil {
		return s, err
	}
	crashpoint.Hit("report") // half the report written
	return s, writeSummaryAndHTML(out, r, s, figs)
}

// besideRuns summarises the allocations of other windows merged beside the run's own
// (RUN/window-K, see Merge), in order of K.
func besideRuns(dir string, meta *Meta, s Summary) ([]BesideSummary, error) {
	subs, err := filepath.Glob(filepath.Join(dir, "window-*", MetaFile))
	if err != nil {
		return nil, err
	}
	var out []BesideSummary
	for _, mf := range subs {
		sub := filepath.Dir(mf)
		if err := CheckRun(sub); err != nil {
			return nil, err
		}
		o, err := ReadRun(sub)
		if err != nil {
			return nil, err
		}
		if o.Meta.Identity != meta.Identity || len(o.Meta.Layers) != len(meta.Layers) {
			return nil, fmt.Errorf("%s holds LCA of another run", sub)
		}
		out = append(out, besideSummary(filepath.Base(sub), s, Summarize(o)))
	}
	slices.SortFunc(out, func(a, b BesideSummary) int { return a.Window - b.Window })
	return out, nil
}

// CheckRun checks that the files of the LCA run (or part) in dir belong together: meta.json
// carries the identity of the training run's config.json, and when the run is finished, every
// file finished.json lists is unchanged.
func CheckRun(dir string) error {
	meta, err := ReadMeta(dir)
	if err != nil {
		return err
	}
	var cfg struct {
		Identity string `json:"identity"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(dir, "config.json"), err)
		}
		if cfg.Identity != meta.Identity {
			return rundir.IdentityMismatch(filepath.Join(dir, MetaFile), meta.Identity, cfg.Identity)
		}
	}
	f, ok, err := rundir.ReadFinished(dir)
	if err != nil || !ok {
		return err
	}
	if f.Identity != meta.Identity {
		return rundir.IdentityMismatch(filepath.Join(dir, rundir.FinishedFile), f.Identity, meta.Identity)
	}
	return f.Verify(dir)
}

// reportPlot is one figure of the report before it is drawn: draw adds its content to a new plot
// of w × h.
type reportPlot struct {
	name, title, caption string
	w, h                 vg.Length
	draw                 func(*plot.Plot) error
}

// reportPlots lists the report's figures over iterations and layers, in report order.
func reportPlots(r *Run, s Summary) []reportPlot {
	d := reportData{r, s}
	in := r.Meta.Integrator
	return append([]reportPlot{
		{"loss", "Loss: true against rebuilt from LCA", fmt.Sprintf("The loss over the LCA set (%s) at every iteration, and L(θ₀) + cumulative ΣLCA. Relative error of the total loss change: %.3g %% (first order: %.3g %%).", s.LCASet, 100*s.RelErr, 100*s.FirstRelErr),
			16 * vg.Centimeter, 9 * vg.Centimeter, d.drawLoss},
		{"error", "Per-iteration error |ΔL − ΣLCA|", fmt.Sprintf("Largest error over iterations with n < %d: %.3g (threshold %g); mean %.3g against %.3g for the first-order estimate. Mean Simpson n: %.2f; iterations at n = %d: %d.", in.MaxN, s.MaxIterErr, in.Threshold, s.MeanIterErr, s.MeanFirstErr, s.MeanN, in.MaxN, s.AtMaxN),
			16 * vg.Centimeter, 8 * vg.Centimeter, d.drawError},
		{"helped", "Fraction of parameters helping", fmt.Sprintf("Per iteration, the fraction of parameters with LCA < 0 (zeros do not help), overall and per layer. Mean over iterations: %.1f %%.", 100*s.HelpedMean),
			16 * vg.Centimeter, 9 * vg.Centimeter, d.drawHelped},
		{"helped_hist", "How often each parameter helps", "Histogram over parameters of the fraction of iterations on which the parameter helped (LCA < 0).",
			14 * vg.Centimeter, 8 * vg.Centimeter, d.drawHelpedHist},
		{"layer_totals", "Total LCA per layer", "Σ over iterations and the layer's parameters. Negative: the layer helped overall; positive: it hurt.",
			16 * vg.Centimeter, 9 * vg.Centimeter, d.drawLayerTotals},
		{"layer_cumulative", "Cumulative LCA per layer", "Running Σ of each layer's LCA over iterations.",
			16 * vg.Centimeter, 9 * vg.Centimeter, d.drawLayerCumulative},
	}, setPlots(r, s)...)
}

// writeFigures draws the report's plots and one neuron heat map per layer to out/NAME.png and
// returns them as figures for the HTML.
func writeFigures(out string, r *Run, s Summary) ([]figure, error) {
	var figs []figure
	for _, rp := range reportPlots(r, s) {
		p := plot.New()
		if err := rp.draw(p); err != nil {
			return nil, fmt.Errorf("plot %s: %w", rp.name, err)
		}
		p.Title.Text = rp.title
		f, err := writeFigure(out, rp.name, rp.title, rp.caption, p, rp.w, rp.h)
		if err != nil {
			return nil, err
		}
		figs = append(figs, f)
	}
	for l, name := range r.Meta.Neurons.Layers {
		p, err := heatMap(r, l)
		if err != nil {
			return nil, err
		}
		p.Title.Text = "LCA per neuron: " + name
		f, err := writeFigure(out, "neurons_"+sanitize(name), p.Title.Text, "Each row is a neuron (its incoming weights and bias summed), each column an iteration; blue helped, red hurt (colour scale symmetric, clipped at the 99th percentile of |LCA|).", p, 16*vg.Centimeter, 7*vg.Centimeter)
		if err != nil {
			return nil, err
		}
		figs = append(figs, f)
	}
	return figs, nil
}

// writeFigure renders p as out/NAME.png and returns it as a figure with the PNG inline.
func writeFigure(out, name, title, caption string, p *plot.Plot, w, h vg.Length) (figure, error) {
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return figure{}, fmt.Errorf("plot %s: %w", name, err)
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return figure{}, err
	}
	if err := rundir.WriteFileAtomic(filepath.Join(out, name+".png"), b.Bytes()); err != nil {
		return figure{}, err
	}
	return figure{name, title, caption, template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes()))}, nil
}

// writeSummaryAndHTML writes out/summary.json and the self-contained out/report.html.
func writeSummaryAndHTML(out string, r *Run, s Summary, figs []figure) error {
	sj, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := rundir.WriteFileAtomic(filepath.Join(out, "summary.json"), append(sj, '\n')); err != nil {
		return err
	}
	var html bytes.Buffer
	v := map[string]any{"S": s, "Meta": r.Meta, "Figs": figs, "PeakWindow": PeakWindow, "PeakMADs": PeakMADs, "Slack": SyncSlack}
	if s.ClassSync != nil {
		var names []string
		for c := range s.Classes {
			names = append(names, strconv.Itoa(c))
		}
		v["ClassPairs"] = pairTable(names, s.ClassSync)
		v["ClassNames"] = names
	}
	if err := reportTemplate.Execute(&html, v); err != nil {
		return err
	}
	return rundir.WriteFileAtomic(filepath.Join(out, "report.html"), html.Bytes())
}

// reportData draws the report's plots of one run.
type reportData struct {
	r *Run
	s Summary
}

// series is the curve (iteration, f(t)) over the run's rows; f is called in row order, so it may
// accumulate.
func (d reportData) series(f func(t int) float64) plotter.XYs {
	pts := make(plotter.XYs, len(d.r.Sum))
	for t := range pts {
		pts[t].X, pts[t].Y = float64(d.r.Iter[t]), f(t)
	}
	return pts
}

func (d reportData) drawLoss(p *plot.Plot) error {
	r := d.r
	p.X.Label.Text, p.Y.Label.Text = "iteration", "loss"
	cum, cumF := r.Before[0], r.Before[0]
	rebuilt := d.series(func(t int) float64 { cum += r.Sum[t]; return cum })
	first := d.series(func(t int) float64 { cumF += r.First[t]; return cumF })
	truth := d.series(func(t int) float64 { return r.After[t] })
	return addLines(p, "true L(θ)", truth, color.RGBA{0, 0, 0, 255}, "rebuilt (LCA)", rebuilt, color.RGBA{214, 39, 40, 255},
		"rebuilt (first order)", first, color.RGBA{31, 119, 180, 255})
}

func (d reportData) drawError(p *plot.Plot) error {
	r := d.r
	p.X.Label.Text, p.Y.Label.Text = "iteration", "|ΔL − ΣLCA| (log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{}
	floor := func(v float64) float64 { return math.Max(v, 1e-12) }
	return addLines(p, "LCA", d.series(func(t int) float64 { return floor(r.Err[t]) }), color.RGBA{214, 39, 40, 255},
		"first order", d.series(func(t int) float64 { return floor(math.Abs(r.After[t] - r.Before[t] - r.First[t])) }), color.RGBA{31, 119, 180, 255})
}

func (d reportData) drawHelped(p *plot.Plot) error {
	r := d.r
	p.X.Label.Text, p.Y.Label.Text = "iteration", "fraction helping"
	args := []any{"all", d.series(func(t int) float64 { return r.Helped[t] }), color.RGBA{0, 0, 0, 255}}
	for l, name := range r.Meta.Layers {
		args = append(args, name, d.series(func(t int) float64 { return r.HelpedL.Row(t)[l] }), layerColor(l))
	}
	return addLines(p, args...)
}

func (d reportData) drawHelpedHist(p *plot.Plot) error {
	r := d.r
	p.X.Label.Text, p.Y.Label.Text = "fraction of iterations helping", "parameters"
	v := make(plotter.Values, len(r.Count))
	for i, c := range r.Count {
		v[i] = c / float64(len(r.Sum))
	}
	h, err := plotter.NewHist(v, 50)
	if err != nil {
		return err
	}
	h.FillColor = color.RGBA{31, 119, 180, 255}
	p.Add(h)
	return nil
}

func (d reportData) drawLayerTotals(p *plot.Plot) error {
	layers := d.s.Layers
	p.Y.Label.Text = "total LCA"
	v := make(plotter.Values, len(layers))
	names := make([]string, len(layers))
	for i, l := range layers {
		v[i], names[i] = l.TotalLCA, l.Layer
	}
	b, err := plotter.NewBarChart(v, vg.Points(max(8, 300/float64(len(v)))))
	if err != nil {
		return err
	}
	b.Color = color.RGBA{214, 39, 40, 255}
	p.Add(b)
	p.NominalX(names...)
	if len(names) > 8 {
		p.X.Tick.Label.Rotation = math.Pi / 3
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = -1, -0.5
	}
	return nil
}

func (d reportData) drawLayerCumulative(p *plot.Plot) error {
	r := d.r
	p.X.Label.Text, p.Y.Label.Text = "iteration", "cumulative LCA"
	var args []any
	for l, name := range r.Meta.Layers {
		c := 0.0
		args = append(args, name, d.series(func(t int) float64 { c += r.Layers.Row(t)[l]; return c }), layerColor(l))
	}
	return addLines(p, args...)
}

// addLines adds (name, XYs, colour) triples as lines with a legend.
func addLines(p *plot.Plot, args ...any) error {
	for i := 0; i+2 < len(args); i += 3 {
		l, err := plotter.NewLine(args[i+1].(plotter.XYs))
		if err != nil {
			return err
		}
		l.Color = args[i+2].(color.Color)
		l.Width = vg.Points(1)
		p.Add(l)
		p.Legend.Add(args[i].(string), l)
	}
	p.Legend.Top = true
	return nil
}

var tab10 = []color.RGBA{{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255}}

func layerColor(l int) color.Color { return tab10[l%len(tab10)] }

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// neuronGrid is one layer's neurons × iterations as a heat-map grid.
type neuronGrid struct {
	r      *Run
	start  int
	n      int
	lo, hi float64
}

func (g neuronGrid) Dims() (c, r int) { return len(g.r.Iter), g.n }
func (g neuronGrid) X(c int) float64  { return float64(g.r.Iter[c]) }
func (g neuronGrid) Y(r int) float64  { return float64(r) }
func (g neuronGrid) Z(c, r int) float64 {
	return math.Max(g.lo, math.Min(g.hi, g.r.Neurons.Row(c)[g.start+r]))
}

func heatMap(r *Run, l int) (*plot.Plot, error) {
	start, n := r.Meta.Neurons.Start[l], r.Meta.Neurons.Size[l]
	var abs []float64
	for t := range r.Iter {
		for _, v := range r.Neurons.Row(t)[start : start+n] {
			abs = append(abs, math.Abs(v))
		}
	}
	slices.Sort(abs)
	lim := abs[min(len(abs)-1, int(0.99*float64(len(abs))))]
	if lim == 0 {
		lim = 1e-12
	}
	g := neuronGrid{r: r, start: start, n: n, lo: -lim, hi: lim}
	cm := moreland.SmoothBlueRed()
	cm.SetMin(-lim)
	cm.SetMax(lim)
	h := plotter.NewHeatMap(g, cm.Palette(255))
	h.Min, h.Max = -lim, lim
	// Vector cells stay crisp; past ~200k cells a raster keeps the PNG fast to draw.
	h.Rasterized = n*len(r.Iter) > 200000
	p := plot.New()
	p.X.Label.Text, p.Y.Label.Text = "iteration", "neuron"
	p.Add(h)
	return p, nil
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": func(v float64) string { return fmt.Sprintf("%.2f %%", 100*v) },
	"g":   func(v float64) string { return fmt.Sprintf("%.4g", v) },
	"mul": func(a, b int) int { return a * b },
	"pair": func(p *float64) string {
		if p == nil {
			return "–"
		}
		return fmt.Sprintf("%.2f", *p)
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LCA report: {{.S.Model}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}img{max-width:100%}figcaption{color:#555;margin-bottom:2em}
</style></head><body>
<h1>Loss change allocation: {{.S.Model}}{{if .S.Partial}} (partial){{end}}</h1>
{{if .S.Partial}}<p><b>Partial report:</b> the run has not finished; this covers its first {{.S.Iterations}} of {{.S.PlannedIterations}} iterations, as of its last checkpoint.</p>
{{end}}<p>{{.S.D}} parameters, {{.S.Iterations}} iterations ({{.Meta.Epochs}} epochs of batch {{.Meta.Batch}}, {{.Meta.Optimizer.Kind}} lr {{.Meta.Optimizer.LR}}),
seed {{.Meta.Seed}}. LCA over {{.S.LCASet}}; integrator: {{.S.Integrator}}; chunks of {{.Meta.Integrator.Chunk}} examples,
batch norm in {{if .Meta.Integrator.BatchStats}}batch-statistics{{else}}running-statistics{{end}} mode, dropout off{{if .Meta.Integrator.IncludeL2}}, loss includes the L2 term{{end}}.</p>
{{if gt .S.Window 1}}<p><b>Window LCA.</b> Every row allocates the loss change of a window of {{.S.Window}} iterations ({{.S.Rows}} rows{{if ne (mul .S.Rows .S.Window) .S.Iterations}}; the last
window is shorter, ending at the run's end{{end}}): from θ_t to θ_{t+{{.S.Window}}} along the straight chord between them, with the same Simpson
integrator and threshold. Below, "per iteration" means per window, and iteration numbers are the windows' first iterations.</p>{{end}}
<table>
<tr><th>headline</th><th>value</th></tr>
<tr><td>loss over the LCA set, start → end</td><td>{{g .S.LossStart}} → {{g .S.LossEnd}} (ΔL = {{g .S.DeltaLoss}})</td></tr>
<tr><td>Σ over iterations and parameters of LCA</td><td>{{g .S.SumLCA}}</td></tr>
<tr><td>relative error of the total loss change</td><td>{{pct .S.RelErr}} (first order: {{pct .S.FirstRelErr}})</td></tr>
<tr><td>largest per-iteration |ΔL − ΣLCA| (n below the maximum)</td><td>{{g .S.MaxIterErr}}</td></tr>
<tr><td>mean per-iteration error, LCA / first order</td><td>{{g .S.MeanIterErr}} / {{g .S.MeanFirstErr}}</td></tr>
<tr><td>mean Simpson n; iterations at the maximum</td><td>{{printf "%.2f" .S.MeanN}}; {{.S.AtMaxN}}</td></tr>
<tr><td>fraction of parameters helping, mean over iterations</td><td>{{pct .S.HelpedMean}}</td></tr>
<tr><td>peak synchronisation: observed / shifted coincidence</td><td>{{pct .S.Sync.Observed}} / {{pct .S.Sync.Shuffled}} (ratio {{printf "%.2f" .S.Sync.Ratio}})</td></tr>
</table>
<h2>Layers</h2>
<table><tr><th>layer</th><th>parameters</th><th>total LCA</th><th>fraction helping (mean)</th><th>learning peaks</th></tr>
{{range .S.Layers}}<tr><td>{{.Layer}}</td><td>{{.Params}}</td><td>{{g .TotalLCA}}</td><td>{{pct .HelpedMean}}</td><td>{{.Peaks}}</td></tr>
{{end}}</table>
{{range .Figs}}<figure><h3>{{.Title}}</h3><img src="{{.Data}}" alt="{{.Title}}"><figcaption>{{.Caption}}</figcaption></figure>
{{end}}
<h2>Synchronisation of learning peaks</h2>
<p><b>Definition.</b> Iteration t is a learning peak of a layer when the layer's LCA at t is the minimum of the window
[t−{{.PeakWindow}}, t+{{.PeakWindow}}] and lies more than {{.PeakMADs}} robust standard deviations (1.4826 × the median absolute deviation)
below the layer's median LCA (negative LCA is learning, so a peak is an unusually strong burst of learning). For every ordered pair of layers
(l, m) we count the fraction of l's peaks that have a peak of m within ±{{.Slack}} iteration(s), and compare it with the same fraction when
m's peaks are circularly shifted by a random offset in [T/10, 9T/10] (mean over 200 shifts, fixed seed). A ratio above 1 means the layers
learn together more often than chance.</p>
<table><tr><th>l \ m</th>{{range .Meta.Layers}}<th>{{.}}</th>{{end}}</tr>
{{$layers := .Meta.Layers}}{{range $i, $row := .S.Sync.Pairs}}<tr><td>{{index $layers $i}}</td>{{range $row}}<td>{{pair .}}</td>{{end}}</tr>
{{end}}</table>
{{if .S.Classes}}
<h2>Per-class LCA</h2>
<p>Each class's loss L_c is the mean loss over its n_c examples of the LCA set, so that L = Σ_c (n_c/n)·L_c, and its allocation
LCA_{c,t,i} = ḡ_{c,i}·Δθ_{t,i} uses the same path points and Simpson n as the total (refinement follows the total's error; each class's own
error is recorded). The chunks of the full-set gradient never mix classes ({{.Meta.Chunks}}).{{range .Meta.Notes}} <b>Note:</b> {{.}}.{{end}}</p>
<table><tr><th>class</th><th>examples</th><th>L_c start → end</th><th>ΔL_c</th><th>ΣLCA_c</th><th>relative error</th><th>largest iteration error</th><th>fraction helping</th><th>learning peaks</th></tr>
{{range .S.Classes}}<tr><td>{{.Class}}</td><td>{{.Examples}}</td><td>{{g .LossStart}} → {{g .LossEnd}}</td><td>{{g .DeltaLoss}}</td><td>{{g .SumLCA}}</td><td>{{pct .RelErr}}</td><td>{{g .MaxIterErr}}</td><td>{{pct .HelpedMean}}</td><td>{{.Peaks}}</td></tr>
{{end}}</table>
<h3>Total LCA per class and layer</h3>
<table><tr><th>class</th>{{range .Meta.Layers}}<th>{{.}}</th>{{end}}</tr>
{{range .S.Classes}}<tr><td>{{.Class}}</td>{{range .Layers}}<td>{{g .}}</td>{{end}}</tr>
{{end}}</table>
<h3>Synchronisation of learning peaks across classes</h3>
<p>The definition above, with each class's per-iteration ΣLCA_c in place of a layer's LCA: observed coincidence {{pct .S.ClassSync.Observed}},
with shifted peaks {{pct .S.ClassSync.Shuffled}} (ratio {{printf "%.2f" .S.ClassSync.Ratio}}).</p>
<table><tr><th>c \ d</th>{{range .ClassNames}}<th>{{.}}</th>{{end}}</tr>
{{range .ClassPairs}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}
{{if .S.HeldOut}}
<h2>Held-out LCA</h2>
<p>The same allocation over {{.S.HeldOut.LCASet}} at the same path points (Simpson's n doubles while either split's error exceeds the
threshold). Loss {{g .S.HeldOut.LossStart}} → {{g .S.HeldOut.LossEnd}} (ΔL = {{g .S.HeldOut.DeltaLoss}}), ΣLCA = {{g .S.HeldOut.SumLCA}},
relative error {{pct .S.HeldOut.RelErr}}, largest per-iteration error {{g .S.HeldOut.MaxIterErr}}; {{pct .S.HeldOut.HelpedMean}} of parameters help on average.</p>
<table><tr><th>layer</th><th>total LCA, LCA set</th><th>total LCA, held-out</th><th>fraction helping, LCA set</th><th>fraction helping, held-out</th></tr>
{{$h := .S.HeldOut.Layers}}{{range $i, $l := .S.Layers}}<tr><td>{{$l.Layer}}</td><td>{{g $l.TotalLCA}}</td><td>{{g (index $h $i).TotalLCA}}</td><td>{{pct $l.HelpedMean}}</td><td>{{pct (index $h $i).HelpedMean}}</td></tr>
{{end}}</table>
{{end}}
{{range .S.Beside}}
<h2>LCA over windows of {{.Window}} iteration(s) beside this allocation ({{.Dir}}/)</h2>
<p>The same training run allocated {{if eq .Window 1}}per iteration{{else}}over {{.Rows}} windows of {{.Window}} iterations{{end}}: ΔL = {{g .DeltaLoss}},
ΣLCA = {{g .SumLCA}}, largest per-row error {{g .MaxRowErr}}. Both allocations split the same loss change, so their totals agree within the
integrator's error; per layer they differ because per-iteration LCA follows the path training took (its SGD steps) and window LCA the straight
chord from θ_t to θ_{t+K}. How much of a loss change a layer gets depends on the path, not only on its end points: the differences are path
dependence, not error (largest in {{.MaxLayerAt}}).</p>
<table><tr><th>layer</th><th>total LCA, this allocation</th><th>total LCA, windows of {{.Window}}</th><th>difference</th></tr>
{{range .Layers}}<tr><td>{{.Layer}}</td><td>{{g .Own}}</td><td>{{g .Other}}</td><td>{{g .Difference}}</td></tr>
{{end}}</table>
{{end}}
</body></html>
`))
