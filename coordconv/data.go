package coordconv

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// The Not-so-Clevr canvas: a Side×Side square of value 1 on a Canvas×Canvas canvas of 0, whose
// centre (x, y) runs over every position where the square fits: MinCentre…MaxCentre on both axes.
const (
	Canvas    = 64
	Side      = 9
	MinCentre = Side / 2                  // 4
	MaxCentre = Canvas - 1 - Side/2       // 59
	Positions = MaxCentre - MinCentre + 1 // 56 per axis, 3,136 in all
	// QuadrantMin is where the quadrant split's test set starts: centres with x ≥ 33 and y ≥ 33
	// (a whole quadrant of the positions, never seen in training).
	QuadrantMin = 33
)

// Centre is the centre of a square: column X and row Y.
type Centre struct{ X, Y int }

// Check reports a centre whose square does not fit on the canvas.
func (c Centre) Check() error {
	if c.X < MinCentre || c.X > MaxCentre || c.Y < MinCentre || c.Y > MaxCentre {
		return fmt.Errorf("centre (%d, %d) is off the canvas: a %d×%d square on a %d×%d canvas needs x and y in %d…%d",
			c.X, c.Y, Side, Side, Canvas, Canvas, MinCentre, MaxCentre)
	}
	return nil
}

// Pixel is the flat index y·Canvas + x of the centre in a Canvas×Canvas map: the class label of
// the classification task.
func (c Centre) Pixel() int { return c.Y*Canvas + c.X }

// AllCentres lists every Not-so-Clevr centre, row by row (y, then x).
func AllCentres() []Centre {
	out := make([]Centre, 0, Positions*Positions)
	for y := MinCentre; y <= MaxCentre; y++ {
		for x := MinCentre; x <= MaxCentre; x++ {
			out = append(out, Centre{x, y})
		}
	}
	return out
}

// OneHot writes the Canvas×Canvas map with a 1 at the centre into dst (len Canvas²).
func OneHot(c Centre, dst []float32) error {
	if err := c.Check(); err != nil {
		return err
	}
	if len(dst) != Canvas*Canvas {
		return fmt.Errorf("one-hot map needs %d values, got %d", Canvas*Canvas, len(dst))
	}
	clear(dst)
	dst[c.Pixel()] = 1
	return nil
}

// Square writes the Canvas×Canvas image of the Side×Side square centred at c into dst.
func Square(c Centre, dst []float32) error {
	if err := c.Check(); err != nil {
		return err
	}
	if len(dst) != Canvas*Canvas {
		return fmt.Errorf("square image needs %d values, got %d", Canvas*Canvas, len(dst))
	}
	clear(dst)
	for y := c.Y - Side/2; y <= c.Y+Side/2; y++ {
		for x := c.X - Side/2; x <= c.X+Side/2; x++ {
			dst[y*Canvas+x] = 1
		}
	}
	return nil
}

// Split is a train/test partition of the centres.
type Split struct {
	Name        string
	Train, Test []Centre
}

// SplitKinds are the split names Split accepts.
var SplitKinds = []string{"uniform", "quadrant"}

// NewSplit returns the named split. "uniform" draws a random test set of the fraction testFrac
// of all centres with the seed (the paper's 80/20 is testFrac 0.2); "quadrant" holds out the
// centres with x ≥ 33 and y ≥ 33 (2,407 train, 729 test) and ignores testFrac and seed.
func NewSplit(kind string, testFrac float64, seed uint64) (Split, error) {
	all := AllCentres()
	s := Split{Name: kind}
	switch kind {
	case "uniform":
		if !(testFrac > 0 && testFrac < 1) {
			return Split{}, fmt.Errorf("uniform split: test fraction %v must be in (0, 1)", testFrac)
		}
		nTest := int(float64(len(all))*testFrac + 0.5)
		if nTest == 0 || nTest == len(all) {
			return Split{}, fmt.Errorf("uniform split: test fraction %v leaves an empty %s set of %d centres", testFrac, map[bool]string{true: "test", false: "training"}[nTest == 0], len(all))
		}
		r := rand.New(rand.NewPCG(seed, 0x5eed5a11c0011d5))
		perm := r.Perm(len(all))
		test := make([]bool, len(all))
		for _, i := range perm[:nTest] {
			test[i] = true
		}
		// Keep both sets in canvas order: the order carries no information, and listings and
		// plots are easier to read.
		for i, c := range all {
			if test[i] {
				s.Test = append(s.Test, c)
			} else {
				s.Train = append(s.Train, c)
			}
		}
	case "quadrant":
		for _, c := range all {
			if c.X >= QuadrantMin && c.Y >= QuadrantMin {
				s.Test = append(s.Test, c)
			} else {
				s.Train = append(s.Train, c)
			}
		}
	default:
		return Split{}, fmt.Errorf("unknown split %q (want uniform or quadrant)", kind)
	}
	return s, nil
}

