package sgemm

import (
	"testing"
)

// forPaths runs f as a subtest on every path this CPU supports (named after the path), with
// that path selected, so that every test of the package covers every kernel set the machine
// can run.
func forPaths(t *testing.T, f func(t *testing.T, p Path)) {
	t.Helper()
	for _, p := range Supported() {
		t.Run(p.String(), func(t *testing.T) {
			prev, err := SetPath(p)
			if err != nil {
				t.Fatal(err)
			}
			defer SetPath(prev)
			f(t, p)
		})
	}
}

func TestPathFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want Path
		ok   bool
	}{
		{"", Best(), true},
		{"auto", Best(), true},
		{"generic", Generic, true},
		{"GENERIC", Generic, true},
		{"avx2", AVX2, AVX2.Supported()},
		{"avx512", AVX512, AVX512.Supported()},
		{"avx-512", Best(), false},
		{"sse2", Best(), false},
	} {
		got, err := pathFromEnv(tc.env)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("GAZE_CPU=%q: %v, %v; want %v", tc.env, got, err, tc.want)
		}
		if !tc.ok && (err == nil || got != Best()) {
			t.Errorf("GAZE_CPU=%q: %v, %v; want an error and %v", tc.env, got, err, Best())
		}
	}
	defer SetPath(Current())
	for p := Generic; p <= AVX512; p++ {
		if _, err := SetPath(p); (err == nil) != p.Supported() {
			t.Errorf("SetPath(%v): %v, supported %v", p, err, p.Supported())
		}
	}
}
