package launcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// stepModule is what the zygote tests' steps run (python -m stepmod ARGS).
const stepModule = `import os, subprocess, sys, time
STATE = []
mode = sys.argv[1]
if mode == "show":
    STATE.append(1)
    print("argv", sys.argv[1:], "cwd", os.getcwd(), "X", os.environ.get("X"), "leak", os.environ.get("LEAK"), "state", len(STATE))
    print("to stderr", file=sys.stderr)
    os.environ["LEAK"] = "1"
    sys.exit(int(sys.argv[2]))
if mode == "child":
    print("child exit", subprocess.run(["sh", "-c", "exit 7"]).returncode)
if mode == "sleep":
    print("started", flush=True)
    time.sleep(60)
if mode == "raise":
    raise ValueError("boom")
`

func zygoteFixture(t *testing.T) (*Zygotes, string, []string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "stepmod.py"), []byte(stepModule), 0o644); err != nil {
		t.Fatal(err)
	}
	zs := NewZygotes()
	t.Cleanup(zs.Close)
	return zs, dir, append(os.Environ(), "PYTHONPATH="+dir)
}

type stepResult struct {
	Code           int
	Stdout, Stderr string
}

func runStep(t *testing.T, zs *Zygotes, ctx context.Context, dir string, env []string, args ...string) stepResult {
	t.Helper()
	var out, errOut bytes.Buffer
	code, err := zs.run(ctx, "python3", "stepmod", args, dir, env, &out, &errOut, time.Second, nil)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return stepResult{code, out.String(), errOut.String()}
}

// TestZygoteSteps: steps forked from one zygote each get their own
// arguments, environment, working directory, output streams and exit
// code, and nothing one step changes reaches the next; a component's own
// subprocesses report their exit codes; an exception exits 1 with its
// traceback.
func TestZygoteSteps(t *testing.T) {
	zs, dir, env := zygoteFixture(t)
	ctx := context.Background()
	got := []stepResult{
		runStep(t, zs, ctx, dir, append(env, "X=one"), "show", "0"),
		runStep(t, zs, ctx, dir, append(env, "X=two"), "show", "3"),
		runStep(t, zs, ctx, dir, env, "show", "0"),
		runStep(t, zs, ctx, dir, env, "child"),
	}
	want := []stepResult{
		{0, fmt.Sprintf("argv ['show', '0'] cwd %s X one leak None state 1\n", dir), "to stderr\n"},
		{3, fmt.Sprintf("argv ['show', '3'] cwd %s X two leak None state 1\n", dir), "to stderr\n"},
		{0, fmt.Sprintf("argv ['show', '0'] cwd %s X None leak None state 1\n", dir), "to stderr\n"},
		{0, "child exit 7\n", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if len(zs.m) != 1 {
		t.Errorf("%d zygotes for one interpreter and directory, want 1", len(zs.m))
	}
	r := runStep(t, zs, ctx, dir, env, "raise")
	if r.Code != 1 || !strings.Contains(r.Stderr, "ValueError: boom") {
		t.Errorf("raising step: %+v", r)
	}
}

// TestZygoteConcurrentSteps: steps running at once keep their outputs apart.
func TestZygoteConcurrentSteps(t *testing.T) {
	zs, dir, env := zygoteFixture(t)
	var wg sync.WaitGroup
	results := make([]stepResult, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runStep(t, zs, context.Background(), dir, append(append([]string{}, env...), fmt.Sprintf("X=%d", i)), "show", fmt.Sprint(i))
		}()
	}
	wg.Wait()
	for i, r := range results {
		want := stepResult{i, fmt.Sprintf("argv ['show', '%d'] cwd %s X %d leak None state 1\n", i, dir, i), "to stderr\n"}
		if diff := cmp.Diff(want, r); diff != "" {
			t.Errorf("step %d (-want +got):\n%s", i, diff)
		}
	}
}

// TestZygoteStop: cancelling a step's context ends it (SIGTERM to its
// process group) and run reports it ended by a signal; closing the
// zygotes kills the steps still running.
func TestZygoteStop(t *testing.T) {
	zs, dir, env := zygoteFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out syncWriter
	done := make(chan int)
	go func() {
		code, err := zs.run(ctx, "python3", "stepmod", []string{"sleep"}, dir, env, &out, &out, time.Second, nil)
		if err != nil {
			t.Error(err)
		}
		done <- code
	}()
	waitFor(t, &out, "started")
	cancel()
	select {
	case code := <-done:
		if code != -1 {
			t.Errorf("stopped step: exit %d, want -1 (a signal)", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the step did not stop")
	}

	// A step still running when the zygotes close dies with its zygote.
	var out2 syncWriter
	go func() {
		code, _ := zs.run(context.Background(), "python3", "stepmod", []string{"sleep"}, dir, env, &out2, &out2, time.Second, nil)
		done <- code
	}()
	waitFor(t, &out2, "started")
	zs.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a step outlived its zygote")
	}
}

// TestZygoteCannotStart: an interpreter without the module gives
// errNoZygote (the step then runs its own interpreter).
func TestZygoteCannotStart(t *testing.T) {
	zs := NewZygotes()
	defer zs.Close()
	dir := t.TempDir()
	_, err := zs.run(context.Background(), "python3", "no_such_module_here", nil, dir, os.Environ(), &bytes.Buffer{}, &bytes.Buffer{}, time.Second, nil)
	if !errors.Is(err, errNoZygote) || !strings.Contains(err.Error(), "No module named 'no_such_module_here'") {
		t.Errorf("err = %v, want errNoZygote naming the missing module", err)
	}
	if _, err := zs.run(context.Background(), "/no/python", "x", nil, dir, os.Environ(), &bytes.Buffer{}, &bytes.Buffer{}, time.Second, nil); !errors.Is(err, errNoZygote) {
		t.Errorf("missing interpreter: err = %v, want errNoZygote", err)
	}
}

type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func waitFor(t *testing.T, w *syncWriter, s string) {
	t.Helper()
	for i := 0; i < 300 && !strings.Contains(w.String(), s); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(w.String(), s) {
		t.Fatalf("no %q in %q", s, w.String())
	}
}