// Task is one of the paper's three supervised toy tasks.
type Task string

const (
	// Classification: (x, y) → the one-hot Canvas×Canvas map (softmax over the pixels).
	Classification Task = "classification"
	// Regression: the one-hot map → (x, y)/Canvas.
	Regression Task = "regression"
	// Rendering: (x, y) → the image of the square (per-pixel sigmoid cross-entropy).
	Rendering Task = "rendering"
)

// Tasks lists the tasks in the paper's order.
var Tasks = []Task{Classification, Regression, Rendering}

// ParseTask checks a task name.
func ParseTask(s string) (Task, error) {
	for _, t := range Tasks {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown task %q (want classification, regression or rendering)", s)
}

// Examples is one task's view of a list of centres; it implements engine.Examples and builds
// each example when it is gathered (a one-hot map or a square is cheaper to draw than to store).
type Examples struct {
	Task    Task
	Centres []Centre
}

// NewExamples checks the centres and returns the task's examples.
func NewExamples(task Task, centres []Centre) (*Examples, error) {
	if _, err := ParseTask(string(task)); err != nil {
		return nil, err
	}
	if len(centres) == 0 {
		return nil, errors.New("no centres: the split leaves an empty set")
	}
	for _, c := range centres {
		if err := c.Check(); err != nil {
			return nil, err
		}
	}
	return &Examples{Task: task, Centres: centres}, nil
}

func (e *Examples) Len() int { return len(e.Centres) }

// ExampleSize: the raw integer coordinates (2) for classification and rendering, as the paper's
// painters take them; the one-hot map for regression.
func (e *Examples) ExampleSize() int {
	if e.Task == Regression {
		return Canvas * Canvas
	}
	return 2
}

// TargetSize: a class index, two coordinates, or the square image.
func (e *Examples) TargetSize() int {
	switch e.Task {
	case Classification:
		return 1
	case Regression:
		return 2
	}
	return Canvas * Canvas
}

func (e *Examples) Gather(idx []int, x, y []float32) error {
	xs, ys := e.ExampleSize(), e.TargetSize()
	if len(x) < len(idx)*xs || len(y) < len(idx)*ys {
		return fmt.Errorf("not-so-clevr: gather of %d examples needs %d inputs and %d targets", len(idx), len(idx)*xs, len(idx)*ys)
	}
	for k, i := range idx {
		if i < 0 || i >= len(e.Centres) {
			return fmt.Errorf("not-so-clevr: example %d of %d", i, len(e.Centres))
		}
		c := e.Centres[i]
		xo, yo := x[k*xs:(k+1)*xs], y[k*ys:(k+1)*ys]
		switch e.Task {
		case Classification:
			xo[0], xo[1] = float32(c.X), float32(c.Y)
			yo[0] = float32(c.Pixel())
		case Regression:
			if err := OneHot(c, xo); err != nil {
				return err
			}
			yo[0], yo[1] = float32(c.X)/Canvas, float32(c.Y)/Canvas
		case Rendering:
			xo[0], xo[1] = float32(c.X), float32(c.Y)
			if err := Square(c, yo); err != nil {
				return err
			}
		}
	}
	return nil
}
