//go:build !linux

package launcher

import "os/exec"

// dieWithParent has no parent-death signal to set outside Linux: the
// process group and the engine's records are what find such a process.
func dieWithParent(*exec.Cmd) {}
