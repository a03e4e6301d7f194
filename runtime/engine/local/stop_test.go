package local_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/launcher"
)

// TestStop cancels a run while a step sleeps: the step gets SIGTERM (its trap
// records it), nothing after it starts, and the run ends Failed "stopped".
func TestStop(t *testing.T) {
	dir := t.TempDir()
	wf := &wfv1.Workflow{}
	src := `
metadata: {name: stop-me}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: sleeper, template: sleep}
      - {name: after, template: sleep, depends: sleeper}
  - name: sleep
    container:
      image: alpine
      command: [sh, -c, 'trap "echo term > ` + dir + `/got-term; exit 143" TERM; echo started > ` + dir + `/started; sleep 30 & wait']
`
	if err := yaml.UnmarshalStrict([]byte(src), wf); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for i := 0; i < 200; i++ {
			if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	}()
	e := local.New(local.Options{Home: t.TempDir(), StopGrace: 2 * time.Second})
	start := time.Now()
	out, err := e.Run(ctx, wf)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status.Phase != wfv1.WorkflowFailed || out.Status.Message != "stopped" {
		t.Fatalf("phase %s message %q, want Failed \"stopped\"", out.Status.Phase, out.Status.Message)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "got-term")); err != nil || strings.TrimSpace(string(b)) != "term" {
		t.Fatalf("the step did not get SIGTERM: %q %v", b, err)
	}
	if _, ok := out.Status.Nodes[out.NodeID("stop-me.after")]; ok {
		t.Fatal("a task started after the run was stopped")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("stopping took %s", d)
	}
}

// TestLightweightPythonWithoutKFP: a KFP lightweight Python component whose
// python3 has no kfp package fails saying exactly that.
func TestLightweightPythonWithoutKFP(t *testing.T) {
	t.Setenv("PIP_RETRIES", "0") // offline: let pip give up at once
	// The component's own command (pip install kfp, then kfp's executor).
	wf, logs := runWFWith(t, compileFile(t, corpus+"valid/critical/flip_coin.yaml", nil),
		local.Options{Home: t.TempDir(), PythonExecutor: launcher.PythonCommand})
	hasKFP := exec.Command("python3", "-c", "import kfp").Run() == nil
	flip := nodesByDisplay(wf)["flip-coin"]
	if hasKFP {
		if flip.Phase != wfv1.NodeSucceeded {
			t.Fatalf("python3 has kfp here, yet flip-coin %s: %s\n%s", flip.Phase, flip.Message, logs)
		}
		return
	}
	if wf.Status.Phase != wfv1.WorkflowFailed || !strings.Contains(flip.Message, "has no kfp package") {
		t.Fatalf("want a failure saying python3 has no kfp package, got %s: %q", flip.Phase, flip.Message)
	}
}
