package coordconv

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
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
	if err := writeNpy(filepath.Join(dir, "centres.npy"), "<i4", []int{n, 2}, xy); err != nil {
		return err
	}
	if err := writeNpy(filepath.Join(dir, "onehot.npy"), "|u1", []int{n, Canvas, Canvas}, onehot); err != nil {
		return err
	}
	if err := writeNpy(filepath.Join(dir, "squares.npy"), "|u1", []int{n, Canvas, Canvas}, squares); err != nil {
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
			if err := writeNpy(filepath.Join(dir, kind+"_"+set.name+".npy"), "<i4", []int{len(idx)}, idx); err != nil {
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

// writeNpy writes a C-order array in NumPy's .npy format, version 1.0.
func writeNpy[T int32 | uint8](path, descr string, shape []int, data []T) error {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, sh)
	// Magic (6) + version (2) + header length (2) + header + '\n', padded to 64 bytes.
	total := 10 + len(header) + 1
	header += strings.Repeat(" ", (64-total%64)%64) + "\n"
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(fh)
	w.WriteString("\x93NUMPY\x01\x00")
	binary.Write(w, binary.LittleEndian, uint16(len(header)))
	w.WriteString(header)
	if err := binary.Write(w, binary.LittleEndian, data); err != nil {
		fh.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
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
