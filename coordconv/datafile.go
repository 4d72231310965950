package coordconv

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"

	"github.com/gazeml/gaze/internal/npy"
)

// WriteData writes Not-so-Clevr to dir for a look and for use elsewhere: centres.npy (N×2 int32,
// x then y, in AllCentres order), onehot.npy and squares.npy (N×64×64 uint8), for each split
// <split>_train.npy and <split>_test.npy (int32 indices into centres), examples.png (a grid of
// squares) and <split>.png (the centres coloured by set: train grey, test red).
func WriteData(dir string, testFrac float64, seed uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	all := AllCentres()
	xy := make([]int32, 0, 2*len(all))
	onehot := make([]uint8, 0, len(all)*Canvas*Canvas)
	squares := make([]uint8, 0, len(all)*Canvas*Canvas)
	buf := make([]float32, Canvas*Canvas)
	index := map[Centre]int32{}
	for i, c := range all {
		xy = append(xy, int32(c.X), int32(c.Y))
		index[c] = int32(i)
		if err := OneHot(c, buf); err != nil {
			return err
		}
		onehot = appendU8(onehot, buf)
		if err := Square(c, buf); err != nil {
			return err
		}
		squares = appendU8(squares, buf)
	}
	n := len(all)
	if err := npy.Write(filepath.Join(dir, "centres.npy"), []int{n, 2}, xy); err != nil {
		return err
	}
	if err := npy.Write(filepath.Join(dir, "onehot.npy"), []int{n, Canvas, Canvas}, onehot); err != nil {
		return err
	}
	if err := npy.Write(filepath.Join(dir, "squares.npy"), []int{n, Canvas, Canvas}, squares); err != nil {
		return err
	}
	for _, kind := range SplitKinds {
		s, err := NewSplit(kind, testFrac, seed)
		if err != nil {
			return err
		}
		for _, set := range []struct {
			name string
			c    []Centre
		}{{"train", s.Train}, {"test", s.Test}} {
			idx := make([]int32, len(set.c))
			for i, c := range set.c {
				idx[i] = index[c]
			}
			if err := npy.Write(filepath.Join(dir, kind+"_"+set.name+".npy"), []int{len(idx)}, idx); err != nil {
				return err
			}
		}
		if err := splitPNG(filepath.Join(dir, kind+".png"), s); err != nil {
			return err
		}
	}
	return examplesPNG(filepath.Join(dir, "examples.png"), all)
}

func appendU8(dst []uint8, v []float32) []uint8 {
	for _, x := range v {
		dst = append(dst, uint8(x))
	}
	return dst
}

// splitPNG draws the canvas with each centre coloured by its set.
func splitPNG(path string, s Split) error {
	const k = 4
	img := image.NewRGBA(image.Rect(0, 0, Canvas*k, Canvas*k))
	fill := func(c Centre, col color.RGBA) {
		for dy := range k {
			for dx := range k {
				img.SetRGBA(c.X*k+dx, c.Y*k+dy, col)
			}
		}
	}
	for y := range Canvas {
		for x := range Canvas {
			fill(Centre{x, y}, color.RGBA{255, 255, 255, 255})
		}
	}
	for _, c := range s.Train {
		fill(c, color.RGBA{150, 150, 150, 255})
	}
	for _, c := range s.Test {
		fill(c, color.RGBA{210, 40, 40, 255})
	}
	return savePNG(path, img)
}

// examplesPNG draws an 8×8 grid of squares spread over the centres.
func examplesPNG(path string, all []Centre) error {
	const g, gap = 8, 4
	side := Canvas + gap
	img := image.NewRGBA(image.Rect(0, 0, g*side+gap, g*side+gap))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	buf := make([]float32, Canvas*Canvas)
	for k := range g * g {
		c := all[k*len(all)/(g*g)]
		if err := Square(c, buf); err != nil {
			return err
		}
		x0, y0 := gap+(k%g)*side, gap+(k/g)*side
		drawMap(img, x0, y0, 1, buf, color.RGBA{0, 0, 0, 255})
	}
	return savePNG(path, img)
}

func savePNG(path string, img image.Image) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(fh, img); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}
