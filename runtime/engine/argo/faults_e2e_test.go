//go:build e2e

package argo

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/launcher"
)

// failure is what the fault tests compare of a finished run: its phase and
// message, and each failed node's phase and message.
type failure struct {
	Phase   string
	Message string
	Nodes   map[string]string // display name (and attempt) -> "Phase: message"
}

func failures(wf *wfv1.Workflow) failure {
	f := failure{Phase: string(wf.Status.Phase), Message: wf.Status.Message, Nodes: map[string]string{}}
	var names []string
	for _, n := range wf.Status.Nodes {
		if n.Phase == wfv1.NodeFailed || n.Phase == wfv1.NodeError {
			names = append(names, n.Name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		for _, n := range wf.Status.Nodes {
			if n.Name == name {
				f.Nodes[strings.TrimPrefix(n.Name, wf.Name)] = string(n.Phase) + ": " + n.Message
			}
		}
	}
	return f
}

func compileFile(t *testing.T, file string, params map[string]string, name string) *wfv1.Workflow {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	wf, err := compiler.Compile(filepath.Base(file), data, compiler.Options{Params: params})
	if err != nil {
		t.Fatal(err)
	}
	wf.Name, wf.GenerateName = dnsName(name, time.Now().UnixNano()%1e6), ""
	return wf
}

// runLocal runs wf on the embedded engine with its artifacts in c's
// embedded bucket (home is the engine's directory).
func (c *realCluster) runLocal(home string, wf *wfv1.Workflow) (*wfv1.Workflow, error) {
	return local.New(local.Options{Home: home, PythonExecutor: launcher.PythonBuiltin, Store: c.localStore}).Run(context.Background(), wf.DeepCopy())
}

// result is a run's end, from another goroutine.
type result struct {
	wf  *wfv1.Workflow
	err error
}

func (r result) get(t *testing.T) *wfv1.Workflow {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.wf
}

// killProcess waits up to timeout for a process whose command line is
// exactly args and kills it with SIGKILL; it reports whether it did. Both
// engines' steps are processes of this machine (the pods' too), so the same
// fault reaches both.
func killProcess(args []string, timeout time.Duration) bool {
	want := strings.Join(args, "\x00") + "\x00"
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, d := range dirs {
			b, err := os.ReadFile(d)
			if err != nil || string(b) != want {
				continue
			}
			var pid int
			fmt.Sscanf(filepath.Base(filepath.Dir(d)), "%d", &pid)
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// TestFaults: the same fault on both engines ends the run with the same
// reason, node for node: a step that exits 1 (retried twice, then the run
// fails), a step whose process is killed mid-step, and the S3 server stopped
// while a step trains (its output artifact cannot be stored).
func TestFaults(t *testing.T) {
	t.Parallel()
	holdNodeSlot(t)
	c := newRealCluster(t, "faults")

	t.Run("exit 1 retried then failed", func(t *testing.T) {
		wf := compileFile(t, "testdata/fail_retry.yaml", nil, "exit1")
		want, err := c.runLocal(t.TempDir(), wf)
		if err != nil {
			t.Fatal(err)
		}
		got := c.run(t, wf.DeepCopy(), 4*time.Minute)
		compareFailures(t, c, want, got, "main: Error (exit code 1)")
	})

	t.Run("step killed", func(t *testing.T) {
		wf := compileFile(t, "testdata/sleep.yaml", map[string]string{"pause": "300.4242"}, "killed")
		done := make(chan result, 1)
		home := t.TempDir()
		go func() { w, err := c.runLocal(home, wf); done <- result{w, err} }()
		if !killProcess([]string{"sleep", "300.4242"}, time.Minute) {
			t.Fatal("the embedded engine's step never slept")
		}
		want := (<-done).get(t)
		gotc := make(chan result, 1)
		go func() { w, err := c.runErr(wf.DeepCopy(), 4*time.Minute); gotc <- result{w, err} }()
		if !killProcess([]string{"sleep", "300.4242"}, c.bound(3*time.Minute)) {
			t.Fatalf("the pod's step never slept\n%s", c.Pods(wf.Name))
		}
		compareFailures(t, c, want, (<-gotc).get(t), "exit code 137")
	})

	t.Run("S3 stopped mid-step", func(t *testing.T) {
		// Argo first (its pod takes seconds to start), then the embedded
		// engine; the store stops once both steps train.
		onArgo := compileFile(t, "testdata/slow_model.yaml", map[string]string{"pause": "25.4242"}, "s3stop")
		gotc := make(chan result, 1)
		go func() { w, err := c.runErr(onArgo.DeepCopy(), 6*time.Minute); gotc <- result{w, err} }()
		if !waitProcess([]string{"sleep", "25.4242"}, c.bound(3*time.Minute)) {
			t.Fatalf("the pod's step never trained\n%s", c.Pods(onArgo.Name))
		}
		embedded := onArgo.DeepCopy()
		embedded.Spec.Arguments.Parameters[0].Value = wfv1.AnyStringPtr("15.4242")
		wantc := make(chan result, 1)
		home := t.TempDir()
		go func() { w, err := c.runLocal(home, embedded); wantc <- result{w, err} }()
		if !waitProcess([]string{"sleep", "15.4242"}, time.Minute) {
			t.Fatal("the embedded engine's step never trained")
		}
		c.S3.Stop()
		want, got := (<-wantc).get(t), (<-gotc).get(t)
		c.S3.Restart()
		// Argo's wait container uploads the outputs, so its node is an
		// Error of the wait container; the embedded engine's launcher
		// uploads them: the same step fails for the same reason, in each
		// engine's words.
		fw, fg := failures(want), failures(got)
		t.Logf("embedded: %+v\nargo:     %+v", fw, fg)
		if !slices.Equal(slices.Sorted(maps.Keys(fw.Nodes)), slices.Sorted(maps.Keys(fg.Nodes))) || len(fw.Nodes) == 0 {
			t.Errorf("different steps failed: embedded %v, argo %v", fw.Nodes, fg.Nodes)
		}
		for _, f := range []failure{fw, fg} {
			if f.Phase == string(wfv1.WorkflowSucceeded) || !strings.Contains(fmt.Sprint(f.Nodes), "connection refused") {
				t.Errorf("%s %v: want the run failed naming the refused connection to S3", f.Phase, f.Nodes)
			}
		}
	})
}

// waitProcess waits for a process whose command line is exactly args.
func waitProcess(args []string, timeout time.Duration) bool {
	want := strings.Join(args, "\x00") + "\x00"
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, d := range dirs {
			if b, err := os.ReadFile(d); err == nil && string(b) == want {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// compareFailures checks both runs failed the same way: the same nodes
// failed with the same messages, and the reason names reason.
func compareFailures(t *testing.T, c *realCluster, want, got *wfv1.Workflow, reason string) {
	t.Helper()
	fw, fg := failures(want), failures(got)
	t.Logf("embedded: %+v\nargo:     %+v", fw, fg)
	if d := cmp.Diff(fw, fg); d != "" {
		t.Errorf("the runs failed differently (-embedded +argo):\n%s\n%s", d, c.Pods(got.Name))
	}
	if fw.Phase != string(wfv1.WorkflowFailed) || !strings.Contains(fmt.Sprint(fw.Nodes), reason) {
		t.Errorf("embedded run: %s %v, want Failed naming %q", fw.Phase, fw.Nodes, reason)
	}
}
