package local_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/launcher"
)

// fakePip is a pip that records its calls and "installs" kfp by copying
// kubeline's builtin executor package into the target venv. It stands in for
// PyPI, which this machine cannot reach.
const fakePip = `#!/bin/sh
echo "$*" >> "$FAKE_PIP_LOG"
py=""; prev=""
for a in "$@"; do [ "$prev" = "--python" ] && py="$a"; prev="$a"; done
[ -n "$py" ] || { echo "fake pip: no --python" >&2; exit 2; }
site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mkdir -p "$site" && cp -r "$FAKE_KFP_SRC/kfp" "$site/"
`

// TestVenvMadeOnceAndReused: the venv path makes one venv for the pipeline's
// (python, kfp) and reuses it for the next step and the next run.
func TestVenvMadeOnceAndReused(t *testing.T) {
	bin, home := t.TempDir(), t.TempDir()
	log := filepath.Join(t.TempDir(), "pip.log")
	if err := os.WriteFile(filepath.Join(bin, "pip"), []byte(fakePip), 0o755); err != nil {
		t.Fatal(err)
	}
	src, _ := filepath.Abs("../../launcher/pyexec")
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_PIP_LOG", log)
	t.Setenv("FAKE_KFP_SRC", src)
	wf := compileFile(t, corpus+"valid/essential/pipeline_with_outputs.yaml", nil)
	steps := 0
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.Container != nil {
			steps++
		}
	}
	if steps < 2 {
		t.Fatalf("want a pipeline with 2+ Python steps, this has %d", steps)
	}
	for run := 0; run < 2; run++ {
		logs := &syncBuffer{}
		// NoCache: the second run must run its steps, not reuse their outputs.
		e := local.New(local.Options{Home: home, Logs: logs, PythonExecutor: launcher.PythonVenv, NoCache: true})
		out, err := e.Run(context.Background(), wf)
		if err != nil {
			t.Fatal(err)
		}
		if out.Status.Phase != wfv1.WorkflowSucceeded {
			t.Fatalf("run %d: %s\n%s\n%s", run, out.Status.Phase, summary(out), logs)
		}
		if !strings.Contains(logs.String(), "runs in the venv") {
			t.Fatalf("run %d: the log does not say the venv ran the step:\n%s", run, logs)
		}
	}
	calls, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(calls)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "kfp==") {
		t.Fatalf("pip ran %d times, want once (to install kfp):\n%s", len(lines), calls)
	}
	venvs, _ := filepath.Glob(filepath.Join(home, "venvs", "*", ".ready"))
	if len(venvs) != 1 {
		t.Fatalf("want one venv, found %d", len(venvs))
	}
}

// failingPip logs its call, takes a second, and fails, as pip does offline.
const failingPip = `#!/bin/sh
echo "$*" >> "$FAKE_PIP_LOG"
sleep 1
echo "ERROR: Could not find a version that satisfies the requirement" >&2
exit 1
`

// autoRun runs a corpus pipeline of Python steps, some in parallel, with
// the auto executor, pip replaced by script and the package index at index,
// and returns pip's calls.
func autoRun(t *testing.T, file, script, index string) []string {
	t.Helper()
	bin, home := t.TempDir(), t.TempDir()
	log := filepath.Join(t.TempDir(), "pip.log")
	if err := os.WriteFile(filepath.Join(bin, "pip"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_PIP_LOG", log)
	t.Setenv("PIP_INDEX_URL", index)
	wf := compileFile(t, corpus+file, nil)
	logs := &syncBuffer{}
	e := local.New(local.Options{Home: home, Logs: logs, PythonExecutor: launcher.PythonAuto, NoCache: true})
	out, err := e.Run(context.Background(), wf)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("%s\n%s\n%s", out.Status.Phase, summary(out), logs)
	}
	if n := strings.Count(logs.String(), "runs with kubeline's builtin KFP executor"); n < 4 {
		t.Fatalf("%d steps ran with the builtin executor, want every one (4+):\n%s", n, logs)
	}
	calls, _ := os.ReadFile(log)
	if s := strings.TrimSpace(string(calls)); s != "" {
		return strings.Split(s, "\n")
	}
	return nil
}

// TestAutoOffline: with no package index reachable (a closed port here),
// the auto executor decides so once and runs every step with the builtin
// executor, never calling pip.
func TestAutoOffline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/simple/"
	l.Close()
	if calls := autoRun(t, "valid/critical/collected_parameters.yaml", failingPip, closed); len(calls) != 0 {
		t.Fatalf("pip ran %d times with no index reachable:\n%s", len(calls), strings.Join(calls, "\n"))
	}
}

// TestAutoFailingPipOnce: with an index that answers but pip failing, the
// parallel steps that waited for the venv's lock see the failure and do not
// run pip again: one pip call for the whole run. The pipeline starts with a
// ParallelFor of three Python steps, which reach the lock together.
func TestAutoFailingPipOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if calls := autoRun(t, "valid/critical/parallel_for_after_dependency.yaml", failingPip, "http://"+l.Addr().String()+"/simple/"); len(calls) != 1 {
		t.Fatalf("pip ran %d times, want once:\n%s", len(calls), strings.Join(calls, "\n"))
	}
}
