package sgemm

import (
	"math"
	"math/rand"
	"testing"
)

// Conv1Filter5 against the sum written out in float64, lane by lane, on rows of 17 to 32
// columns, starting from nonzero accumulators, with junk past each row's columns in dy (the
// next row's values: the mask must keep them out) and in x past the 36 floats a row reads.
func TestConv1Filter5(t *testing.T) {
	if !AVX512.Supported() {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewSource(3))
	prev, _ := SetPath(AVX512)
	defer SetPath(prev)
	for _, c := range []struct{ ow, rows, nimg, pitch int }{{28, 28, 3, 36}, {17, 5, 2, 40}, {32, 9, 4, 37}, {20, 1, 1, 36}} {
		ks := c.rows*c.ow + 3 // channel stride: a gap after each channel
		dyImg := 5*ks + 1
		xImg := c.rows*c.pitch + 7
		dy := randSlice(r, (c.nimg-1)*dyImg+3*ks+c.rows*c.ow)
		x := randSlice(r, (c.nimg-1)*xImg+(c.rows-1)*c.pitch+36)
		var acc [20 * 16]float32
		for i := range acc {
			acc[i] = float32(r.NormFloat64())
		}
		var want [20 * 16]float64
		for i, v := range acc {
			want[i] = float64(v)
		}
		for k := range 4 {
			for s := range 5 {
				for i := range c.nimg {
					for row := range c.rows {
						for ow := range c.ow {
							g := float64(dy[i*dyImg+k*ks+row*c.ow+ow])
							want[(5*k+s)*16+ow%16] += g * float64(x[i*xImg+row*c.pitch+ow+s])
						}
					}
				}
			}
		}
		if !Conv1Filter5(&acc, dy, dyImg, ks, c.ow, x, xImg, c.pitch, c.nimg, c.rows) {
			t.Fatal("Conv1Filter5 returned false on the AVX512 path")
		}
		for i, v := range acc {
			if d := math.Abs(float64(v) - want[i]); d > 1e-5*(1+math.Abs(want[i])) {
				t.Fatalf("%+v: acc[%d] (k %d, s %d, lane %d) = %v, want %v", c, i, i/16/5, i/16%5, i%16, v, want[i])
			}
		}
	}
	SetPath(AVX2)
	var acc [20 * 16]float32
	if Conv1Filter5(&acc, nil, 0, 0, 28, nil, 0, 36, 1, 1) {
		t.Fatal("Conv1Filter5 ran on the AVX2 path")
	}
}

// Conv1Forward5 against the sum written out in float64, for 1 to 8 channels, rows of 17 to 32
// columns and 1 to 5 filter rows: every output it owns, and nothing past a channel's rows nor in
// the planes of channels past kn.
func TestConv1Forward5(t *testing.T) {
	if !AVX512.Supported() {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewSource(4))
	prev, _ := SetPath(AVX512)
	defer SetPath(prev)
	for _, c := range []struct{ ow, rows, rr, kn, pitch int }{{28, 28, 5, 8, 36}, {28, 28, 5, 4, 36}, {17, 6, 3, 1, 40}, {32, 3, 1, 7, 37}, {20, 9, 2, 5, 36}} {
		ks := c.rows*c.ow + 5 // a gap after each channel's plane
		x := randSlice(r, (c.rows+c.rr-2)*c.pitch+36)
		wt := randSlice(r, c.rr*40)
		y := make([]float32, 8*ks)
		const sentinel = 12345
		for i := range y {
			y[i] = sentinel
		}
		if !Conv1Forward5(y, ks, c.ow, c.kn, x, c.pitch, c.rows, c.rr, wt) {
			t.Fatal("Conv1Forward5 returned false on the AVX512 path")
		}
		for k := range 8 {
			for i := range ks {
				got := y[k*ks+i]
				row, ow := i/c.ow, i%c.ow
				if k >= c.kn || row >= c.rows {
					if got != sentinel {
						t.Fatalf("%+v: y[%d] (channel %d, offset %d) written: %v", c, k*ks+i, k, i, got)
					}
					continue
				}
				var want float64
				for rr := range c.rr {
					for s := range 5 {
						want += float64(x[(row+rr)*c.pitch+ow+s]) * float64(wt[(rr*5+s)*8+k])
					}
				}
				if d := math.Abs(float64(got) - want); d > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("%+v: y channel %d row %d column %d = %v, want %v", c, k, row, ow, got, want)
				}
			}
		}
	}
}
