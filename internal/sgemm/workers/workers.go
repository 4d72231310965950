// Package workers is the process-wide pool of goroutines that gaze's CPU kernels (the cpu device
// and internal/sgemm) fan out to.
//
// Run(n, t) calls t.Part(i) once for every i in [0, n): the calling goroutine and up to
// GOMAXPROCS-1 pooled workers take part indices from a shared counter, so a core that is busy
// with something else simply takes fewer parts. Nothing is allocated per call: a Task is
// normally a pointer to a long-lived struct (a kernel's argument block kept in its device), and
// the pool's own state is static.
//
// Which goroutine runs a part is up to the scheduler; callers that need deterministic results
// make every part write its own memory (or reduce per-part results in a fixed order).
//
// One Run uses the workers at a time. A Run that starts while another is in progress (a second
// device used from another goroutine, or a Task that itself calls Run) runs all its parts on its
// own goroutine: correct, and with all cores already busy no slower. Workers are started lazily,
// at most GOMAXPROCS-1 of them (the largest GOMAXPROCS seen), and live for the whole process;
// between jobs they spin for a few microseconds, so that the back-to-back parallel sections of a
// training step do not each pay a wake-up, and then sleep.
package workers

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Task is work split into independent parts.
type Task interface {
	// Part runs part i. Parts may run concurrently and in any order.
	Part(i int)
}

// spin is how long an idle worker keeps polling for the next job before it sleeps, and how long
// Run polls for the last parts of other workers before it blocks.
const spin = 50 * time.Microsecond

// maxParts bounds n in a parallel Run: the part count and index share one atomic word.
const maxParts = 1<<16 - 1

var (
	mu       sync.Mutex   // held by the Run that owns cur
	cur      job          // the current job; reused, so Run allocates nothing
	started  atomic.Int32 // workers started so far
	sleeping atomic.Int32 // workers blocked on wake, not yet handed a token
	wake     = make(chan struct{}, 1024)
	startMu  sync.Mutex
)

// job is the state of one Run. state packs a generation (high 32 bits), the part count n
// (16 bits) and the next part index (low 16 bits) into one word, so that claiming a part is a
// single compare-and-swap on a snapshot that cannot be confused with another job's: a worker
// that claims part i of generation g made that CAS while the job of g still had part i to give
// out, so the Run of g is still waiting (for part i at least) and its task is still in place.
type job struct {
	state atomic.Uint64
	task  Task
	wg    sync.WaitGroup
	left  atomic.Int64 // parts not finished

	pmu   sync.Mutex
	panic any // the first panic of a part, re-raised by Run on its own goroutine
}

func unpack(v uint64) (n, i uint64) { return v >> 16 & maxParts, v & maxParts }

// pending reports whether the current job has parts left to claim.
func (j *job) pending() bool {
	n, i := unpack(j.state.Load())
	return i < n
}

// work claims and runs parts of the current job until none are left to claim.
func (j *job) work() {
	for {
		v := j.state.Load()
		if n, i := unpack(v); i >= n {
			return
		}
		if j.state.CompareAndSwap(v, v+1) {
			j.part(j.task, int(v&maxParts))
		}
	}
}

// part runs one part, recording a panic instead of letting it kill a worker.
func (j *job) part(t Task, i int) {
	defer func() {
		if r := recover(); r != nil {
			j.pmu.Lock()
			if j.panic == nil {
				j.panic = r
			}
			j.pmu.Unlock()
		}
		j.left.Add(-1)
		j.wg.Done()
	}()
	t.Part(i)
}

// Run calls t.Part(i) for every i in [0, n) and returns when all calls have returned.
func Run(n int, t Task) {
	if n <= 0 {
		return
	}
	helpers := min(n, runtime.GOMAXPROCS(0)) - 1
	if helpers <= 0 || n > maxParts || !mu.TryLock() {
		for i := 0; i < n; i++ {
			t.Part(i)
		}
		return
	}
	defer mu.Unlock()
	if int(started.Load()) < helpers {
		start(helpers)
	}
	j := &cur
	// Publish: task and counters first, then the state word with a new generation (release).
	j.task = t
	j.left.Store(int64(n))
	j.wg.Add(n)
	gen := j.state.Load()>>32 + 1
	j.state.Store(gen<<32 | uint64(n)<<16)
	for w := helpers; w > 0; w-- {
		s := sleeping.Load()
		if s == 0 {
			break
		}
		if sleeping.CompareAndSwap(s, s-1) {
			wake <- struct{}{}
		}
	}
	j.work()
	if j.left.Load() > 0 {
		// The other parts are running on other cores; they usually end within microseconds.
		deadline := time.Now().Add(spin)
		for k := 0; j.left.Load() > 0; k++ {
			if k&63 == 63 && time.Now().After(deadline) {
				break
			}
		}
	}
	j.wg.Wait()
	j.task = nil
	if p := j.panic; p != nil {
		// A part panicked (a kernel found a bad input): raise it here, as a serial run would.
		j.panic = nil
		panic(p)
	}
}

// start brings the number of workers up to k.
func start(k int) {
	startMu.Lock()
	defer startMu.Unlock()
	for int(started.Load()) < k {
		started.Add(1)
		go worker()
	}
}

func worker() {
	for {
		cur.work()
		// Spin for the next job, then sleep until a Run hands out a token.
		deadline := time.Now().Add(spin)
		for k := 0; !cur.pending(); k++ {
			if k&63 == 63 && time.Now().After(deadline) {
				sleep()
				break
			}
		}
	}
}

// sleep blocks until a Run wakes this worker, unless a job arrived meanwhile.
func sleep() {
	sleeping.Add(1)
	if cur.pending() {
		// A job arrived after all: withdraw, unless a Run already counted on this worker and
		// sent (or is sending) a token, which must then be consumed.
		for {
			s := sleeping.Load()
			if s == 0 {
				<-wake
				return
			}
			if sleeping.CompareAndSwap(s, s-1) {
				return
			}
		}
	}
	<-wake
}
