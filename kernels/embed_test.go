//go:build cuda

package kernels

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestModulesEmbedded(t *testing.T) {
	t.Setenv(PTXDirEnv, "")
	for _, c := range []struct{ set, target string }{{SM80, "sm_80"}, {SM70, "sm_70"}} {
		mods, err := Modules(c.set)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(mods, func(m Module) bool { return m.Name == "conv" })
		if i < 0 || !slices.Contains(mods[i].Entries, "conv_splitk_reduce") {
			t.Fatalf("%s: embedded modules lack conv/conv_splitk_reduce", c.set)
		}
		for _, m := range mods {
			if m.Target != c.target {
				t.Errorf("%s: module %s targets %q, want %s", c.set, m.Name, m.Target, c.target)
			}
		}
	}
	if _, err := Modules("sm90"); err == nil {
		t.Error("Modules(sm90) succeeded")
	}
}

// paramsRE matches an entry point and its parameter list.
var paramsRE = regexp.MustCompile(`(?s)\.visible \.entry (\w+)\(\s*(.*?)\)`)

// TestSetsAlike checks that the two embedded sets have the same modules, entry points and
// parameter types, so that one binary launches either with the same arguments.
func TestSetsAlike(t *testing.T) {
	t.Setenv(PTXDirEnv, "")
	sigs := func(set string) map[string]string {
		mods, err := Modules(set)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, m := range mods {
			for _, e := range paramsRE.FindAllStringSubmatch(m.PTX, -1) {
				types := regexp.MustCompile(`\.param \.(\w+) `).FindAllStringSubmatch(e[2], -1)
				var ts []string
				for _, ty := range types {
					ts = append(ts, ty[1])
				}
				out[m.Name+"/"+e[1]] = strings.Join(ts, ",")
			}
		}
		return out
	}
	a, b := sigs(SM80), sigs(SM70)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("sm80 has %d entry points, sm70 %d", len(a), len(b))
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s: sm80 parameters (%s), sm70 (%s)", k, v, b[k])
		}
	}
}

func TestSetFor(t *testing.T) {
	for _, c := range []struct {
		maj, min int
		want     string
	}{{9, 0, SM80}, {8, 0, SM80}, {8, 6, SM80}, {7, 5, SM70}, {7, 0, SM70}, {6, 1, ""}} {
		got, err := SetFor(c.maj, c.min)
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("SetFor(%d, %d) = %q, %v; want %q", c.maj, c.min, got, err, c.want)
		}
	}
}

func TestModulesFromDir(t *testing.T) {
	dir := t.TempDir()
	ptx := ".version 7.8\n.target sm_70\n.visible .entry alpha(\n.param .u32 n\n)\n{ ret; }\n.visible .entry beta(\n)\n{ ret; }\n"
	if err := os.WriteFile(filepath.Join(dir, "m.ptx"), []byte(ptx), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(PTXDirEnv, dir)
	mods, err := Modules(SM80) // the folder wins over the set
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) != 1 || mods[0].Name != "m" || !slices.Equal(mods[0].Entries, []string{"alpha", "beta"}) || mods[0].Target != "sm_70" {
		t.Fatalf("got %+v", mods)
	}
	t.Setenv(PTXDirEnv, t.TempDir())
	if _, err := Modules(SM80); err == nil || !strings.Contains(err.Error(), "no PTX files") {
		t.Fatalf("empty folder: got %v", err)
	}
}
