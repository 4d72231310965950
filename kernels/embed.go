//go:build cuda

package kernels

import (
	"embed"
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

// Modules returns the embedded PTX modules, sorted by name.
func Modules() []Module {
	des, err := ptxFiles.ReadDir(".")
	if err != nil {
		panic(err) // the embedded file system always reads
	}
	var mods []Module
	for _, de := range des {
		b, err := ptxFiles.ReadFile(de.Name())
		if err != nil {
			panic(err)
		}
		text := string(b)
		var entries []string
		for _, m := range entryRE.FindAllStringSubmatch(text, -1) {
			entries = append(entries, m[1])
		}
		mods = append(mods, Module{Name: strings.TrimSuffix(de.Name(), ".ptx"), PTX: text, Entries: entries})
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Name < mods[j].Name })
	return mods
}
