package coordconv

import (
	"fmt"
	"math"

	"github.com/gazeml/gaze/engine"
)

// The CoordConv regressor's trap, and gaze's way round it.
//
// The regressor (CoordConvRegressor) is linear up to its global max pool: each of its two output
// maps is C(p) + S(p − c), where C is the map the coordinate channels and biases paint (the same
// for every input), S is the response to the one-hot pixel at the centre c (a 5×5 kernel: two 3×3
// convolutions after the 1×1 ones), and the max pool reads the map at its winner. When the
// winner lies outside the 5×5 window round c, the output is max C, the same for every input: the
// gradient only reaches the biases and the coordinate weights at that fixed pixel, and the
// constant output that predicts the mean centre is a stable point. With the paper's He-normal
// initialisation the coordinate map's range dwarfs the one-hot response, so nearly every
// example starts there. The hot-pixel initialisation (recipe gaze) draws the same He-normal
// weights, then scales the one-hot channel's weights in conv1 until every example's winner lies
// in the window round its centre, where the output is an affine function of the centre that
// training can fit.

// regressorNet holds the regressor's parameters in float64, read from θ by name.
type regressorNet struct {
	w, b       [5][]float64
	inC, outC  [5]int
	k          [5]int
	w1, b5, w5 int // arena offsets of conv1.weight, conv5.bias and conv5.weight
}

