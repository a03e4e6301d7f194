package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

func TestRunCommand(t *testing.T) {
	t.Setenv("KUBELINE_HOME", t.TempDir())
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "../../examples/hello-params/pipeline.yaml", "--param", "recipient=cli"}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "output shouted = HELLO, CLI!") {
		t.Fatalf("stdout %q lacks the pipeline output", stdout.String())
	}
	// Progress goes to stderr, one line per step state.
	if !strings.Contains(stderr.String(), "✓ make-greeting") || !strings.Contains(stderr.String(), "✓ shout") {
		t.Fatalf("progress %q lacks the steps", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("KUBELINE_HOME"), "runs")); err != nil {
		t.Fatalf("no run state under KUBELINE_HOME: %v", err)
	}

	stdout.Reset()
	stderr.Reset()
	code = run([]string{"run", "-o", "json", "../../runtime/engine/local/testdata/exit.yaml"}, nil, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("a failed run exited %d, want 1", code)
	}
	var wf wfv1.Workflow
	if err := json.Unmarshal(stdout.Bytes(), &wf); err != nil {
		t.Fatalf("-o json: %v", err)
	}
	if wf.Status.Phase != wfv1.WorkflowFailed || len(wf.Status.Nodes) < 3 {
		t.Fatalf("final workflow %s with %d nodes", wf.Status.Phase, len(wf.Status.Nodes))
	}
	if !strings.Contains(stderr.String(), "fail: main: Error (exit code 3)") {
		t.Fatalf("stderr %q does not say which step failed", stderr.String())
	}
	if code := run([]string{"run", "nope.yaml"}, nil, &stdout, &stderr); code != 1 {
		t.Fatalf("missing file exited %d", code)
	}
}
