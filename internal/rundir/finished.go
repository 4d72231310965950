package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// FinishedFile marks a finished run: written atomically after the run's last file, it holds the
// run's identity and the size and checksum of each of its files. A resumed finished run is left
// as it is (FinishedError), and readers of the folder (reports, merges) check the files against
// it, so a file changed or taken from another run is named instead of read.
const FinishedFile = "finished.json"

// FileState is one file of a finished run.
type FileState struct {
	File  string `json:"file"`
	Bytes int64  `json:"bytes"`
	CRC   uint32 `json:"crc32"` // CRC-32 (IEEE) of the whole file
}

// Finished is what finished.json holds.
type Finished struct {
	Identity   string      `json:"identity,omitempty"`
	Iterations int         `json:"iterations,omitempty"`
	Files      []FileState `json:"files"`
}

// ErrFinished is what a *FinishedError matches with errors.Is.
var ErrFinished = errors.New("the run is finished")

// FinishedError is the answer to resuming a finished run: nothing is left to do, and nothing
// was changed.
type FinishedError struct {
	Dir      string
	Finished *Finished
}

func (e *FinishedError) Error() string {
	s := fmt.Sprintf("%s holds a finished run", e.Dir)
	if e.Finished != nil && e.Finished.Iterations > 0 {
		s += fmt.Sprintf(" (%d iterations)", e.Finished.Iterations)
	}
	return s + "; nothing to resume, nothing was changed"
}

func (e *FinishedError) Is(target error) bool { return target == ErrFinished }

// WriteFinished records dir's run as finished: the given files (names in dir; those missing
// are left out) with their sizes and checksums.
func WriteFinished(dir string, f Finished, files ...string) error {
	return WriteFinishedFrom(dir, f, func(name string) string { return filepath.Join(dir, name) }, files...)
}

// WriteFinishedFrom is WriteFinished with each file's content read from at(name): for a
// command that records the state its files will have once it renames them into place, and
// makes that record its commit point.
func WriteFinishedFrom(dir string, f Finished, at func(name string) string, files ...string) error {
	f.Files = nil
	for _, name := range files {
		st, err := fileState(at(name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		st.File = name
		f.Files = append(f.Files, st)
	}
	return WriteJSON(filepath.Join(dir, FinishedFile), f)
}

// ReadFinished reads dir's finished.json; ok is false when the run is not finished.
func ReadFinished(dir string) (f *Finished, ok bool, err error) {
	path := filepath.Join(dir, FinishedFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	f = new(Finished)
	if err := json.Unmarshal(b, f); err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return f, true, nil
}

// Verify checks that every file finished.json lists still has its size and checksum.
func (f *Finished) Verify(dir string) error {
	for _, want := range f.Files {
		path := filepath.Join(dir, want.File)
		got, err := fileState(path)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s is missing: the finished run recorded it (%d bytes) in %s", path, want.Bytes, FinishedFile)
		}
		if err != nil {
			return err
		}
		if got.Bytes != want.Bytes || got.CRC != want.CRC {
			return fmt.Errorf("%s is not the file the run finished with: %d bytes, CRC-32 %08x; %s recorded %d bytes, CRC-32 %08x (it was changed, truncated or taken from another run)",
				path, got.Bytes, got.CRC, FinishedFile, want.Bytes, want.CRC)
		}
	}
	return nil
}

// Unfinish removes dir's finished.json: the run is continued (more epochs).
func Unfinish(dir string) error {
	err := os.Remove(filepath.Join(dir, FinishedFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func fileState(path string) (FileState, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileState{}, err
	}
	defer f.Close()
	h := crc32.NewIEEE()
	n, err := io.Copy(h, f)
	if err != nil {
		return FileState{}, fmt.Errorf("%s: %w", path, err)
	}
	return FileState{File: filepath.Base(path), Bytes: n, CRC: h.Sum32()}, nil
}
