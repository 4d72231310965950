package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// WriteFileAtomic replaces a file whole and leaves it readable by others (mode 0644), as
// os.WriteFile would, rather than CreateTemp's 0600.
func TestWriteFileAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "result.json")
	for _, data := range []string{"first", "second, longer", "3"} {
		if err := WriteFileAtomic(path, []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Errorf("read %q, %v; want %q", got, err, data)
		}
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", st.Mode().Perm(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if err := WriteFileAtomic(filepath.Join(t.TempDir(), "no", "such", "dir"), nil); err == nil || !strings.Contains(err.Error(), "cannot write in") {
		t.Errorf("writing into a missing folder: %v", err)
	}
}

// WriteNew never replaces a file: the second writer gets fs.ErrExist and the first's bytes stay.
func TestWriteNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "point.json")
	if err := WriteNew(path, []byte("first")); err != nil {
		t.Fatal(err)
	}
	err := WriteNew(path, []byte("second"))
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "never overwritten") {
		t.Errorf("second write: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Errorf("file holds %q after a refused write", b)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", st.Mode().Perm(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

type opt struct {
	Kind       string  `json:"kind"`
	LR         float64 `json:"lr"`
	Momentum   float64 `json:"momentum,omitempty"`
	Milestones []int   `json:"milestones,omitempty"`
}

type data struct {
	Name string `json:"name"`
	Dir  string `json:"dir,omitempty"`
}

type cfg struct {
	Model  string `json:"model"`
	Data   data   `json:"data"`
	Opt    opt    `json:"optimizer"`
	Epochs int    `json:"epochs"`
	Seeds  []int  `json:"seeds"`
	D      int    `json:"parameters,omitempty"`
}

func base() cfg {
	return cfg{Model: "mnist-fc", Data: data{Name: "mnist", Dir: "data"}, Opt: opt{Kind: "sgd", LR: 0.01, Momentum: 0.9}, Epochs: 3, Seeds: []int{0, 1}}
}

func TestDiff(t *testing.T) {
	show := func(ds []Difference) string {
		var s []string
		for _, d := range ds {
			s = append(s, d.String())
		}
		return strings.Join(s, "; ")
	}
	cases := []struct {
		name    string
		saved   any
		flags   func(*cfg)
		mutable []string
		want    string
	}{
		{"same", base(), func(*cfg) {}, nil, ""},
		{"nested field", base(), func(c *cfg) { c.Opt.LR = 0.02 }, nil, "optimizer.lr: saved 0.01, flags 0.02"},
		{"every field, sorted", base(), func(c *cfg) { c.Opt.LR, c.Model, c.Epochs = 0.02, "lenet5", 4 },
			nil, `epochs: saved 3, flags 4; model: saved "mnist-fc", flags "lenet5"; optimizer.lr: saved 0.01, flags 0.02`},
		{"mutable fields and subtrees", base(), func(c *cfg) { c.Epochs, c.Data.Dir, c.D = 9, "/elsewhere", 5 },
			[]string{"epochs", "data.dir", "parameters"}, ""},
		{"a mutable prefix is a path, not a string prefix", base(), func(c *cfg) { c.Opt.LR = 1 },
			[]string{"optimizer.l"}, "optimizer.lr: saved 0.01, flags 1"},
		{"omitted equals zero", base(), func(c *cfg) { c.Opt.Momentum = 0 }, nil, "optimizer.momentum: saved 0.9, flags (not set)"},
		{"lists compare whole", base(), func(c *cfg) { c.Seeds = []int{0, 2} }, nil, "seeds: saved [0,1], flags [0,2]"},
		{"a nil list is an empty one", json.RawMessage(`{"model":"mnist-fc","data":{"name":"mnist","dir":"data"},"optimizer":{"kind":"sgd","lr":0.01,"momentum":0.9,"milestones":[]},"epochs":3,"seeds":[0,1]}`),
			func(*cfg) {}, nil, ""},
		{"numbers by value", json.RawMessage(`{"model":"mnist-fc","data":{"name":"mnist","dir":"data"},"optimizer":{"kind":"sgd","lr":1.0e-2,"momentum":0.90},"epochs":3.0,"seeds":[0,1]}`),
			func(*cfg) {}, nil, ""},
		{"a field an older file lacks is its zero value", json.RawMessage(`{"model":"mnist-fc","data":{"name":"mnist","dir":"data"},"optimizer":{"kind":"sgd","lr":0.01,"momentum":0.9},"epochs":3,"seeds":[0,1]}`),
			func(c *cfg) { c.D = 0 }, nil, ""},
		{"a saved field the flags do not know", json.RawMessage(`{"model":"mnist-fc","data":{"name":"mnist","dir":"data"},"optimizer":{"kind":"sgd","lr":0.01,"momentum":0.9},"epochs":3,"seeds":[0,1],"lca":{"examples":100}}`),
			func(*cfg) {}, nil, `lca: saved {"examples":100}, flags (not set)`},
		{"large integers exactly", json.RawMessage(`{"model":"mnist-fc","data":{"name":"mnist","dir":"data"},"optimizer":{"kind":"sgd","lr":0.01,"momentum":0.9},"epochs":3,"seeds":[0,18446744073709551615]}`),
			func(c *cfg) { c.Seeds = []int{0, 1} }, nil, "seeds: saved [0,18446744073709551615], flags [0,1]"},
	}
	for _, c := range cases {
		f := base()
		c.flags(&f)
		ds, err := Diff(c.saved, f, c.mutable)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := show(ds); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
	// Big integers that float64 cannot tell apart are still different.
	ds, err := Diff(json.RawMessage(`{"seed":9007199254740993}`), json.RawMessage(`{"seed":9007199254740992}`), nil)
	if err != nil || len(ds) != 1 {
		t.Errorf("2^53+1 against 2^53: %v %v", ds, err)
	}
	if _, err := Diff(json.RawMessage(`{"x":`), base(), nil); err == nil {
		t.Error("a truncated saved configuration compared without error")
	}
}

var layout = Layout{Markers: []string{"checkpoint.ckpt", "seed*.ckpt"}, Checkpoint: "checkpoint.ckpt",
	Mutable: []string{"epochs", "data.dir"}, Derived: []string{"parameters"}}

func TestCreateRefusesARun(t *testing.T) {
	fresh := filepath.Join(t.TempDir(), "a", "b")
	r, err := Create(fresh, layout)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(fresh); err != nil || !st.IsDir() {
		t.Fatalf("Create made no folder: %v", err)
	}
	if left, _ := os.ReadDir(fresh); len(left) != 1 || left[0].Name() != LockFile {
		t.Errorf("an open new run holds files %v, want its lock only", left)
	}
	// A folder is refused for each file that shows a run, and the message names it.
	for _, f := range []string{"config.json", "checkpoint.ckpt", "seed3.ckpt"} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, f), []byte("{}"), 0o644)
		_, err := Create(dir, layout)
		if err == nil || !strings.Contains(err.Error(), "already holds a run ("+f+")") || !strings.Contains(err.Error(), "--resume") {
			t.Errorf("%s: %v", f, err)
		}
	}
	// Other files do not make a run.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), nil, 0o644)
	if _, err := Create(other, layout); err != nil {
		t.Errorf("a folder with unrelated files: %v", err)
	}
	// A path through a file, and (not as root) a read-only parent.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := Create(filepath.Join(file, "run"), layout); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("a folder under a file: %v", err)
	}
	if runtime.GOOS != "windows" && os.Getuid() != 0 {
		ro := t.TempDir()
		os.Chmod(ro, 0o500)
		if _, err := Create(filepath.Join(ro, "x"), layout); err == nil || !strings.Contains(err.Error(), "output folder") {
			t.Errorf("a read-only parent: %v", err)
		}
	}
	if err := r.WriteConfig(base()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(fresh, "config.json"))
	if !strings.HasPrefix(string(b), "{\n  \"model\": \"mnist-fc\",") || !strings.HasSuffix(string(b), "}\n") {
		t.Errorf("config.json:\n%s", b)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(fresh); len(left) != 1 || left[0].Name() != "config.json" {
		t.Errorf("a closed run left %v, want its config.json only", left)
	}
}

func TestResume(t *testing.T) {
	dir := t.TempDir()
	r, err := Create(dir, layout)
	if err != nil {
		t.Fatal(err)
	}
	saved := base()
	saved.D = 1234
	if err := r.WriteConfig(saved); err != nil {
		t.Fatal(err)
	}
	flags := base()
	// The new run still holds the folder: nobody else may resume it.
	if _, err := Resume(dir, layout, flags); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) {
		t.Errorf("resuming a run another writer holds: %v", err)
	}
	r.Close()
	// Without a checkpoint the run is resumed, and the command sees that it has none.
	if r, err = Resume(dir, layout, flags); err != nil || r.HasCheckpoint() {
		t.Errorf("no checkpoint yet: %+v, %v", r, err)
	}
	r.Close()
	os.WriteFile(filepath.Join(dir, "checkpoint.ckpt"), []byte("x"), 0o644)
	flags.Epochs, flags.Data.Dir = 10, "/mnt/data" // may change
	r, err = Resume(dir, layout, flags)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Resumed || !r.HasCheckpoint() || r.Checkpoint() != filepath.Join(dir, "checkpoint.ckpt") {
		t.Errorf("resumed run %+v, checkpoint %q", r, r.Checkpoint())
	}
	r.Close()
	flags.Opt.LR, flags.Model = 0.5, "lenet5"
	_, err = Resume(dir, layout, flags)
	var me *MismatchError
	if !errors.As(err, &me) || !errors.Is(err, ErrMismatch) || len(me.Diffs) != 2 {
		t.Fatalf("another learning rate and model: %v", err)
	}
	for _, want := range []string{"holds another run", `model: saved "mnist-fc", flags "lenet5"`, "optimizer.lr: saved 0.01, flags 0.5", "only epochs, data.dir may change"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("mismatch message lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "parameters") {
		t.Errorf("the message offers a derived field:\n%v", err)
	}
	if _, err := Resume(filepath.Join(t.TempDir(), "none"), layout, flags); err == nil || !strings.Contains(err.Error(), "holds no run to resume") {
		t.Errorf("resuming nothing: %v", err)
	}
	if _, err := os.Stat(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("resuming a missing folder created it")
	}
	// Checkpoints without a configuration file: a layout with Legacy reads the older record.
	old := t.TempDir()
	os.WriteFile(filepath.Join(old, "seed1.ckpt"), []byte("x"), 0o644)
	l := Layout{Noun: "sweep", Markers: []string{"seed*.ckpt"}}
	if _, err := Resume(old, l, base()); err == nil || !strings.Contains(err.Error(), "holds a sweep (seed1.ckpt) but no config.json") {
		t.Errorf("checkpoints without config.json: %v", err)
	}
	l.Legacy = func(string) ([]byte, error) { return []byte(`{"model":"lenet5"}`), nil }
	if _, err := Resume(old, l, base()); err == nil || !strings.Contains(err.Error(), `holds another sweep`) || !strings.Contains(err.Error(), `model: saved "lenet5"`) {
		t.Errorf("legacy configuration: %v", err)
	}
	os.WriteFile(filepath.Join(old, "config.json"), []byte(`{"model":`), 0o644)
	if _, err := Resume(old, l, base()); err == nil || !strings.Contains(err.Error(), "not a JSON configuration") {
		t.Errorf("a torn config.json: %v", err)
	}
}

func TestContinueAndReadConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sweep")
	l := Layout{Config: "sweep.json", Noun: "sweep", Mutable: []string{"seeds"}}
	var got cfg
	if err := ReadConfig(dir, l, &got); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "holds no sweep (no sweep.json)") {
		t.Errorf("ReadConfig of nothing: %v", err)
	}
	r, err := Continue(dir, l, base())
	if err != nil || r.Resumed {
		t.Fatalf("a new sweep: %+v %v", r, err)
	}
	if err := r.WriteConfig(base()); err != nil {
		t.Fatal(err)
	}
	r.Close()
	grown := base()
	grown.Seeds = []int{0, 1, 2}
	if r, err = Continue(dir, l, grown); err != nil || !r.Resumed {
		t.Fatalf("more seeds: %+v %v", r, err)
	}
	r.Close()
	other := base()
	other.Opt.Kind = "adam"
	if _, err := Continue(dir, l, other); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "only seeds may change when a sweep is continued") {
		t.Errorf("another optimizer: %v", err)
	}
	if err := ReadConfig(dir, l, &got); err != nil || got.Opt.LR != 0.01 || len(got.Seeds) != 2 {
		t.Errorf("ReadConfig: %+v %v", got, err)
	}
}

