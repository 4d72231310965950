// Package rundir is the life cycle of a run folder, the same in every long-running command
// (gaze train, gaze lca train, gaze coordconv run and sweep, gaze intdim sweep and point):
//
//   - a new run refuses a folder that already holds one, naming the file that shows it;
//   - --resume continues only the run the flags describe: the saved configuration is compared
//     with the flags field by field, and every differing field is printed with both values,
//     except the fields the command lets change (more epochs, another data folder or device);
//   - the configuration, checkpoints and results are written atomically (WriteFileAtomic);
//   - one process at a time writes a run: an open Run holds the folder's lock (LockFile);
//   - the files a run appends to (its streams) are committed with every checkpoint and
//     verified when it resumes (Streams);
//   - a finished run is marked (FinishedFile) with its identity and its files' checksums.
//
// A Run is the handle of an open run folder; Close releases what it holds. Nothing under
// internal/ imports engine: the engine's checkpoints use this package, not the reverse.
package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Layout describes a command's run folder.
type Layout struct {
	// Config is the configuration file's name (default config.json).
	Config string
	// Noun names what the folder holds in messages (default "run"; intdim's is "sweep").
	Noun string
	// Markers are further files, as glob patterns relative to the folder, whose presence shows
	// that the folder holds a run even without its configuration file (a checkpoint, a log).
	Markers []string
	// Checkpoint, when set, is the checkpoint file a resumed run continues from. Commands with
	// several checkpoints (one per seed) leave it empty and name theirs with Path.
	Checkpoint string
	// Mutable lists the configuration fields, as dotted JSON paths ("epochs", "data.dir"), that
	// may differ between the saved configuration and the flags of a resumed run.
	Mutable []string
	// Derived lists the fields the command fills in after the comparison (a model's input shape
	// and parameter count): never compared, and not offered as changeable in messages.
	Derived []string
	// Legacy, when set, returns the saved configuration (JSON) of a folder written before the
	// configuration file existed, or an error when it cannot tell.
	Legacy func(dir string) ([]byte, error)
}

func (l Layout) config() string {
	if l.Config == "" {
		return "config.json"
	}
	return l.Config
}

func (l Layout) noun() string {
	if l.Noun == "" {
		return "run"
	}
	return l.Noun
}

// Holds reports whether dir holds a run, and the first file that shows it.
func (l Layout) Holds(dir string) (file string, ok bool) {
	if _, err := os.Stat(filepath.Join(dir, l.config())); err == nil {
		return l.config(), true
	}
	for _, m := range l.Markers {
		if found, _ := filepath.Glob(filepath.Join(dir, m)); len(found) > 0 {
			return filepath.Base(found[0]), true
		}
	}
	return "", false
}

// Run is an open run folder.
type Run struct {
	Dir     string
	Layout  Layout
	Resumed bool // the folder held this run already (Resume, or Continue of an existing one)
	// Streams registers the files the run appends to, so that its checkpoints commit them.
	Streams *Streams
	lock    *Lock
}

// Open is Create, or Resume when resume is set: what a command's --resume flag chooses. A
// resumed run also removes the temporary files a killed writer of the folder left behind
// (removeTemporaries): Open's runs (training, CoordConv) hold the lock for their whole life, so
// no other writer of the folder can be mid-write. Sweeps, which several processes share
// (Continue), keep theirs.
func Open(dir string, resume bool, l Layout, cfg any) (*Run, error) {
	if !resume {
		return Create(dir, l)
	}
	r, err := Resume(dir, l, cfg)
	if err != nil {
		return nil, err
	}
	if err := removeTemporaries(dir); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// temporary matches the names WriteFileAtomic (".NAME.tmpDIGITS") and WriteNew (".newDIGITS")
// give their temporary files.
var temporary = regexp.MustCompile(`^\.(.+\.tmp|new)[0-9]+$`)

// removeTemporaries removes the temporary files of WriteFileAtomic and WriteNew at the top of
// dir: what a process killed between creating one and renaming or removing it leaves. The
// files a run writes under its lock are at the top of its folder; subfolders (reports) may
// have writers of their own and are left alone.
func removeTemporaries(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && temporary.MatchString(e.Name()) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("removing a killed writer's temporary file: %w", err)
			}
		}
	}
	return nil
}

