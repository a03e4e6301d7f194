package launcher

import (
	"errors"
	"os/exec"
	"syscall"
)

// Tracker is told of each process a step starts: its pid once it runs;
// the function it returns is called once the process has ended. A
// supervisor uses it to find the processes again after it died (the
// embedded engine records them; runtime/engine/local's leftover.go).
type Tracker func(pid int) (ended func())

// RunProcess starts cmd, tells track (when not nil) and waits for it.
// Callers set cmd up with Terminate first: the process then leads its own
// process group and, on Linux, is killed when the process that started it
// dies.
func RunProcess(cmd *exec.Cmd, track Tracker) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	if track != nil {
		defer track(cmd.Process.Pid)()
	}
	err := cmd.Wait()
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		// The command ended well but something else held its output
		// pipes open past WaitDelay: a process it left in the
		// background, or, on a very busy machine, a child forked at the
		// same moment that had not yet exec'd. As a pod ends with its main
		// process, the step succeeds with what was written; its group is
		// killed below.
		err = nil
	}
	if cmd.SysProcAttr != nil && (cmd.SysProcAttr.Setpgid || cmd.SysProcAttr.Setsid) { // a sandbox's leads its group
		// What the command left running in its group goes with it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return err
}
