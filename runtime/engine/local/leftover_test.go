package local_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubeline/kubeline/runtime/engine/local"
)

// stat is a process's state letter and start time (/proc/PID/stat).
func stat(t *testing.T, pid int) (state byte, start uint64, ok bool) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f[0][0], start, true
}

// groupMembers are the processes of process group pgid.
func groupMembers(t *testing.T, pgid int) []int {
	t.Helper()
	dirs, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if f[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestKillLeftoversWaits: when KillLeftovers returns, the step processes
// it killed are gone (exited, zombies at most), not merely signalled: the
// server ends their runs as killed right after it. 20 recorded steps of
// an engine that is gone, each a shell with a child in its own process
// group, as the engine starts them.
func TestKillLeftoversWaits(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("skipped: no /proc on this system (KillLeftovers needs it)")
	}
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "steps"), 0o700); err != nil {
		t.Fatal(err)
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Fatal(err)
	}
	gone := exec.Command("true") // the dead engine: a pid that no longer runs
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	var members []int
	for i := 0; i < 20; i++ {
		cmd := exec.Command("sh", "-c", "sleep 600 & wait")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		t.Cleanup(func() {
			syscall.Kill(-pid, syscall.SIGKILL)
			cmd.Wait()
		})
		_, start, _ := stat(t, pid)
		rec, _ := json.Marshal(map[string]any{"pid": pid, "start": start, "boot": strings.TrimSpace(string(boot)),
			"owner": gone.Process.Pid, "owner_start": 1, "workflow": fmt.Sprint("wf-", i), "node": "nap"})
		if err := os.WriteFile(filepath.Join(home, "steps", strconv.Itoa(pid)+".json"), rec, 0o600); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(groupMembers(t, pid)) < 2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := groupMembers(t, pid); len(got) != 2 {
			t.Fatalf("step %d: %d processes in its group, want the shell and its sleep", i, len(got))
		}
		members = append(members, groupMembers(t, pid)...)
	}
	left, err := local.KillLeftovers(home)
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, l := range left {
		killed += len(l.Killed)
	}
	if len(left) != 20 || killed != 40 {
		t.Errorf("KillLeftovers found %d steps and killed %d processes, want 20 and 40", len(left), killed)
	}
	alive := 0
	for _, pid := range members {
		if state, _, ok := stat(t, pid); ok && state != 'Z' {
			alive++
		}
	}
	if alive > 0 {
		t.Errorf("%d of the 40 killed processes still run when KillLeftovers returns", alive)
	}
	if rest, _ := os.ReadDir(filepath.Join(home, "steps")); len(rest) != 0 {
		t.Errorf("%d step records left, want none", len(rest))
	}
}
