//go:build e2e

package argo

import (
	"os"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeline/kubeline/compiler"
)

// TestNonRootStep runs examples/hello-params on the real node with every
// step's container as user 1000 (not root, not the kubeline image's
// 65532): the launcher writes its outputs under /kubeline/out, which only
// root could create before it became a volume of its own; the run ends
// with the same outputs as the embedded engine's.
func TestNonRootStep(t *testing.T) {
	t.Parallel()
	holdNodeSlot(t)
	c := newRealCluster(t, "nonroot")
	data, err := os.ReadFile("../../../examples/hello-params/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := compiler.Compile("pipeline.yaml", data, compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wf.Name, wf.GenerateName = dnsName("nonroot-hello", time.Now().UnixNano()%1e6), ""
	user := int64(1000)
	steps := 0
	for i := range wf.Spec.Templates {
		if ctr := wf.Spec.Templates[i].Container; ctr != nil {
			ctr.SecurityContext = &corev1.SecurityContext{RunAsUser: &user, RunAsGroup: &user, RunAsNonRoot: ptrTo(true)}
			steps++
		}
	}
	if steps == 0 {
		t.Fatal("no container step to run as user 1000")
	}
	got := c.run(t, wf, 5*time.Minute)
	if got.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("as user 1000: %s %q\n%s", got.Status.Phase, got.Status.Message, c.Pods(got.Name))
	}
	outputs := 0
	for _, n := range got.Status.Nodes {
		if n.Type == wfv1.NodeTypePod && n.Outputs != nil {
			outputs += len(n.Outputs.Parameters)
		}
	}
	if outputs == 0 {
		t.Errorf("no step reported an output parameter: %v", nodePhases(got))
	}
}

func ptrTo[T any](v T) *T { return &v }
