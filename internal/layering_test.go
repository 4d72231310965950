// Package internal_test checks the rule that keeps the helper packages small: nothing under
// internal/ depends on engine (they serve it: engine's checkpoints are written by rundir).
package internal_test

import (
	"os/exec"
	"strings"
	"testing"
)

func TestNoInternalPackageImportsEngine(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "github.com/gazeml/gaze/internal/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const engine = "github.com/gazeml/gaze/engine"
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 4 {
		t.Fatalf("go list named only %d packages under internal/:\n%s", len(lines), out)
	}
	for _, line := range lines {
		f := strings.Fields(line)
		for _, dep := range f[1:] {
			if dep == engine || strings.HasPrefix(dep, engine+"/") {
				t.Errorf("%s depends on %s", f[0], dep)
			}
		}
	}
}
