//go:build e2e

package argofake

import (
	"context"
	"os"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Against the e2e environment (e2e/cluster.sh up; KUBELINE_E2E_KUBECONFIG
// names its kubeconfig): a step's output parameter, reported by
// ReportOutputs, reaches the next step through the real controller. The
// pods go to kwok's fake nodes (node selector and toleration), not to the
// real node.
func TestOutputsThroughController(t *testing.T) {
	path := os.Getenv("KUBELINE_E2E_KUBECONFIG")
	if path == "" {
		t.Fatal("KUBELINE_E2E_KUBECONFIG is not set: start the e2e environment with e2e/cluster.sh up")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	kube := kubernetes.NewForConfigOrDie(cfg)
	argo := versioned.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := "default"
	c := func(args ...string) *corev1.Container {
		return &corev1.Container{Image: "alpine:3.20", Command: args}
	}
	wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{GenerateName: "argofake-"}, Spec: wfv1.WorkflowSpec{
		Entrypoint:   "main",
		NodeSelector: map[string]string{"type": "kwok"},
		Tolerations:  []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
		Templates: []wfv1.Template{
			{Name: "main", DAG: &wfv1.DAGTemplate{Tasks: []wfv1.DAGTask{
				{Name: "produce", Template: "produce"},
				{Name: "consume", Template: "consume", Dependencies: []string{"produce"},
					Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{{Name: "num", Value: wfv1.AnyStringPtr("{{tasks.produce.outputs.parameters.num}}")}}}},
			}}},
			{Name: "produce", Container: c("sh", "-c", "echo 42 > /tmp/num"),
				Metadata: wfv1.Metadata{Annotations: map[string]string{AnnotationOutputs: `{"num": "42"}`}},
				Outputs:  wfv1.Outputs{Parameters: []wfv1.Parameter{{Name: "num", ValueFrom: &wfv1.ValueFrom{Path: "/tmp/num"}}}}},
			{Name: "consume", Inputs: wfv1.Inputs{Parameters: []wfv1.Parameter{{Name: "num"}}}, Container: c("echo", "{{inputs.parameters.num}}")},
		},
	}}
	created, err := argo.ArgoprojV1alpha1().Workflows(ns).Create(ctx, wf, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := ReportOutputs(ctx, kube, argo, ns, created.Name, nil); err != nil {
			t.Fatal(err)
		}
		w, err := argo.ArgoprojV1alpha1().Workflows(ns).Get(ctx, created.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if w.Status.Phase.Completed() {
			if w.Status.Phase != wfv1.WorkflowSucceeded {
				t.Fatalf("phase %s: %s", w.Status.Phase, w.Status.Message)
			}
			for _, n := range w.Status.Nodes {
				if n.DisplayName == "consume" && (n.Inputs == nil || len(n.Inputs.Parameters) != 1 || n.Inputs.Parameters[0].Value.String() != "42") {
					t.Fatalf("consume's inputs %+v", n.Inputs)
				}
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("not done: phase %s", w.Status.Phase)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
