package data

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// cifarPixel is the byte fake record r stores for channel c at (y, x).
func cifarPixel(r, c, y, x int) byte {
	if r == 1 && c == 2 && y == 31 && x == 31 {
		return 255
	}
	return byte(r*17 + c*71 + y*5 + x*3)
}

// cifarRecords builds n records: labels label0, label0+1, …, pixels from cifarPixel, written in
// the file's order (label byte, then the R, G and B planes, each row-major).
func cifarRecords(n, label0 int) []byte {
	var b []byte
	for r := range n {
		b = append(b, byte((label0+r)%10))
		for c := range 3 {
			for y := range 32 {
				for x := range 32 {
					b = append(b, cifarPixel(r, c, y, x))
				}
			}
		}
	}
	return b
}

func TestReadCIFARBatch(t *testing.T) {
	p := writeFile(t, filepath.Join(t.TempDir(), "data_batch_1.bin"), cifarRecords(3, 4))
	d, err := ReadCIFARBatch(p)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || d.ExampleSize() != 3072 || d.Classes() != 10 || d.Name() != "data_batch_1" {
		t.Fatalf("got %v", d)
	}
	if c, h, w := d.Shape(); c != 3 || h != 32 || w != 32 {
		t.Fatalf("shape (%d, %d, %d), want (3, 32, 32)", c, h, w)
	}
	for r := range 3 {
		if d.Labels()[r] != int32(4+r) {
			t.Errorf("label %d = %d, want %d", r, d.Labels()[r], 4+r)
		}
		for c := range 3 {
			for y := range 32 {
				for x := range 32 {
					got := d.Images()[((r*3+c)*32+y)*32+x] // NCHW
					if want := float32(cifarPixel(r, c, y, x)) / 255; got != want {
						t.Fatalf("record %d channel %d (%d, %d) = %v, want %v", r, c, y, x, got, want)
					}
				}
			}
		}
	}
	if got := d.Images()[((1*3+2)*32+31)*32+31]; got != 1 {
		t.Errorf("pixel byte 255 became %v, want exactly 1", got)
	}
	if got := d.Images()[0]; got != 0 { // cifarPixel(0,0,0,0) = 0
		t.Errorf("pixel byte 0 became %v, want 0", got)
	}
}

func TestReadCIFARBatchErrors(t *testing.T) {
	dir := t.TempDir()
	odd := writeFile(t, filepath.Join(dir, "odd.bin"), cifarRecords(2, 0)[:3073+100])
	_, err := ReadCIFARBatch(odd)
	wantErr(t, err, odd, "3173 bytes", "3073-byte")

	empty := writeFile(t, filepath.Join(dir, "empty.bin"), nil)
	_, err = ReadCIFARBatch(empty)
	wantErr(t, err, empty, "0 bytes")

	recs := cifarRecords(3, 0)
	recs[2*3073] = 10
	badLabel := writeFile(t, filepath.Join(dir, "label.bin"), recs)
	_, err = ReadCIFARBatch(badLabel)
	wantErr(t, err, badLabel, "record 2 has label 10")

	missing := filepath.Join(dir, "absent.bin")
	_, err = ReadCIFARBatch(missing)
	wantErr(t, err, missing, "CIFAR-10 binary version")
}

// withCIFARFileRecords makes the standard files n records long for the rest of the test.
func withCIFARFileRecords(t *testing.T, n int) {
	old := cifarFileRecords
	cifarFileRecords = n
	t.Cleanup(func() { cifarFileRecords = old })
}

func writeCIFARSet(t *testing.T, dir string, n int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, name := range append(append([]string{}, cifarTrainFiles...), cifarTestFile) {
		writeFile(t, filepath.Join(dir, name), cifarRecords(n, i))
	}
}

func TestLoadCIFAR10(t *testing.T) {
	withCIFARFileRecords(t, 2)
	root := t.TempDir()
	writeCIFARSet(t, filepath.Join(root, "cifar-10-batches-bin"), 2)
	for _, dir := range []string{root, filepath.Join(root, "cifar-10-batches-bin")} {
		train, test, err := LoadCIFAR10(dir)
		if err != nil {
			t.Fatal(err)
		}
		if train.Len() != 10 || test.Len() != 2 || train.Name() != "cifar10-train" || test.Name() != "cifar10-test" {
			t.Fatalf("got %v and %v", train, test)
		}
		// data_batch_k holds labels k-1, k; the batches are concatenated in order.
		want := []int32{0, 1, 1, 2, 2, 3, 3, 4, 4, 5}
		for i, l := range want {
			if train.Labels()[i] != l {
				t.Fatalf("train labels %v, want %v", train.Labels(), want)
			}
		}
		if test.Labels()[0] != 5 || test.Labels()[1] != 6 {
			t.Errorf("test labels %v, want [5 6]", test.Labels())
		}
		// Example 3 is record 1 of data_batch_2.
		if got, want := train.Images()[3*3072+1024+33], float32(cifarPixel(1, 1, 1, 1))/255; got != want {
			t.Errorf("train example 3 G(1,1) = %v, want %v", got, want)
		}
	}
}

func TestLoadCIFAR10Errors(t *testing.T) {
	withCIFARFileRecords(t, 2)
	dir := t.TempDir()
	writeCIFARSet(t, dir, 2)
	os.Remove(filepath.Join(dir, "data_batch_3.bin"))
	os.Remove(filepath.Join(dir, "test_batch.bin"))
	_, _, err := LoadCIFAR10(dir)
	wantErr(t, err, dir, "data_batch_3.bin, test_batch.bin missing", "CIFAR-10 binary version")

	writeCIFARSet(t, dir, 2)
	wrong := writeFile(t, filepath.Join(dir, "data_batch_4.bin"), cifarRecords(3, 0))
	_, _, err = LoadCIFAR10(dir)
	wantErr(t, err, wrong, "holds 3 records", fmt.Sprint(2*3073))
}
