package engine

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

func TestFailedSteps(t *testing.T) {
	wf := &wfv1.Workflow{Status: wfv1.WorkflowStatus{Nodes: wfv1.Nodes{
		"1": {DisplayName: "w", Type: wfv1.NodeTypeDAG, Phase: wfv1.NodeFailed, Message: "child failed"},
		"2": {DisplayName: "train", Type: wfv1.NodeTypePod, Phase: wfv1.NodeFailed, Message: "exit code 1"},
		"3": {DisplayName: "fetch", Type: wfv1.NodeTypePod, Phase: wfv1.NodeError, Message: "upload failed"},
		"4": {DisplayName: "ok", Type: wfv1.NodeTypePod, Phase: wfv1.NodeSucceeded, Message: "done"},
		"5": {DisplayName: "quiet", Type: wfv1.NodeTypePod, Phase: wfv1.NodeFailed},
	}}}
	if got, want := FailedSteps(wf), "fetch: upload failed; train: exit code 1"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := FailedSteps(&wfv1.Workflow{}); got != "" {
		t.Fatalf("no steps: %q", got)
	}
}
