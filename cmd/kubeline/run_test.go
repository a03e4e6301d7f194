package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestRunOnServer submits the GPU example to a server with `kubeline run
// FILE --server URL`, as a user does: it is admitted against the server's
// GPUs and followed to its end; with too few GPUs it waits Queued, saying
// why, until started anyway; a bad parameter is refused here, before
// anything reaches the server.
func TestRunOnServer(t *testing.T) {
	pipeline := absPath(t, "../../examples/gpu-train/pipeline.yaml")
	env := []string{"KUBELINE_HOME=" + t.TempDir(), "KUBELINE_TOKEN=", "KUBELINE_SERVER=", "KUBELINE_CONFIG="}
	srv := startServerBinary(t, t.TempDir(), "--gpus", "t4:gpu-box=2")
	r := kubelineIn(t, t.TempDir(), env, "run", pipeline, "--server", srv.url, "--param", "lr=0.2")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `^run [0-9a-f-]{36} pipeline\.yaml gpu-train SUCCEEDED\n$`, r.stdout)
	assert.Contains(t, r.stderr, "created on "+srv.url)

	// A configured server ($KUBELINE_SERVER, a context) is where a run goes
	// too; flags of a run here say how to run here instead.
	viaEnv := append(append([]string{}, env...), "KUBELINE_SERVER="+srv.url)
	r = kubelineIn(t, t.TempDir(), viaEnv, "run", pipeline, "--param", "lr=0.3")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "created on "+srv.url)
	r = kubelineIn(t, t.TempDir(), viaEnv, "run", pipeline, "--no-cache")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "--no-cache is for a run here, but the run goes to the server "+srv.url+" (from $KUBELINE_SERVER); add --server local to run it here")
	r = kubelineIn(t, t.TempDir(), viaEnv, "run", pipeline, "--server", "local", "--no-cache")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stderr, "created on")
	assert.Contains(t, r.stdout, "output best = ")

	small := startServerBinary(t, t.TempDir(), "--gpus", "t4:gpu-box=1")
	r = kubelineIn(t, t.TempDir(), env, "run", pipeline, "--server", small.url, "--detach")
	require.Equal(t, 0, r.code, r.stderr)
	id := strings.TrimSpace(r.stdout)
	require.Regexp(t, `^[0-9a-f-]{36}$`, id)
	r = kubelineIn(t, t.TempDir(), env, "runs", "status", id, "--server", small.url)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `(?m)^status:\s+Queued$`, r.stdout)
	assert.Contains(t, r.stdout, "needs 2 × t4")
	r = kubelineIn(t, t.TempDir(), env, "run", pipeline, "--server", small.url, "--start-anyway", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var run map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &run), r.stdout)
	assert.Equal(t, "SUCCEEDED", run["state"])

	r = kubelineIn(t, t.TempDir(), env, "run", pipeline, "--server", srv.url, "--param", "lr=fast")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `--param[lr]: "fast" is not a number`)
	assert.NotContains(t, r.stderr, "created on")
	r = kubelineIn(t, t.TempDir(), env, "run", pipeline, "--server", srv.url, "--engine", "argo")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "--engine is for a run here; with --server the server decides")
}
