package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

func hugeAlloc(n int) []float32 {
	if os.Getenv("PROBE_MAKE") != "" {
		v := make([]float32, n)
		const huge = 2 << 20
		p := uintptr(unsafe.Pointer(&v[0]))
		beg := (p + huge - 1) &^ (huge - 1)
		end := (p + 4*uintptr(n)) &^ (huge - 1)
		sub := v[(beg-p)/4 : (end-p)/4]
		b := unsafe.Slice((*byte)(unsafe.Pointer(&sub[0])), 4*len(sub))
		fmt.Println("madvise", syscall.Madvise(b, syscall.MADV_HUGEPAGE))
		if os.Getenv("PROBE_COLLAPSE") != "" {
			fmt.Println("collapse", syscall.Madvise(b, 25))
		}
		return v
	}
	const align = 2 << 20
	b, err := syscall.Mmap(-1, 0, 4*n+align, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		panic(err)
	}
	off := (align - int(uintptr(unsafe.Pointer(&b[0]))%align)) % align
	b = b[off : off+4*n]
	if err := syscall.Madvise(b, 14 /* MADV_HUGEPAGE */); err != nil {
		panic(err)
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
}

func anonHuge() string {
	b, _ := os.ReadFile("/proc/self/smaps_rollup")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "AnonHugePages") {
			return strings.TrimSpace(l)
		}
	}
	return "?"
}

func hugeRun(shapes string, reps int) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, shs := range strings.Split(shapes, ",") {
		var D, d int
		fmt.Sscanf(shs, "%dx%d", &D, &d)
		a := make([]float32, D*d)
		for i := range a {
			a[i] = float32(r.NormFloat64())
		}
		h := hugeAlloc(D * d)
		copy(h, a)
		fmt.Println(anonHuge())
		x, g, y, out := make([]float32, d), make([]float32, D), make([]float32, D), make([]float32, d)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		for i := range g {
			g[i] = float32(r.NormFloat64())
		}
		acc := make([]float32, D)
		fs := []func(){
			func() { fwd(0, D, d, D, a, x, y, 32768, 4, 512, acc) },
			func() { fwd(0, D, d, D, h, x, y, 32768, 4, 512, acc) },
			func() { dots(0, d, D, a, g, out, 4, 512) },
			func() { dots(0, d, D, h, g, out, 4, 512) },
		}
		names := []string{"fwd heap", "fwd huge", "tr heap", "tr huge"}
		ts := make([][]float64, 4)
		for range reps {
			for j, f := range fs {
				t0 := time.Now()
				f()
				ts[j] = append(ts[j], time.Since(t0).Seconds())
			}
		}
		for j := range fs {
			m := median(ts[j])
			fmt.Printf("T1 %6d x %4d %-9s %7.3f ms %5.1f GB/s\n", D, d, names[j], m*1e3, 4*float64(D)*float64(d)/m/1e9)
		}
		for _, p := range [][2]int{{0, 1}, {2, 3}} {
			var rs []float64
			for k := range ts[0] {
				rs = append(rs, ts[p[1]][k]/ts[p[0]][k])
			}
			fmt.Printf("   %s huge/heap per-rep median ratio %.3f\n", names[p[0]][:3], median(rs))
		}
	}
}
