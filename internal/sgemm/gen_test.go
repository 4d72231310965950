package sgemm

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedAsmUpToDate: the committed AVX-512 assembly is what gen_avx512.go prints, so an
// edit of either alone is caught.
func TestGeneratedAsmUpToDate(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	out := filepath.Join(t.TempDir(), "gen.s")
	cmd := exec.Command(goTool, "run", "gen_avx512.go", "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen_avx512.go: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("sgemm_avx512_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("sgemm_avx512_amd64.s is stale: run go generate ./internal/sgemm")
	}
}
