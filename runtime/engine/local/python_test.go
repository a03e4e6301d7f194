package local_test

import (
	"context"
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