// readRegressor reads the regressor's five convolutions from θ (arena a's layout).
func readRegressor(a *engine.Arena, theta []float32) (*regressorNet, error) {
	r := &regressorNet{}
	in := 3
	for i := range 5 {
		name := fmt.Sprintf("conv%d", i+1)
		wi, ok := a.Find(name + ".weight")
		bi, ok2 := a.Find(name + ".bias")
		if !ok || !ok2 {
			return nil, fmt.Errorf("not the CoordConv regressor: no %s", name)
		}
		wp, bp := a.Params[wi], a.Params[bi]
		if len(wp.Shape) != 4 || wp.Shape[1] != in || wp.Shape[2] != wp.Shape[3] {
			return nil, fmt.Errorf("not the CoordConv regressor: %s.weight has shape %v", name, wp.Shape)
		}
		r.inC[i], r.outC[i], r.k[i] = in, wp.Shape[0], wp.Shape[2]
		r.w[i] = f64(theta[wp.Offset : wp.Offset+wp.Size])
		r.b[i] = f64(theta[bp.Offset : bp.Offset+bp.Size])
		switch i {
		case 0:
			r.w1 = wp.Offset
		case 4:
			r.w5, r.b5 = wp.Offset, bp.Offset
		}
		in = wp.Shape[0]
	}
	if in != 2 {
		return nil, fmt.Errorf("not the CoordConv regressor: %d outputs", in)
	}
	return r, nil
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// maps computes the two output maps before the max pool in float64, for the one-hot input at
// hot (nil: the all-zero input, which leaves C).
func (r *regressorNet) maps(hot *Centre) [][]float64 {
	const n = Canvas * Canvas
	h := make([][]float64, 3)
	for c := range h {
		h[c] = make([]float64, n)
	}
	if hot != nil {
		h[0][hot.Pixel()] = 1
	}
	for i := range Canvas {
		for j := range Canvas {
			h[1][i*Canvas+j] = 2*float64(j)/(Canvas-1) - 1 // the column, as AddCoords
			h[2][i*Canvas+j] = 2*float64(i)/(Canvas-1) - 1
		}
	}
	for l := range 5 {
		k, pad := r.k[l], r.k[l]/2
		out := make([][]float64, r.outC[l])
		for o := range out {
			v := make([]float64, n)
			for p := range v {
				v[p] = r.b[l][o]
			}
			for c := range r.inC[l] {
				for u := range k {
					for s := range k {
						wv := r.w[l][((o*r.inC[l]+c)*k+u)*k+s]
						for i := range Canvas {
							y := i + u - pad
							if y < 0 || y >= Canvas {
								continue
							}
							for j := range Canvas {
								x := j + s - pad
								if x >= 0 && x < Canvas {
									v[i*Canvas+j] += wv * h[c][y*Canvas+x]
								}
							}
						}
					}
				}
			}
			out[o] = v
		}
		h = out
	}
	return h
}

// spikeRadius is the reach of the one-hot pixel's response: two 3×3 convolutions.
const spikeRadius = 2

// decomposed is the regressor as C + S(· − c): the coordinate maps and the 5×5 responses to
// the one-hot pixel (rows y−2…y+2 of columns x−2…x+2).
type decomposed struct {
	c [][]float64
	s [][]float64
}

func (r *regressorNet) decompose() decomposed {
	const w = 2*spikeRadius + 1
	mid := Centre{Canvas / 2, Canvas / 2}
	base, hot := r.maps(nil), r.maps(&mid)
	d := decomposed{c: base}
	for ch := range hot {
		s := make([]float64, w*w)
		for u := range w {
			for v := range w {
				p := (mid.Y+u-spikeRadius)*Canvas + mid.X + v - spikeRadius
				s[u*w+v] = hot[ch][p] - base[ch][p]
			}
		}
		d.s = append(d.s, s)
	}
	return d
}

// winner is the pixel that wins channel ch's max pool for the input at c, and the maximum.
// Every centre lies at least spikeRadius from the border, where the response is the same 5×5
// kernel.
func (d decomposed) winner(ch int, c Centre) (pix int, val float64) {
	const w = 2*spikeRadius + 1
	pix, val = -1, math.Inf(-1)
	for p, v := range d.c[ch] {
		u, s := p/Canvas-c.Y+spikeRadius, p%Canvas-c.X+spikeRadius
		if u >= 0 && u < w && s >= 0 && s < w {
			v += d.s[ch][u*w+s]
		}
		if v > val {
			pix, val = p, v
		}
	}
	return pix, val
}

// RegressorDiagnosis is what the regressor's θ does on a set of centres.
type RegressorDiagnosis struct {
	// NearHot is the fraction of (example, output channel) pairs whose max-pool winner lies
	// within 2 px (on both axes) of the hot pixel: where it does not, the output does not
	// depend on the input.
	NearHot float64 `json:"near_hot"`
	// Spread is the mean distance in pixels of the predictions from their mean, and
	// TargetSpread the targets' from theirs: a regressor whose output does not depend on its
	// input has Spread ≈ 0, one that predicts the centres has Spread ≈ TargetSpread.
	Spread       float64 `json:"spread_px"`
	TargetSpread float64 `json:"target_spread_px"`
	// MeanOff is the distance in pixels of the mean prediction from the mean centre (where a
	// trapped regressor's constant output heads under the squared error).
	MeanOff float64 `json:"mean_off_px"`
}

// Trapped tells a regressor whose output (nearly) does not depend on its input: its
// predictions spread less than a tenth of the targets' spread. Trained under the squared
// error, such a regressor predicts the mean centre.
func (d RegressorDiagnosis) Trapped() bool { return d.Spread < 0.1*d.TargetSpread }

func (d RegressorDiagnosis) String() string {
	s := fmt.Sprintf("max-pool winner within %d px of the hot pixel in %.1f%% of examples; predictions spread %.2f px (targets %.2f px), their mean %.2f px from the mean centre",
		spikeRadius, 100*d.NearHot, d.Spread, d.TargetSpread, d.MeanOff)
	if d.Trapped() {
		s += ": trapped (constant output)"
	}
	return s
}

// DiagnoseRegressor evaluates the CoordConv regressor with parameters θ (in arena a's layout)
// on the centres, in float64 on the host.
func DiagnoseRegressor(a *engine.Arena, theta []float32, centres []Centre) (RegressorDiagnosis, error) {
	if len(centres) == 0 {
		return RegressorDiagnosis{}, fmt.Errorf("no centres to diagnose the regressor on")
	}
	r, err := readRegressor(a, theta)
	if err != nil {
		return RegressorDiagnosis{}, err
	}
	d := r.decompose()
	var near int
	var mx, my float64
	pred := make([][2]float64, len(centres))
	for i, c := range centres {
		if err := c.Check(); err != nil {
			return RegressorDiagnosis{}, err
		}
		for ch := range 2 {
			p, v := d.winner(ch, c)
			if abs(p%Canvas-c.X) <= spikeRadius && abs(p/Canvas-c.Y) <= spikeRadius {
				near++
			}
			pred[i][ch] = Canvas * v
		}
		mx += float64(c.X) / float64(len(centres))
		my += float64(c.Y) / float64(len(centres))
	}
	var diag RegressorDiagnosis
	diag.NearHot = float64(near) / float64(2*len(centres))
	var px, py float64
	for _, p := range pred {
		px += p[0] / float64(len(pred))
		py += p[1] / float64(len(pred))
	}
	for i, c := range centres {
		diag.Spread += math.Hypot(pred[i][0]-px, pred[i][1]-py) / float64(len(centres))
		diag.TargetSpread += math.Hypot(float64(c.X)-mx, float64(c.Y)-my) / float64(len(centres))
	}
	diag.MeanOff = math.Hypot(px-mx, py-my)
	return diag, nil
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// hotPixelMargin is how far the one-hot response's peak must rise above the coordinate map's
// range: twice, so the window round the centre wins wherever the centre is.
const hotPixelMargin = 2

// HotPixelInit turns the He-normal θ of the CoordConv regressor (in arena a's layout) into
// gaze's initialisation, in place. The draw keeps its directions; three scales and signs change:
//   - conv1's weights from the coordinate channels are scaled so that the larger of the two
//     coordinate maps spans 1 (the targets span 0.86): the initial predictions are on the
//     targets' scale, not tens of canvases off, and Adam's first steps do not overshoot;
//   - for each output channel whose response to the one-hot pixel dips deeper than it peaks,
//     conv5's weights of the channel change sign (He-normal is symmetric: the distribution stays);
//   - conv1's weights from the one-hot channel are scaled so that each channel's peak is
//     hotPixelMargin × the range of its coordinate map: the max pool's winner then lies within
//     2 px of the hot pixel for every centre;
//   - conv5's biases move each channel's output for the canvas's middle centre to that centre's
//     target, (Canvas/2)/Canvas.
//
// The architecture and its 906 parameters are unchanged.
func HotPixelInit(a *engine.Arena, theta []float32) error {
	r, err := readRegressor(a, theta)
	if err != nil {
		return err
	}
	d := r.decompose()
	var span float64
	for ch := range 2 {
		lo, hi := minMax(d.c[ch])
		span = math.Max(span, hi-lo)
	}
	if !(span > 0) || math.IsInf(span, 0) {
		return fmt.Errorf("hot-pixel initialisation: the coordinate maps span %v", span)
	}
	// He-normal draws zero biases, so C is linear in the coordinate weights: scaling them by
	// 1/span scales C by 1/span.
	mu := 1 / span
	lambda := 0.0
	for ch := range 2 {
		lo, hi := minMax(d.s[ch])
		if -lo > hi {
			for j := range 8 * 9 {
				theta[r.w5+ch*8*9+j] = -theta[r.w5+ch*8*9+j]
			}
			theta[r.b5+ch] = -theta[r.b5+ch]
			hi = -lo
		}
		if !(hi > 0) {
			return fmt.Errorf("hot-pixel initialisation: output %d does not respond to the one-hot pixel", ch)
		}
		clo, chi := minMax(d.c[ch])
		lambda = math.Max(lambda, hotPixelMargin*mu*(chi-clo)/hi)
	}
	for o := range 8 {
		theta[r.w1+o*3] = float32(float64(theta[r.w1+o*3]) * lambda)
		theta[r.w1+o*3+1] = float32(float64(theta[r.w1+o*3+1]) * mu)
		theta[r.w1+o*3+2] = float32(float64(theta[r.w1+o*3+2]) * mu)
	}
	// Read back what the scaled θ gives (biases included), and centre the output at the
	// middle of the canvas.
	if r, err = readRegressor(a, theta); err != nil {
		return err
	}
	d = r.decompose()
	mid := Centre{Canvas / 2, Canvas / 2}
	for ch := range 2 {
		_, v := d.winner(ch, mid)
		theta[r.b5+ch] = float32(float64(theta[r.b5+ch]) - v + float64(Canvas/2)/Canvas)
	}
	return nil
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// DiagnoseInit returns, for each of the configuration's seeds, the diagnosis of the CoordConv
// regressor's θ₀ (the recipe's initialisation) on the training set, without training.
func DiagnoseInit(dev engine.Device, cfg Config) ([]RegressorDiagnosis, error) {
	if cfg.Task != Regression || cfg.Model != "coordconv" {
		return nil, fmt.Errorf("the diagnosis is of the CoordConv regressor, not the %s task's %s model", cfg.Task, cfg.Model)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	train, _, err := cfg.Sets()
	if err != nil {
		return nil, err
	}
	spec, err := NewSpec(cfg.Task, cfg.Model, cfg.Opts)
	if err != nil {
		return nil, err
	}
	m, err := engine.NewModel(dev, "regression-coordconv", spec.Net, spec.In, spec.Loss, 1)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	var out []RegressorDiagnosis
	for _, seed := range cfg.Seeds {
		if err := InitModel(m, cfg, seed); err != nil {
			return nil, err
		}
		d, err := DiagnoseRegressor(m.Arena, m.Theta(), train.Centres)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}
