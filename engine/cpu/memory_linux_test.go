package cpu

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// vmaFlags returns the VmFlags line of the mapping in /proc/self/smaps that holds address p.
func vmaFlags(t *testing.T, p uintptr) string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps:", err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if first, _, _ := strings.Cut(line, " "); !strings.HasSuffix(first, ":") { // a mapping's header
			var lo, hi uintptr
			if n, _ := fmt.Sscanf(first, "%x-%x", &lo, &hi); n == 2 {
				in = lo <= p && p < hi
			}
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return line
		}
	}
	t.Fatalf("no mapping holds %#x", p)
	return ""
}

// A big buffer is zero and its aligned interior is advised for huge pages ("hg" in the mapping's
// flags), also when Go hands it memory that a freed buffer had filled (Alloc drops the pages
// make zeroed; they must read as zeros again).
func TestAllocHugePages(t *testing.T) {
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skip("no transparent huge pages:", err)
	} else {
		t.Logf("transparent_hugepage/enabled: %s", strings.TrimSpace(string(b)))
	}
	const n = 16 << 20 / 4 // 16 MB
	d := newDevice(1)
	var prev uintptr
	for round := range 3 {
		buf, err := d.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		v := Data(buf)
		p := uintptr(unsafe.Pointer(&v[0]))
		for i, x := range v {
			if x != 0 {
				t.Fatalf("round %d (memory reused: %v): element %d of a new buffer is %v", round, p == prev, i, x)
			}
		}
		t.Logf("round %d: memory of the previous buffer reused: %v", round, p == prev)
		mid := (p + 4*uintptr(n)/2) &^ (2<<20 - 1)
		if f := vmaFlags(t, mid); !strings.Contains(f, " hg") {
			t.Fatalf("round %d: the buffer's mapping is not advised for huge pages: %s", round, f)
		}
		for i := range v {
			v[i] = 1
		}
		prev = p
		runtime.KeepAlive(v)
		buf, v = nil, nil
		runtime.GC()
		runtime.GC()
	}
}
