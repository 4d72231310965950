package images

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// The defaults the job generators use are the tags `make image` gives, and the CUDA one is what
// Dockerfile.cuda builds without --target (its last stage, named cuda).
func TestNamesMatchTheBuild(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]string{"GAZE_IMAGE": CUDA, "GAZE_IMAGE_CPU": CPU} {
		m := regexp.MustCompile(`(?m)^` + v + `\s*\?=\s*(\S+)\s*$`).FindSubmatch(mk)
		if m == nil {
			t.Errorf("the Makefile does not set %s ?= ...", v)
		} else if string(m[1]) != want {
			t.Errorf("the Makefile's %s is %s, the Go default %s", v, m[1], want)
		}
	}
	df, err := os.ReadFile("../../Dockerfile.cuda")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^USER\s+(\d+):(\d+)\s*$`).FindSubmatch(df); m == nil || string(m[1]) != strconv.Itoa(UID) || string(m[2]) != strconv.Itoa(GID) {
		t.Errorf("Dockerfile.cuda's USER %q is not %d:%d", m, UID, GID)
	}
	stages := regexp.MustCompile(`(?m)^FROM\s+\S+\s+AS\s+(\S+)`).FindAllSubmatch(df, -1)
	if len(stages) == 0 || string(stages[len(stages)-1][1]) != "cuda" {
		t.Errorf("Dockerfile.cuda's last stage (what a build without --target gives) is not cuda: %q", stages)
	}
}
