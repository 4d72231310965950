package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The real Fashion-MNIST, installed the way a training command installs it on first use: Load
// of an empty data directory copies the files from the system folder (the Debian package's, or
// $GAZE_DATA/fashion-mnist when that holds them), checks them against the pinned hashes, and
// reads 60,000 training and 10,000 test images, 6,000 and 1,000 of each class.
func TestFashionMNISTReal(t *testing.T) {
	src := ""
	for _, d := range []string{FashionMNISTDir(os.Getenv("GAZE_DATA")), FashionMNISTSystemDir} {
		if os.Getenv("GAZE_DATA") == "" && d == FashionMNISTDir("") {
			continue
		}
		if hasIDXFiles(d, fashionSet) == nil {
			src = d
			break
		}
	}
	if src == "" {
		t.Skipf("no Fashion-MNIST here: neither $GAZE_DATA/fashion-mnist nor %s (the Debian package %s) holds it; `apt-get install %s` or `gaze data fashion-mnist` brings it",
			FashionMNISTSystemDir, FashionMNISTPackage, FashionMNISTPackage)
	}
	defer func(old string) { fashionSystemDir = old }(fashionSystemDir)
	fashionSystemDir = src
	defer func(old func(func(string, ...any)) error) { aptInstall = old }(aptInstall)
	aptInstall = func(func(string, ...any)) error {
		t.Error("tried to install the package although the files are there")
		return nil
	}
	dir := t.TempDir()
	var logged []string
	l, err := Load(Spec{Name: "fashion-mnist", Dir: dir}, func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) })
	if err != nil {
		t.Fatal(err)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "installing it") {
		t.Errorf("logged %q, want one line about installing Fashion-MNIST", logged)
	}
	if l.Train.Len() != 60000 || l.Test.Len() != 10000 || l.Classes != 10 || !slices.Equal(l.Input, []int{1, 28, 28}) {
		t.Fatalf("Fashion-MNIST: %d train, %d test, %d classes, input %v", l.Train.Len(), l.Test.Len(), l.Classes, l.Input)
	}
	if l.Train.Name() != "fashion-mnist-train" || l.Test.Name() != "fashion-mnist-test" {
		t.Errorf("names %q, %q", l.Train.Name(), l.Test.Name())
	}
	for _, c := range []struct {
		d    *Dataset
		want int
	}{{l.Train, 6000}, {l.Test, 1000}} {
		var n [10]int
		for _, y := range c.d.Labels() {
			n[y]++
		}
		for k, v := range n {
			if v != c.want {
				t.Errorf("%s: class %d has %d examples, want %d", c.d.Name(), k, v, c.want)
			}
		}
	}
	if lo, hi := slices.Min(l.Train.Images()), slices.Max(l.Train.Images()); lo != 0 || hi != 1 {
		t.Errorf("pixels span [%v, %v], want [0, 1]", lo, hi)
	}
	// Installed and checked once; a second install verifies the copy in place.
	if err := InstallFashionMNIST(dir, nil); err != nil {
		t.Errorf("verifying the installed copy: %v", err)
	}
}

// withFakeFashion points the installer at a fake system folder and a fake apt, and pins the
// hashes of the small fake files that writeFakeFashion writes.
func withFakeFashion(t *testing.T, apt func(func(string, ...any)) error) (system string) {
	t.Helper()
	system = filepath.Join(t.TempDir(), "usr-share-datasets-fashion-mnist")
	oldDir, oldApt, oldSHA := fashionSystemDir, aptInstall, fashionContentSHA256
	t.Cleanup(func() { fashionSystemDir, aptInstall, fashionContentSHA256 = oldDir, oldApt, oldSHA })
	fashionSystemDir, aptInstall = system, apt
	ref := t.TempDir()
	writeFakeFashion(t, ref)
	fashionContentSHA256 = map[string]string{}
	for _, m := range mnistFiles {
		p, err := m.find(ref, fashionSet)
		if err != nil {
			t.Fatal(err)
		}
		if fashionContentSHA256[m.split+"-"+m.kind], err = contentSHA256(p); err != nil {
			t.Fatal(err)
		}
	}
	return system
}

func writeFakeFashion(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	newFakeMNIST(3, 1, 4, 1, 5).write(t, dir, "train", true, "-")
	newFakeMNIST(9, 2, 6).write(t, dir, "t10k", true, "-")
}

func TestInstallFashionMNIST(t *testing.T) {
	// Neither the data directory nor the system folder holds it, and apt cannot help: the error
	// says what to do.
	withFakeFashion(t, func(func(string, ...any)) error {
		return errors.New("not root and no password-less sudo: install the Debian package dataset-fashion-mnist: `sudo apt-get install -y dataset-fashion-mnist`")
	})
	dir := t.TempDir()
	err := InstallFashionMNIST(dir, nil)
	wantErr(t, err, "sudo apt-get install -y dataset-fashion-mnist", "copy the four IDX files", FashionMNISTDir(dir))
	_, err = Load(Spec{Name: "fashion-mnist", Dir: dir}, nil)
	wantErr(t, err, "Fashion-MNIST train images not found", "gaze data fashion-mnist --data-dir "+dir, "sudo apt-get install")

	// apt installs the package: the files are copied from its folder and checked.
	installed := 0
	system := withFakeFashion(t, func(func(string, ...any)) error {
		installed++
		writeFakeFashion(t, fashionSystemDir)
		return nil
	})
	l, err := Load(Spec{Name: "fashion-mnist", Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if installed != 1 || l.Train.Len() != 5 || l.Test.Len() != 3 || l.Train.Name() != "fashion-mnist-train" {
		t.Fatalf("apt ran %d times; loaded %d train and %d test examples (%s)", installed, l.Train.Len(), l.Test.Len(), l.Train.Name())
	}
	if _, err := os.Stat(filepath.Join(dir, "fashion-mnist", "train-images-idx3-ubyte.gz")); err != nil {
		t.Errorf("not installed into the data directory's fashion-mnist folder: %v", err)
	}
	// The copy in the data directory is verified in place, without apt or the system folder.
	if err := os.RemoveAll(system); err != nil {
		t.Fatal(err)
	}
	if err := InstallFashionMNIST(dir, nil); err != nil || installed != 1 {
		t.Fatalf("verifying in place: %v (apt ran %d times)", err, installed)
	}
	// A file whose IDX bytes differ from the pinned ones is refused, in place or as a source.
	newFakeMNIST(9, 2, 7).write(t, FashionMNISTDir(dir), "t10k", true, "-")
	wantErr(t, InstallFashionMNIST(dir, nil), filepath.Join(dir, "fashion-mnist", "t10k-labels-idx1-ubyte.gz"), "SHA-256", fashionContentSHA256["t10k-labels"])
	writeFakeFashion(t, system)
	newFakeMNIST(9, 2, 7).write(t, system, "t10k", true, "-")
	other := t.TempDir()
	wantErr(t, InstallFashionMNIST(other, nil), filepath.Join(system, "t10k-labels-idx1-ubyte.gz"), "SHA-256")
	if entries, _ := os.ReadDir(FashionMNISTDir(other)); len(entries) != 0 {
		t.Errorf("a refused install left %v", entries)
	}
}
