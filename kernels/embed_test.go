//go:build cuda

package kernels

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestModulesEmbedded(t *testing.T) {
	t.Setenv(PTXDirEnv, "")
	mods, err := Modules()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(mods, func(m Module) bool { return m.Name == "conv" })
	if i < 0 || !slices.Contains(mods[i].Entries, "conv_splitk_reduce") {
		t.Fatalf("embedded modules lack conv/conv_splitk_reduce: %+v", mods)
	}
}

func TestModulesFromDir(t *testing.T) {
	dir := t.TempDir()
	ptx := ".version 7.8\n.visible .entry alpha(\n.param .u32 n\n)\n{ ret; }\n.visible .entry beta(\n)\n{ ret; }\n"
	if err := os.WriteFile(filepath.Join(dir, "m.ptx"), []byte(ptx), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(PTXDirEnv, dir)
	mods, err := Modules()
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) != 1 || mods[0].Name != "m" || !slices.Equal(mods[0].Entries, []string{"alpha", "beta"}) {
		t.Fatalf("got %+v", mods)
	}
	t.Setenv(PTXDirEnv, t.TempDir())
	if _, err := Modules(); err == nil || !strings.Contains(err.Error(), "no PTX files") {
		t.Fatalf("empty folder: got %v", err)
	}
}
