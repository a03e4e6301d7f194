package local_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/runtime/engine/local"
)

// TestDetachedProcessesCannotSwapOutputs: a sandboxed step writes its
// output parameter and artifact, then leaves detached processes (setsid)
// that keep replacing both with symlinks to a file of the server's for
// seconds, and ends. The run's outputs — the parameter, the artifact in the
// store — never hold that file's content: the step either ends with its
// own outputs or fails on the links Seal found, and no process of it is
// left when the run ends (issue 15's seal race; TestNoProcessOutlivesTheStep
// in runtime/sandbox checks the moment Seal returns).
func TestDetachedProcessesCannotSwapOutputs(t *testing.T) {
	home := t.TempDir()
	secret := filepath.Join(home, "server-secret.db")
	if err := os.WriteFile(secret, []byte("the-server-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := local.Options{Home: home, Sandbox: newSandbox(t), Confined: true}
	for round := 0; round < 3; round++ {
		marker := "planter-" + strconv.Itoa(os.Getpid()) + "-" + strconv.Itoa(round)
		plant := `touch "$1.started"; end=$(($(date +%s)+4)); while [ "$(date +%s)" -lt "$end" ]; do ln -sfn "$0" "$1.l$$" && mv -fT "$1.l$$" "$1"; done`
		script := `mkdir -p /tmp/model && echo own > /tmp/out.txt && echo own > /tmp/model/data
for f in /tmp/out.txt /tmp/model/data; do
  setsid sh -c '` + plant + `' "$1" "$f" </dev/null >/dev/null 2>&1 &
done
i=0; while ! [ -e /tmp/out.txt.started ] || ! [ -e /tmp/model/data.started ]; do sleep 0.05; i=$((i+1)); [ $i -lt 1200 ] || exit 1; done`
		wf := &wfv1.Workflow{}
		src := map[string]any{
			"metadata": map[string]any{"name": "seal-race-" + strconv.Itoa(round)},
			"spec": map[string]any{"entrypoint": "main", "templates": []any{map[string]any{
				"name":      "main",
				"container": map[string]any{"image": "alpine", "command": []string{"sh", "-c", script, marker, secret}},
				"outputs": map[string]any{
					"parameters": []any{map[string]any{"name": "out", "valueFrom": map[string]any{"path": "/tmp/out.txt"}}},
					"artifacts":  []any{map[string]any{"name": "model", "path": "/tmp/model"}},
				},
			}}},
		}
		b, _ := yaml.Marshal(src)
		if err := yaml.UnmarshalStrict(b, wf); err != nil {
			t.Fatal(err)
		}
		out, logs := runWFWith(t, wf, opts)
		n := out.Status.Nodes[out.Name]
		t.Logf("round %d: %s %q", round, out.Status.Phase, n.Message)
		switch {
		case out.Status.Phase == wfv1.WorkflowSucceeded:
			if got := param(t, n, "out"); got != "own" {
				t.Errorf("round %d: output parameter %q, want the step's own", round, got)
			}
		case !strings.Contains(n.Message, "in its outputs"):
			t.Errorf("round %d: phase %s %q, want Succeeded or the links Seal found\n%s", round, out.Status.Phase, n.Message, logs)
		}
		if n.Outputs != nil {
			for _, p := range n.Outputs.Parameters {
				if p.Value != nil && strings.Contains(p.Value.String(), "secret") {
					t.Errorf("round %d: output parameter %s holds the server's file: %q", round, p.Name, p.Value)
				}
			}
		}
		if left := processesWith(marker); len(left) > 0 {
			t.Errorf("round %d: processes of the step outlived the run: %v", round, left)
		}
	}
	filepath.WalkDir(filepath.Join(home, "artifacts"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("the-server-secret")) {
				t.Errorf("the server's file is in the artifact store: %s", p)
			}
		}
		return nil
	})
}

// processesWith lists the pids whose command line holds marker.
func processesWith(marker string) []string {
	var pids []string
	ps, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range ps {
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(marker)) {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	return pids
}
