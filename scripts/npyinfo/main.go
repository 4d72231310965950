// Command npyinfo prints one line per .npy file, "NAME DESCR SHAPE SUM" (SHAPE as 480x3, SUM in
// float64), read with gaze's own npy reader: scripts/image-test.sh uses it to check a run's files
// where Python has no numpy, and prints the same line from numpy where it has.
//
//	go run ./scripts/npyinfo FILE.npy...
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gazeml/gaze/internal/npy"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: npyinfo FILE.npy...")
		os.Exit(2)
	}
	status := 0
	for _, path := range os.Args[1:] {
		line, err := info(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "npyinfo:", err)
			status = 1
			continue
		}
		fmt.Println(line)
	}
	os.Exit(status)
}

func info(path string) (string, error) {
	shape, dt, _, err := npy.ReadHeader(path)
	if err != nil {
		return "", err
	}
	m, err := npy.Read(path, 0, -1)
	if err != nil {
		return "", err
	}
	sum := 0.0
	for _, v := range m.Data {
		sum += v
	}
	dims := make([]string, len(shape))
	for i, n := range shape {
		dims[i] = strconv.Itoa(n)
	}
	return fmt.Sprintf("%s %s %s %.12g", filepath.Base(path), dt, strings.Join(dims, "x"), sum), nil
}
