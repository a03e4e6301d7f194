package mlmd

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	mlpb "github.com/kubeflow/pipelines/third_party/ml-metadata/go/ml_metadata"
)

func node(id, name, display string, typ wfv1.NodeType, phase wfv1.NodePhase, boundary, tmpl string, children ...string) wfv1.NodeStatus {
	return wfv1.NodeStatus{ID: id, Name: name, DisplayName: display, Type: typ, Phase: phase, BoundaryID: boundary,
		TemplateName: tmpl, Children: children}
}

func withTask(n wfv1.NodeStatus, task string) wfv1.NodeStatus {
	n.Inputs = &wfv1.Inputs{Parameters: []wfv1.Parameter{{Name: "kubeline-task", Value: wfv1.AnyStringPtr(task)}}}
	return n
}

// TestBuildShapes: the Argo shapes that are not one node per KFP task map
// onto KFP's executions: a loop's parallelism wrapper is left out (the
// TaskGroup is the loop, its DAG children the iterations), a retried step
// is its Retry node (attempts left out, the pod the newest attempt's), an
// exit hook is the spec's exit task under the handler's parent, and
// kubeline's own steps (no kubeline-task) are no tasks.
func TestBuildShapes(t *testing.T) {
	s, f, sk := wfv1.NodeSucceeded, wfv1.NodeFailed, wfv1.NodeSkipped
	nodes := []wfv1.NodeStatus{
		node("wf", "wf", "wf", wfv1.NodeTypeDAG, f, "", "root"),
		node("h", "wf.exit-handler-1", "exit-handler-1", wfv1.NodeTypeDAG, f, "wf", "exit-handler-1"),
		withTask(node("b", "wf.exit-handler-1.body", "body", wfv1.NodeTypePod, f, "h", "body"), "body"),
		node("x", "wf.exit-handler-1.onExit", "exit-handler-1.onExit", wfv1.NodeTypeDAG, s, "wf", "notify"),
		withTask(node("xs", "wf.exit-handler-1.onExit.send", "send", wfv1.NodeTypePod, s, "x", "send"), "send"),
		node("w", "wf.for-loop-1", "for-loop-1", wfv1.NodeTypeDAG, s, "wf", "for-loop-1-parallel-2", "tg"),
		node("tg", "wf.for-loop-1.for-loop-1", "for-loop-1", wfv1.NodeTypeTaskGroup, s, "w", "for-loop-1", "i0", "i1"),
		node("i0", "wf.for-loop-1.for-loop-1(0:a)", "for-loop-1(0:a)", wfv1.NodeTypeDAG, s, "w", "for-loop-1"),
		node("i1", "wf.for-loop-1.for-loop-1(1:b)", "for-loop-1(1:b)", wfv1.NodeTypeDAG, s, "w", "for-loop-1"),
		withTask(node("p1", "wf.for-loop-1.for-loop-1(1:b).print", "print", wfv1.NodeTypePod, s, "i1", "print"), "print"),
		node("r", "wf.flaky", "flaky", wfv1.NodeTypeRetry, s, "wf", "flaky", "r0", "r1"),
		withTask(node("r0", "wf.flaky(0)", "flaky(0)", wfv1.NodeTypePod, f, "wf", "flaky"), "flaky"),
		withTask(node("r1", "wf.flaky(1)", "flaky(1)", wfv1.NodeTypePod, s, "wf", "flaky"), "flaky"),
		node("c", "wf.check", "check", wfv1.NodeTypePod, s, "wf", "condition-check"),
		node("k", "wf.skipped", "skipped", wfv1.NodeTypeSkipped, sk, "wf", "skipped"),
	}
	wf := &wfv1.Workflow{}
	wf.Name = "wf"
	wf.Status.Nodes = wfv1.Nodes{}
	for _, n := range nodes {
		wf.Status.Nodes[n.ID] = n
	}
	spec := map[string]any{"root": map[string]any{"dag": map[string]any{"tasks": map[string]any{
		"cleanup": map[string]any{"dependentTasks": []any{"exit-handler-1"}, "triggerPolicy": map[string]any{"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}},
	}}}}
	g := Build(Run{ID: "run-1", PipelineName: "p", Workflow: wf, Spec: spec,
		PodName: func(_ *wfv1.Workflow, n wfv1.NodeStatus) string { return "pod-of-" + n.ID }}, nil)
	type row struct {
		Task, Parent, Type, Pod string
		State                   mlpb.Execution_State
		Index, Count            int64
	}
	got := map[string]row{}
	for _, e := range g.Executions {
		r := row{Task: e.TaskName, Parent: e.ParentKey, Type: e.Type, Pod: e.PodName, State: e.State}
		if e.Iteration != nil {
			r.Index = *e.Iteration
		}
		if e.Iterations != nil {
			r.Count = *e.Iterations
		}
		got[e.Node] = r
	}
	dag, ctr := TypeDAG, TypeContainer
	want := map[string]row{
		"wf": {Task: "", Type: dag, State: mlpb.Execution_FAILED},
		"h":  {Task: "exit-handler-1", Parent: "exec/wf", Type: dag, State: mlpb.Execution_FAILED},
		"b":  {Task: "body", Parent: "exec/h", Type: ctr, Pod: "pod-of-b", State: mlpb.Execution_FAILED},
		"x":  {Task: "cleanup", Parent: "exec/wf", Type: dag, State: mlpb.Execution_COMPLETE},
		"xs": {Task: "send", Parent: "exec/x", Type: ctr, Pod: "pod-of-xs", State: mlpb.Execution_COMPLETE},
		"tg": {Task: "for-loop-1", Parent: "exec/wf", Type: dag, State: mlpb.Execution_COMPLETE, Count: 2},
		"i0": {Task: "for-loop-1", Parent: "exec/tg", Type: dag, State: mlpb.Execution_COMPLETE, Index: 0},
		"i1": {Task: "for-loop-1", Parent: "exec/tg", Type: dag, State: mlpb.Execution_COMPLETE, Index: 1},
		"p1": {Task: "print", Parent: "exec/i1", Type: ctr, Pod: "pod-of-p1", State: mlpb.Execution_COMPLETE},
		"r":  {Task: "flaky", Parent: "exec/wf", Type: ctr, Pod: "pod-of-r1", State: mlpb.Execution_COMPLETE},
		"k":  {Task: "skipped", Parent: "exec/wf", Type: ctr, State: mlpb.Execution_CANCELED},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("executions by node (-want +got):\n%s", diff)
	}
	logs := 0
	for _, a := range g.Artifacts {
		if a.DisplayName == LogsArtifact {
			logs++
		}
	}
	if logs != 4 { // the finished steps body, send, print and flaky (its newest attempt); none for the skipped one
		t.Errorf("%d executor-logs artifacts, want 4", logs)
	}
}
