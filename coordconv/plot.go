package coordconv

import (
	"fmt"
	"image"
	"image/color"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plot draws a saved run's PNGs into its folder: curves.png (train and test metric per epoch,
// one colour per seed; train dashed) and predictions.png (for the first test examples, the
// predicted 64×64 map beside the truth, one row per seed).
func Plot(dir string) error {
	r, err := Load(dir)
	if err != nil {
		return err
	}
	if err := plotCurves(r, filepath.Join(dir, "curves.png")); err != nil {
		return fmt.Errorf("curves: %w", err)
	}
	pf, err := loadPredFile(dir)
	if err != nil {
		return err
	}
	return plotPredictions(pf, filepath.Join(dir, "predictions.png"))
}

func plotCurves(r *Result, path string) error {
	m := TaskMetric(r.Config.Task)
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, %s split, %s model", r.Config.Task, r.Config.Split, r.Config.Model)
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = m.Name + " (solid: test, dashed: train)"
	scale := 1.0
	if m.Units == "%" {
		scale = 100
		p.Y.Label.Text = "accuracy % (solid: test, dashed: train)"
	}
	for i, sr := range r.Seeds {
		tr, te := make(plotter.XYs, len(sr.Curve)), make(plotter.XYs, len(sr.Curve))
		for j, e := range sr.Curve {
			tr[j] = plotter.XY{X: float64(e.Epoch), Y: scale * e.TrainMetric}
			te[j] = plotter.XY{X: float64(e.Epoch), Y: scale * e.TestMetric}
		}
		lt, err := plotter.NewLine(te)
		if err != nil {
			return err
		}
		ltr, err := plotter.NewLine(tr)
		if err != nil {
			return err
		}
		c := plotutil.Color(i)
		lt.Color, ltr.Color = c, c
		lt.Width, ltr.Width = vg.Points(1.5), vg.Points(1)
		ltr.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(lt, ltr)
		p.Legend.Add(fmt.Sprintf("seed %d", sr.Seed), lt)
	}
	p.Add(plotter.NewGrid())
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

// plotPredictions draws, per seed, pairs of (prediction, truth) tiles at 2× scale, for the kept
// test examples. Classification maps are scaled by their maximum (a softmax is mostly tiny);
// regression draws the truth one-hot square region and the predicted centre as a cross.
func plotPredictions(pf predFile, path string) error {
	const s, gap = 2, 6
	tile := Canvas * s
	n := len(pf.Centres)
	if n == 0 || len(pf.Pred) == 0 {
		return nil
	}
	w := n*(2*tile+gap) + gap
	h := len(pf.Pred)*(tile+gap) + gap
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	truth := make([]float32, Canvas*Canvas)
	for row, preds := range pf.Pred {
		for k := 0; k < n && k < len(preds); k++ {
			c := pf.Centres[k]
			x0, y0 := gap+k*(2*tile+gap), gap+row*(tile+gap)
			var pred []float32
			switch pf.Task {
			case Classification:
				_ = OneHot(c, truth)
				pred = normalised(preds[k])
			case Rendering:
				_ = Square(c, truth)
				pred = preds[k]
			case Regression:
				_ = OneHot(c, truth)
				pred = make([]float32, Canvas*Canvas)
				px, py := int(preds[k][0]+0.5), int(preds[k][1]+0.5)
				for d := -2; d <= 2; d++ {
					set(pred, px+d, py, 1)
					set(pred, px, py+d, 1)
				}
			}
			drawMap(img, x0, y0, s, pred, color.RGBA{200, 30, 30, 255})
			drawMap(img, x0+tile, y0, s, truth, color.RGBA{20, 20, 20, 255})
		}
	}
	return savePNG(path, img)
}

func set(m []float32, x, y int, v float32) {
	if x >= 0 && x < Canvas && y >= 0 && y < Canvas {
		m[y*Canvas+x] = v
	}
}

func normalised(p []float32) []float32 {
	var mx float32
	for _, v := range p {
		mx = max(mx, v)
	}
	out := make([]float32, len(p))
	for i, v := range p {
		if mx > 0 {
			out[i] = v / mx
		}
	}
	return out
}

// drawMap paints a Canvas×Canvas map of values in [0, 1] as ink of colour ink on a light grey
// frame, s pixels per cell.
func drawMap(img *image.RGBA, x0, y0, s int, m []float32, ink color.RGBA) {
	for y := range Canvas {
		for x := range Canvas {
			v := min(max(m[y*Canvas+x], 0), 1)
			bg := float32(235)
			c := color.RGBA{uint8(bg + v*(float32(ink.R)-bg)), uint8(bg + v*(float32(ink.G)-bg)), uint8(bg + v*(float32(ink.B)-bg)), 255}
			for dy := range s {
				for dx := range s {
					img.SetRGBA(x0+x*s+dx, y0+y*s+dy, c)
				}
			}
		}
	}
}
