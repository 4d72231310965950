package workers

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// countTask counts how often each part ran.
type countTask struct {
	hits  []atomic.Int32
	sub   int // when > 0, each part runs a nested Run of sub parts
	inner *countTask
}

func (c *countTask) Part(i int) {
	c.hits[i].Add(1)
	if c.sub > 0 {
		Run(c.sub, c.inner)
	}
}

func newCount(n int) *countTask { return &countTask{hits: make([]atomic.Int32, n)} }

func (c *countTask) check(t *testing.T, times int32) {
	t.Helper()
	for i := range c.hits {
		if got := c.hits[i].Load(); got != times {
			t.Fatalf("part %d ran %d times, want %d", i, got, times)
		}
	}
}

func TestRunEveryPartOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 4} {
		runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 2, 3, 7, 100} {
			c := newCount(n)
			for r := 0; r < 200; r++ {
				Run(n, c)
			}
			c.check(t, 200)
		}
	}
}

// Runs from several goroutines at once (several devices), and Runs nested in parts.
func TestRunConcurrentAndNested(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(4)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newCount(5)
			c.sub, c.inner = 3, newCount(3)
			for r := 0; r < 300; r++ {
				Run(5, c)
			}
			c.check(t, 300)
			c.inner.check(t, 1500)
		}()
	}
	wg.Wait()
}

type panicTask struct{ at int }

func (p *panicTask) Part(i int) {
	if i == p.at {
		panic("boom")
	}
}

// A panicking part surfaces on the caller, whichever goroutine ran it, and leaves the pool usable.
func TestRunPanic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(2)
	for at := 0; at < 8; at++ {
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Fatalf("part %d: recovered %v, want boom", at, r)
				}
			}()
			Run(8, &panicTask{at: at})
		}()
	}
	c := newCount(8)
	Run(8, c)
	c.check(t, 1)
}

func TestRunDoesNotAllocate(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(2)
	c := newCount(16)
	Run(16, c)
	if a := testing.AllocsPerRun(100, func() { Run(16, c) }); a != 0 {
		t.Fatalf("Run allocates %v times per call", a)
	}
}

type nop struct{}

func (nop) Part(int) {}

// BenchmarkRun measures the fork-join overhead of an empty two-part job.
func BenchmarkRun(b *testing.B) {
	var t nop
	for i := 0; i < b.N; i++ {
		Run(2, t)
	}
}
