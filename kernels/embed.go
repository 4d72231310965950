//go:build cuda

package kernels

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strings"
)

// The two PTX sets of kernels/*.cu (scripts/build-kernels.sh): compute_80 in kernels/*.ptx,
// compute_70 in kernels/sm70/*.ptx.
//
//go:embed *.ptx sm70/*.ptx
var ptxFiles embed.FS

// The PTX sets, by the virtual architecture they are compiled for.
const (
	// SM80 is compute_80: A100, H100 and newer; the TF32 tensor-core kernels use mma.sync.
	SM80 = "sm80"
	// SM70 is compute_70: V100 (7.0), T4 (7.5) and the other 7.x GPUs; the TF32 kernels' entry
	// points exist but compute in float32.
	SM70 = "sm70"
)

// SetFor returns the embedded PTX set that runs on a GPU of compute capability major.minor, or an
// error for GPUs older than 7.0, for which no set is built.
func SetFor(major, minor int) (string, error) {
	switch {
	case major >= 8:
		return SM80, nil
	case major == 7:
		return SM70, nil
	}
	return "", fmt.Errorf("compute capability %d.%d: gaze's kernels are built for 7.0 (V100, T4) and newer", major, minor)
}

// Module is one PTX file: its name (the .cu file's base name), its text, its entry points and the
// architecture it targets (the PTX .target, e.g. "sm_80").
type Module struct {
	Name    string
	PTX     string
	Entries []string
	Target  string
}

var (
	entryRE  = regexp.MustCompile(`(?m)^\.visible \.entry ([A-Za-z_][A-Za-z0-9_]*)\(`)
	targetRE = regexp.MustCompile(`(?m)^\.target\s+(sm_[0-9]+)`)
)

// PTXDirEnv names the environment variable that makes Modules read the PTX from a folder instead
// of the embedded files: for trying kernel variants on a GPU machine without Go (build the PTX
// with scripts/build-kernels.sh DIR, carry DIR, run the same binary), or for forcing the compute
// 7.0 set on a newer GPU (GAZE_PTX_DIR=kernels/sm70). Kernel signatures must match the binary's.
const PTXDirEnv = "GAZE_PTX_DIR"

// Modules returns the PTX modules of an embedded set (SM80 or SM70), sorted by name, or, when
// $GAZE_PTX_DIR is set, those in that folder whatever the set.
func Modules(set string) ([]Module, error) {
	var src fs.FS
	if dir := os.Getenv(PTXDirEnv); dir != "" {
		src = os.DirFS(dir)
	} else {
		switch set {
		case SM80:
			src = ptxFiles
		case SM70:
			sub, err := fs.Sub(ptxFiles, "sm70")
			if err != nil {
				return nil, fmt.Errorf("kernels: %w", err)
			}
			src = sub
		default:
			return nil, fmt.Errorf("kernels: unknown PTX set %q (want %s or %s)", set, SM80, SM70)
		}
	}
	names, err := fs.Glob(src, "*.ptx")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("kernels: no PTX files in %s=%s", PTXDirEnv, os.Getenv(PTXDirEnv))
	}
	var mods []Module
	for _, name := range names {
		b, err := fs.ReadFile(src, name)
		if err != nil {
			return nil, fmt.Errorf("kernels: %w", err)
		}
		text := string(b)
		var entries []string
		for _, m := range entryRE.FindAllStringSubmatch(text, -1) {
			entries = append(entries, m[1])
		}
		target := ""
		if m := targetRE.FindStringSubmatch(text); m != nil {
			target = m[1]
		}
		mods = append(mods, Module{Name: strings.TrimSuffix(name, ".ptx"), PTX: text, Entries: entries, Target: target})
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Name < mods[j].Name })
	return mods, nil
}