// A resumed run removes the temporary files a killed writer left at the top of its folder, and
// nothing else.
func TestOpenRemovesTemporaries(t *testing.T) {
	dir := t.TempDir()
	r, err := Create(dir, layout)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteConfig(base()); err != nil {
		t.Fatal(err)
	}
	r.Close()
	// The names WriteFileAtomic and WriteNew draw, as CreateTemp makes them.
	var gone []string
	for _, pattern := range []string{".lca_total.npy.tmp*", ".new*"} {
		f, err := os.CreateTemp(dir, pattern)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		gone = append(gone, filepath.Base(f.Name()))
	}
	gone = append(gone, ".losses.csv.tmp1053480027")
	kept := []string{".hidden", "keep.tmp1", ".x.tmpabc", ".new", "config.json", filepath.Join("report", ".report.html.tmp7")}
	os.Mkdir(filepath.Join(dir, "report"), 0o755)
	for _, f := range append(append([]string(nil), gone...), kept[:5]...) {
		if f != "config.json" {
			os.WriteFile(filepath.Join(dir, f), nil, 0o644)
		}
	}
	os.WriteFile(filepath.Join(dir, kept[5]), nil, 0o644)
	r, err = Open(dir, true, layout, base())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, f := range gone {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still there (%v)", f, err)
		}
	}
	for _, f := range kept {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s was removed: %v", f, err)
		}
	}
}
