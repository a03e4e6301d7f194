package launcher

import (
	"os/exec"
	"syscall"
)

// exitCode is a finished command's exit code as a shell and Kubernetes
// report it: 128 + the signal for a process a signal killed (137 for
// SIGKILL), where Go's ExitCode says -1 (which a pod's launcher turned
// into 255).
func exitCode(ee *exec.ExitError) int {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}
