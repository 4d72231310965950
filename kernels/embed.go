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

//go:embed *.ptx
var ptxFiles embed.FS

// Module is one PTX file: its name (the .cu file's base name), its text, and its entry points.
type Module struct {
	Name    string
	PTX     string
	Entries []string
}

var entryRE = regexp.MustCompile(`(?m)^\.visible \.entry ([A-Za-z_][A-Za-z0-9_]*)\(`)

// PTXDirEnv names the environment variable that makes Modules read the PTX from a folder instead
// of the embedded files: for trying kernel variants on a GPU machine without Go (build the PTX
// with scripts/build-kernels.sh DIR, carry DIR, run the same binary). Kernel signatures must match
// the binary's.
const PTXDirEnv = "GAZE_PTX_DIR"

// Modules returns the PTX modules, sorted by name: the embedded ones, or those in $GAZE_PTX_DIR.
func Modules() ([]Module, error) {
	var src fs.FS = ptxFiles
	if dir := os.Getenv(PTXDirEnv); dir != "" {
		src = os.DirFS(dir)
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
		mods = append(mods, Module{Name: strings.TrimSuffix(name, ".ptx"), PTX: text, Entries: entries})
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Name < mods[j].Name })
	return mods, nil
}
