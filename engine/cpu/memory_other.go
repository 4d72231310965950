//go:build !linux

package cpu

// adviseHugePages asks for transparent huge pages on Linux only (memory_linux.go).
func adviseHugePages(v []float32) {}
