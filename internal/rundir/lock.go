package rundir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the lock of a run folder: one writer per run. It is an advisory lock (flock), so
// the kernel releases it when its holder dies, even by SIGKILL; the file holds the holder's
// PID and host for the message a second writer gets, and is removed when the lock is released.
const LockFile = ".gaze.lock"

// ErrLocked is what a *LockedError matches with errors.Is.
var ErrLocked = errors.New("the run folder is in use by another process")

// LockedError is the refusal to open a run folder (or a sweep point) that another process holds.
type LockedError struct {
	What   string // the run folder or point, as the message names it
	Path   string // the lock file
	Holder string // "process 1234 on host h", or what could be read of it
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%s is in use by %s (lock %s): wait for it to finish or stop it; only one process may write a run", e.What, e.Holder, e.Path)
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Lock is a held advisory lock on a file.
type Lock struct {
	f    *os.File
	path string
}

// AcquireLock takes the lock at path without waiting, creating the file; what names the locked
// thing in the error a second process gets (a *LockedError naming the holder).
func AcquireLock(path, what string) (*Lock, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			holder := readHolder(f)
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, &LockedError{What: what, Path: path, Holder: holder}
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		// The holder before us may have removed the file between our open and our flock: then we
		// hold a lock on a file nobody else sees, and must take the one now at path.
		st1, err1 := f.Stat()
		st2, err2 := os.Stat(path)
		if err1 != nil || err2 != nil || !os.SameFile(st1, st2) {
			f.Close()
			continue
		}
		host, _ := os.Hostname()
		if err := f.Truncate(0); err == nil {
			f.WriteAt([]byte(strconv.Itoa(os.Getpid())+" "+host+"\n"), 0)
		}
		return &Lock{f: f, path: path}, nil
	}
}

func readHolder(f *os.File) string {
	b := make([]byte, 256)
	n, _ := f.ReadAt(b, 0)
	fields := strings.Fields(string(b[:n]))
	switch {
	case len(fields) >= 2:
		return fmt.Sprintf("process %s on host %s", fields[0], fields[1])
	case len(fields) == 1:
		return "process " + fields[0]
	}
	return "another process"
}

// Release removes the lock file and releases the lock. Removing it while still holding the
// lock is what makes the removal safe (see AcquireLock).
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := os.Remove(l.path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	err = errors.Join(err, l.f.Close()) // closing the last descriptor releases the flock
	l.f = nil
	return err
}

// lockDir takes dir's run lock.
func lockDir(dir string) (*Lock, error) {
	return AcquireLock(filepath.Join(dir, LockFile), dir)
}
