package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// EndTimeout bounds how long Seal waits for the last processes of a
// step's pid namespace to be gone once it killed them (the kernel only
// has to finish their exits); past it the step fails unread.
var EndTimeout = 30 * time.Second

// ending is how Seal learns of a wrapped command's sandbox: bwrap writes
// the pid of the namespace's init (its child) and the namespace's inode to
// the write end (--info-fd) when it starts the sandbox.
type ending struct {
	r, w *os.File
}

// infoFD gives cmd a pipe for bwrap's --info-fd and returns the argument
// naming it and the pipe.
func infoFD(cmd *exec.Cmd) ([]string, *ending, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: a pipe for the sandbox's pid: %w", err)
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, w)
	fd := 3 + len(cmd.ExtraFiles) - 1
	return []string{"--info-fd", strconv.Itoa(fd)}, &ending{r: r, w: w}, nil
}

// sandboxInfo is what bwrap writes to --info-fd.
type sandboxInfo struct {
	ChildPID int    `json:"child-pid"`
	PidNS    uint64 `json:"pid-namespace"`
}

// wait makes sure no process of the sandbox runs any more. Called once the
// wrapped command (the outer bwrap) has ended: bwrap's own init, pid 1 of
// the sandbox's pid namespace, may still wait there for processes the
// step left behind (detached with setsid, double forks, nohup) — it is
// killed through a pidfd, and wait returns when it has exited, which the
// kernel allows only once every other process of its namespace is gone.
// A command that never started has nothing to wait for.
func (e *ending) wait() error {
	e.w.Close() // bwrap's copy closed when it ended
	b, err := io.ReadAll(e.r)
	e.r.Close()
	if err != nil {
		return fmt.Errorf("sandbox: read the sandbox's pid: %w", err)
	}
	if len(b) == 0 {
		return nil // bwrap made no sandbox
	}
	var info sandboxInfo
	if err := json.Unmarshal(b, &info); err != nil || info.ChildPID <= 0 {
		return fmt.Errorf("sandbox: bwrap's --info-fd said %q: %v", b, err)
	}
	return waitNamespace(info.ChildPID, info.PidNS)
}

// waitNamespace kills the init pid of pid namespace ns and waits until it
// has exited. A pid that no longer exists, or that is now another
// process's (its number reused outside ns), means the init has long been
// reaped, its namespace with it.
func waitNamespace(pid int, ns uint64) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sandbox: open the sandbox's init (pid %d): %w", pid, err)
	}
	defer unix.Close(fd)
	link, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/pid")
	if err == nil && link != "pid:["+strconv.FormatUint(ns, 10)+"]" {
		return nil // the pid is another process's now
	}
	if err == nil {
		if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("sandbox: stop the sandbox's init (pid %d): %w", pid, err)
		}
	} // else it was reaped between the two calls: the pidfd reads ended
	deadline := time.Now().Add(EndTimeout)
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(time.Until(deadline)/time.Millisecond)+1)
		switch {
		case n > 0:
			return nil
		case err != nil && !errors.Is(err, unix.EINTR):
			return fmt.Errorf("sandbox: wait for the sandbox's init (pid %d): %w", pid, err)
		case time.Now().After(deadline):
			return fmt.Errorf("sandbox: processes of the step still ran %v after it ended (sandbox init pid %d): its outputs are not read", EndTimeout, pid)
		}
	}
}
