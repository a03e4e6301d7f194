package launcher

import (
	"bytes"
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestRunProcessEndsWithItsCommand: a command that succeeds while a
// process it left in the background holds its output pipe succeeds once
// WaitDelay has passed, with what it wrote, and the background process is
// killed with its group (it failed with exec.ErrWaitDelay, and so did
// trivial steps on a machine so busy that a sibling's fork held the pipe).
func TestRunProcessEndsWithItsCommand(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), "sh", "-c", "sleep 30 & echo hi")
	var out bytes.Buffer
	cmd.Stdout = &out
	Terminate(cmd, 200*time.Millisecond)
	start := time.Now()
	if err := RunProcess(cmd, nil); err != nil {
		t.Fatalf("RunProcess: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("took %s: the background sleep was waited for", took)
	}
	if out.String() != "hi\n" {
		t.Fatalf("output %q, want %q", out.String(), "hi\n")
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(-cmd.Process.Pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the background sleep outlived its command's group")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A command that fails still fails.
	bad := exec.CommandContext(t.Context(), "sh", "-c", "sleep 30 & exit 3")
	bad.Stdout = &out
	Terminate(bad, 200*time.Millisecond)
	var xe *exec.ExitError
	if err := RunProcess(bad, nil); !errors.As(err, &xe) || xe.ExitCode() != 3 {
		t.Fatalf("failing command: %v, want exit code 3", err)
	}
}
