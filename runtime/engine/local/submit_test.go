package local_test

import (
	"context"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/runtime/engine/local"
)

func TestRunnerSubmitWatchStop(t *testing.T) {
	r := local.NewRunner(local.Options{Home: t.TempDir(), StopGrace: time.Second})
	ctx := context.Background()
	quick := trueWorkflow(3, true)
	name, err := r.Submit(ctx, quick)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := r.Watch(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var last *wfv1.Workflow
	for wf := range ch {
		last = wf
	}
	if last == nil || last.Status.Phase != wfv1.WorkflowSucceeded || len(last.Status.Nodes) != 4 {
		t.Fatalf("last snapshot %+v", last)
	}

	slow := &wfv1.Workflow{}
	if err := yaml.UnmarshalStrict([]byte(`
metadata: {name: slow}
spec:
  entrypoint: s
  templates:
  - name: s
    container: {image: alpine, command: [sleep, "30"]}
`), slow); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Submit(ctx, slow); err != nil {
		t.Fatal(err)
	}
	ch, _ = r.Watch(ctx, "slow")
	time.Sleep(200 * time.Millisecond)
	if err := r.Stop(ctx, "slow"); err != nil {
		t.Fatal(err)
	}
	for wf := range ch {
		last = wf
	}
	if last.Status.Phase != wfv1.WorkflowFailed || last.Status.Message != "stopped" {
		t.Fatalf("stopped run: %s %q", last.Status.Phase, last.Status.Message)
	}
	if _, err := r.Watch(ctx, "nope"); err == nil {
		t.Fatal("watching an unknown run is not an error")
	}
}
