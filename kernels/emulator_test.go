package kernels

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The host emulator (go test -tags cuda,cudaemu ./engine/cuda) must build with a C++ compiler
// alone: CI runs it where the CUDA toolkit cannot be installed, so that the kernels are never
// left unchecked. Nothing it compiles may include a CUDA header, and nothing it links may be
// gorgonia.org/cu (which needs cuda.h and libcuda).
func TestEmulatorNeedsNoCUDAToolkit(t *testing.T) {
	var sources []string
	for _, pat := range []string{"*.cu", "*.cuh", "emu.h", "../engine/cuda/emu_*.cc", "../engine/cuda/driver_emu.go"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, m...)
	}
	if len(sources) < 10 {
		t.Fatalf("found only %v", sources)
	}
	cudaInclude := regexp.MustCompile(`#\s*include\s*[<"](cuda|cuda_runtime|cuda_fp16|curand|cublas)[^>"]*[>"]`)
	for _, f := range sources {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := cudaInclude.Find(b); m != nil {
			t.Errorf("%s: %s: the emulator build would need the CUDA toolkit", f, m)
		}
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command for the dependency check")
	}
	out, err := exec.Command("go", "list", "-deps", "-test", "-tags", "cuda,cudaemu", "github.com/gazeml/gaze/engine/cuda", "github.com/gazeml/gaze/kernels").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "gorgonia.org/cu" || strings.HasPrefix(dep, "gorgonia.org/cu/") || strings.HasSuffix(dep, "engine/cuda/internal/preflight") {
			t.Errorf("the emulator build depends on %s, which needs the CUDA toolkit", dep)
		}
	}
}
