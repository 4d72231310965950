// Package crashpoint lets the crash tests kill a gaze process at a named phase of its work, so
// that "killed while writing the report" or "killed right after a checkpoint" are cases a test
// can reproduce exactly, rather than hope to hit with a timer.
//
// Set GAZE_CRASH_AT=PHASE or PHASE:N (the N-th time the process reaches PHASE, from 1) and the
// process sends itself SIGKILL there: no deferred function runs, no buffer is flushed, exactly
// as when the machine or the scheduler kills it. Without the variable Hit costs one load.
package crashpoint

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// Env is the environment variable that arms a crash point.
const Env = "GAZE_CRASH_AT"

var (
	once  sync.Once
	phase string
	at    int64 = 1
	armed atomic.Bool
	count atomic.Int64
)

func arm() {
	v := os.Getenv(Env)
	if v == "" {
		return
	}
	p, n, ok := strings.Cut(v, ":")
	if ok {
		k, err := strconv.ParseInt(n, 10, 64)
		if err != nil || k < 1 {
			return
		}
		at = k
	}
	phase = p
	armed.Store(true)
}

// Hit marks that the process reached phase; the armed phase's N-th hit kills the process.
func Hit(name string) {
	once.Do(arm)
	if !armed.Load() || name != phase {
		return
	}
	if count.Add(1) == at {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