// Create prepares dir for a new run: it creates the folder, proves it writable, takes its lock,
// and refuses it when it already holds a run. Call it only once the configuration is known to
// be valid: the folder is the first thing a run creates. The configuration is written later
// (WriteConfig), so a failed start leaves no configuration behind that would block the
// corrected command.
func Create(dir string, l Layout) (*Run, error) {
	if file, ok := l.Holds(dir); ok {
		return nil, alreadyHolds(dir, l, file)
	}
	if err := ensureWritable(dir); err != nil {
		return nil, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	// Another process may have started a run here between the check and the lock.
	if file, ok := l.Holds(dir); ok {
		lock.Release()
		return nil, alreadyHolds(dir, l, file)
	}
	return &Run{Dir: dir, Layout: l, Streams: NewStreams(dir), lock: lock}, nil
}

func alreadyHolds(dir string, l Layout, file string) error {
	return fmt.Errorf("%s already holds a %s (%s); continue it with --resume or choose another --out", dir, l.noun(), file)
}

// Resume opens the run in dir for cfg: the folder must hold a run, no other process may hold
// it, and its saved configuration must match cfg in every field but the layout's mutable ones
// (a *MismatchError lists the differences). Whether there is a checkpoint to continue from
// (HasCheckpoint) is the command's to judge: a run killed before its first checkpoint starts
// again from its beginning.
func Resume(dir string, l Layout, cfg any) (_ *Run, err error) {
	file, ok := l.Holds(dir)
	if !ok {
		return nil, fmt.Errorf("%s holds no %s to resume", dir, l.noun())
	}
	if err := ensureWritable(dir); err != nil {
		return nil, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Release()
		}
	}()
	saved, err := os.ReadFile(filepath.Join(dir, l.config()))
	switch {
	case errors.Is(err, fs.ErrNotExist) && l.Legacy != nil:
		if saved, err = l.Legacy(dir); err != nil {
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s holds a %s (%s) but no %s: cannot tell which %s it is", dir, l.noun(), file, l.config(), l.noun())
	case err != nil:
		return nil, err
	}
	if !json.Valid(saved) {
		return nil, fmt.Errorf("%s: not a JSON configuration", filepath.Join(dir, l.config()))
	}
	diffs, err := Diff(json.RawMessage(saved), cfg, append(append([]string{IdentityField}, l.Mutable...), l.Derived...))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, l.config()), err)
	}
	if len(diffs) > 0 {
		return nil, &MismatchError{Dir: dir, Layout: l, Diffs: diffs}
	}
	return &Run{Dir: dir, Layout: l, Resumed: true, Streams: NewStreams(dir), lock: lock}, nil
}

// Continue resumes the run in dir when it holds one and creates it otherwise: for sweeps,
// which are run again with the same command (and more points) until they are complete.
func Continue(dir string, l Layout, cfg any) (*Run, error) {
	if _, ok := l.Holds(dir); ok {
		return Resume(dir, l, cfg)
	}
	return Create(dir, l)
}

// ReadConfig reads the configuration of the run in dir into v, without comparing it with
// anything: for commands that work on a finished or running run (reports, cluster jobs). The
// error wraps fs.ErrNotExist when dir holds no configuration.
func ReadConfig(dir string, l Layout, v any) error {
	path := filepath.Join(dir, l.config())
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s holds no %s (no %s): %w", dir, l.noun(), l.config(), fs.ErrNotExist)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Path is the path of a file of the run.
func (r *Run) Path(name string) string { return filepath.Join(r.Dir, name) }

// Checkpoint is the path of the run's checkpoint (the layout's), or "" when it names none.
func (r *Run) Checkpoint() string {
	if r.Layout.Checkpoint == "" {
		return ""
	}
	return r.Path(r.Layout.Checkpoint)
}

// HasCheckpoint tells whether the run's checkpoint exists.
func (r *Run) HasCheckpoint() bool {
	if r.Layout.Checkpoint == "" {
		return false
	}
	_, err := os.Stat(r.Checkpoint())
	return err == nil
}

// WriteConfig writes the configuration file (indented JSON) atomically.
func (r *Run) WriteConfig(cfg any) error {
	return WriteJSON(r.Path(r.Layout.config()), cfg)
}

// SavedIdentity is the identity field of the run's saved configuration ("" when it has none:
// a new run, or a folder written before runs had identities).
func (r *Run) SavedIdentity() string {
	b, err := os.ReadFile(r.Path(r.Layout.config()))
	if err != nil {
		return ""
	}
	var v map[string]json.RawMessage
	if json.Unmarshal(b, &v) != nil {
		return ""
	}
	var id string
	json.Unmarshal(v[IdentityField], &id)
	return id
}

// Close releases the run folder: its lock.
func (r *Run) Close() error {
	if r == nil {
		return nil
	}
	err := r.lock.Release()
	r.lock = nil
	return err
}

// ErrMismatch is what a *MismatchError matches with errors.Is.
var ErrMismatch = errors.New("the folder holds another run than the flags describe")

// MismatchError is the refusal to resume a run whose saved configuration differs from the flags.
type MismatchError struct {
	Dir    string
	Layout Layout
	Diffs  []Difference
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s holds another %s: its %s differs from the flags in", e.Dir, e.Layout.noun(), e.Layout.config())
	for _, d := range e.Diffs {
		b.WriteString("\n  " + d.String())
	}
	if len(e.Layout.Mutable) > 0 {
		fmt.Fprintf(&b, "\n(only %s may change when a %s is continued)", strings.Join(e.Layout.Mutable, ", "), e.Layout.noun())
	} else {
		fmt.Fprintf(&b, "\n(continue it with the same flags, or choose another --out)")
	}
	return b.String()
}

func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// ensureWritable creates dir and proves it can hold files.
func ensureWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output folder %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".probe*")
	if err != nil {
		return fmt.Errorf("output folder %s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
