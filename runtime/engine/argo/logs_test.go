package argo

import (
	"context"
	"errors"
	"io"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	argofake "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"

	kengine "github.com/kubeline/kubeline/runtime/engine"
)

// TestNormaliseDropsArchivedLogs: the logs Argo's executor archives
// (archiveLogs) are not the steps' outputs, as on the embedded engine; a
// declared output that looks like one stays, and the caller's workflow is
// not changed.
func TestNormaliseDropsArchivedLogs(t *testing.T) {
	s3 := func(key string) wfv1.ArtifactLocation {
		return wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: key}}
	}
	wf := &wfv1.Workflow{
		Spec: wfv1.WorkflowSpec{Templates: []wfv1.Template{
			{Name: "train", Outputs: wfv1.Outputs{Artifacts: []wfv1.Artifact{{Name: "model"}}}},
			{Name: "declares", Outputs: wfv1.Outputs{Artifacts: []wfv1.Artifact{{Name: "main-logs"}}}},
		}},
		Status: wfv1.WorkflowStatus{Phase: wfv1.WorkflowSucceeded, Nodes: wfv1.Nodes{
			"a": {Type: wfv1.NodeTypePod, TemplateName: "train", Outputs: &wfv1.Outputs{Artifacts: []wfv1.Artifact{
				{Name: "model", ArtifactLocation: s3("kubeline/w/w-train-1/model")},
				{Name: "main-logs", ArtifactLocation: s3("kubeline/w/w-train-1/main.log")},
			}}},
			"b": {Type: wfv1.NodeTypePod, TemplateName: "say", Outputs: &wfv1.Outputs{Artifacts: []wfv1.Artifact{
				{Name: "main-logs", ArtifactLocation: s3("kubeline/w/w-say-2/main.log")},
			}}},
			"c": {Type: wfv1.NodeTypePod, TemplateName: "declares", Outputs: &wfv1.Outputs{Artifacts: []wfv1.Artifact{
				{Name: "main-logs", ArtifactLocation: s3("kubeline/w/w-declares-3/main.log")},
			}}},
			"d": {Type: wfv1.NodeTypePod, TemplateName: "say", Outputs: &wfv1.Outputs{Artifacts: []wfv1.Artifact{
				{Name: "x-logs", ArtifactLocation: s3("kubeline/w/w-say-4/x-logs")},
			}}},
		}},
	}
	got := normalise(wf)
	names := map[string][]string{}
	for id, n := range got.Status.Nodes {
		names[id] = []string{}
		if n.Outputs != nil {
			for _, a := range n.Outputs.Artifacts {
				names[id] = append(names[id], a.Name)
			}
		}
	}
	want := map[string][]string{"a": {"model"}, "b": {}, "c": {"main-logs"}, "d": {"x-logs"}}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("outputs after normalise (-want +got):\n%s", d)
	}
	if len(wf.Status.Nodes["a"].Outputs.Artifacts) != 2 {
		t.Error("normalise changed the caller's workflow")
	}
	if same := normalise(got); same != got {
		t.Error("a workflow with nothing to normalise was copied")
	}
}

// TestPodLog: the log of a pod of the workflow is read from the pod; a pod
// of another workflow, or none, is refused.
func TestPodLog(t *testing.T) {
	pod := func(name, wf string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{labelWorkflow: wf}}}
	}
	e := &Engine{wf: argofake.NewSimpleClientset(), namespace: "ns",
		kube: kubefake.NewSimpleClientset(pod("run-a-say-1", "run-a"), pod("run-b-say-2", "run-b"))}
	ctx := context.Background()
	rc, err := e.PodLog(ctx, "run-a", "run-a-say-1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "fake logs" { // what client-go's fake answers for pods/log
		t.Errorf("log %q", b)
	}
	if _, err := e.PodLog(ctx, "run-a", "run-b-say-2"); !errors.Is(err, errNoStep) {
		t.Errorf("another workflow's pod: %v, want %v", err, errNoStep)
	}
	if _, err := e.PodLog(ctx, "run-a", "run-a-say-9"); err == nil {
		t.Error("a pod that does not exist gave a log")
	}
}

// TestPodName: Argo's v2 pod names (workflow/util.GeneratePodName: the
// prefix cut to 242 characters), and v1's node ids.
func TestPodName(t *testing.T) {
	long := "component-with-a-long-name-0123456789012345678901234567890123456789-"
	wf := &wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "run-1"}}
	n := wfv1.NodeStatus{ID: "run-1-99", Name: "run-1.root.train", TemplateName: "system-container-impl-" + long + long}
	if got, want := podName(wf, n), kengine.PodName("run-1", n.Name, n.TemplateName); got != want || len(got) <= 73 {
		t.Errorf("v2 pod name %q, want %q (longer than 73: the prefix is cut at 242, not 62)", got, want)
	}
	wf.Annotations = map[string]string{"workflows.argoproj.io/pod-name-format": "v1"}
	if got := podName(wf, n); got != "run-1-99" {
		t.Errorf("v1 pod name %q, want the node id", got)
	}
}
