package data

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): ten classes of clothing in MNIST's format —
// 60,000 training and 10,000 test images of 28×28 grey pixels in the same four IDX files under
// the same names, 6,000 training and 1,000 test images per class. gaze keeps it in the
// fashion-mnist folder of the data directory and takes it from Debian's package
// dataset-fashion-mnist, which installs the four gzipped files into FashionMNISTSystemDir.

// FashionMNISTSystemDir is where Debian's dataset-fashion-mnist puts the IDX files.
const FashionMNISTSystemDir = "/usr/share/datasets/fashion-mnist"

// FashionMNISTPackage is the Debian package that ships Fashion-MNIST.
const FashionMNISTPackage = "dataset-fashion-mnist"

// fashionContentSHA256 holds the SHA-256 of each file's decompressed IDX bytes (header and
// payload), by split and kind. The hashes of the .gz files themselves are not pinned: Debian's
// package recompressed them (their MD5s differ from those of the Zalando release), and a user's
// copy may be either, or not compressed at all; the IDX bytes are the same in all of them.
// Computed from dataset-fashion-mnist 0.0~git20200523.55506a9-1 (sizes 47,040,016, 60,008,
// 7,840,016 and 10,008 bytes).
var fashionContentSHA256 = map[string]string{
	"train-images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
	"train-labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
	"t10k-images":  "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
	"t10k-labels":  "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

// FashionMNISTDir is the folder of Fashion-MNIST under a data directory.
func FashionMNISTDir(dataDir string) string { return filepath.Join(dataDir, fashionSet.subdir) }

// LoadFashionMNIST reads Fashion-MNIST's training set (60,000 examples) and test set (10,000)
// from the four IDX files in dir (see LoadMNIST for the accepted names); the data sets are named
// "fashion-mnist-train" and "fashion-mnist-test". Load reads it from --data-dir/fashion-mnist.
func LoadFashionMNIST(dir string) (train, test *Dataset, err error) {
	return loadIDXSet(dir, fashionSet)
}

// fashionSystemDir and aptInstall are variables so that tests can stand in for the package.
var (
	fashionSystemDir = FashionMNISTSystemDir
	aptInstall       = runAptInstall
)

// InstallFashionMNIST makes dataDir/fashion-mnist hold Fashion-MNIST, checked: files already
// there are verified in place (IDX structure, labels 0..9, image and label counts agreeing, the
// pinned SHA-256 of their IDX bytes); otherwise they are copied, and checked the same way,
// from FashionMNISTSystemDir, installing the Debian package first when that folder is missing
// and this process may (root, or sudo without a password), with a line to log. It is what
// `gaze data fashion-mnist` runs and what Load does on first use.
func InstallFashionMNIST(dataDir string, log func(format string, args ...any)) error {
	dst := FashionMNISTDir(dataDir)
	if hasIDXFiles(dst, fashionSet) == nil {
		return checkIDXDir(dst, fashionSet, fashionContentSHA256)
	}
	if err := hasIDXFiles(fashionSystemDir, fashionSet); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := aptInstall(log); err != nil {
			return fmt.Errorf("data: Fashion-MNIST is neither in %s nor in %s: %w\n(or copy the four IDX files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz into %s)",
				dst, fashionSystemDir, err, dst)
		}
		if err := hasIDXFiles(fashionSystemDir, fashionSet); err != nil {
			return fmt.Errorf("data: the package %s is installed but %w", FashionMNISTPackage, err)
		}
	}
	return installIDX(fashionSystemDir, dst, fashionSet, nil, fashionContentSHA256)
}

// aptTimeout bounds the package installation (a 30 MB package from a Debian mirror).
const aptTimeout = 10 * time.Minute

// runAptInstall installs the Debian package with apt-get, directly as root or through sudo
// when it needs no password; anything else is an error naming the command to run.
func runAptInstall(log func(format string, args ...any)) error {
	manual := fmt.Errorf("install the Debian package %s: `sudo apt-get install -y %s`", FashionMNISTPackage, FashionMNISTPackage)
	apt, err := exec.LookPath("apt-get")
	if err != nil {
		return fmt.Errorf("there is no apt-get here to install the Debian package %s (%v)", FashionMNISTPackage, err)
	}
	args := []string{apt, "install", "-y", FashionMNISTPackage}
	how := "as root"
	if os.Geteuid() != 0 {
		sudo, err := exec.LookPath("sudo")
		if err != nil || exec.Command(sudo, "-n", "true").Run() != nil {
			return fmt.Errorf("not root and no password-less sudo: %w", manual)
		}
		args, how = append([]string{sudo, "-n"}, args...), "through sudo"
	}
	if log != nil {
		log("Fashion-MNIST is not installed; running `%s` (%s) ...", strings.Join(args[len(args)-4:], " "), how)
	}
	ctx, cancel := context.WithTimeout(context.Background(), aptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tail := strings.TrimSpace(out.String())
		if len(tail) > 600 {
			tail = "…" + tail[len(tail)-600:]
		}
		return fmt.Errorf("`%s` failed (%v): %s\n(if the package was not found, run `apt-get update` first)", strings.Join(args, " "), err, tail)
	}
	return nil
}

// checkIDXDir verifies the four files of set in dir where they are: as an install checks a
// copy, and against the pinned hashes of their IDX bytes.
func checkIDXDir(dir string, set idxSet, wantContent map[string]string) error {
	var counts [4]int
	var paths [4]string
	for i, m := range mnistFiles {
		p, err := m.find(dir, set)
		if err != nil {
			return err
		}
		paths[i] = p
		if counts[i], err = verifyMNISTFile(p, m, p); err != nil {
			return err
		}
		if want, ok := wantContent[m.split+"-"+m.kind]; ok {
			sum, err := contentSHA256(p)
			if err != nil {
				return fmt.Errorf("data: %s: %w", p, err)
			}
			if sum != want {
				return fmt.Errorf("data: %s holds IDX bytes with SHA-256 %s, want %s (the original %s %s %s); the file is damaged or not %s",
					p, sum, want, set.title, m.split, m.kind, set.title)
			}
		}
	}
	for i := 0; i < 4; i += 2 {
		if counts[i] != counts[i+1] {
			return fmt.Errorf("data: %s holds %d images but %s holds %d labels", paths[i], counts[i], paths[i+1], counts[i+1])
		}
	}
	return nil
}

// contentSHA256 is the SHA-256 (hex) of a file's bytes after gzip decompression (of the bytes
// themselves for a file that is not gzipped).
func contentSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	r, _, err := decompressing(f)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
