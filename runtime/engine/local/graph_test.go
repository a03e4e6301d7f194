package local_test

import (
	"sort"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// checkGraph checks that a finished workflow's status graph matches what the
// workflow declares, with Argo's rules: node ids and names, one node per DAG
// task with the right type and boundary, root tasks under their DAG node,
// other tasks under their dependencies' outbound nodes, and each DAG's
// outbound nodes.
func checkGraph(t *testing.T, wf *wfv1.Workflow) {
	t.Helper()
	nodes := wf.Status.Nodes
	byName := map[string]wfv1.NodeStatus{}
	for id, n := range nodes {
		if id != wf.NodeID(n.Name) || n.ID != id {
			t.Errorf("node %s: id %s, want %s", n.Name, id, wf.NodeID(n.Name))
		}
		byName[n.Name] = n
		for _, c := range n.Children {
			if _, ok := nodes[c]; !ok {
				t.Errorf("node %s: child %s does not exist", n.Name, c)
			}
		}
		if n.Name != wf.Name && n.Name != wf.Name+".onExit" { // the workflow and its exit handler have no boundary
			if _, ok := nodes[n.BoundaryID]; !ok {
				t.Errorf("node %s: boundary %q does not exist", n.Name, n.BoundaryID)
			}
		}
		if !n.Phase.Fulfilled(nil) {
			t.Errorf("node %s is still %s", n.Name, n.Phase)
		}
	}
	root, ok := nodes[wf.Name]
	if !ok || root.Type != wfv1.NodeTypeDAG || root.TemplateName != wf.Spec.Entrypoint {
		t.Fatalf("root node %+v", root)
	}
	for _, n := range nodes {
		if n.Type == wfv1.NodeTypeDAG {
			checkDAG(t, wf, n, byName)
		}
	}
}

func checkDAG(t *testing.T, wf *wfv1.Workflow, dagNode wfv1.NodeStatus, byName map[string]wfv1.NodeStatus) {
	t.Helper()
	tmpl := wf.GetTemplateByName(dagNode.TemplateName)
	if tmpl == nil || tmpl.DAG == nil {
		t.Errorf("DAG node %s: template %q is not a DAG", dagNode.Name, dagNode.TemplateName)
		return
	}
	used := map[string]bool{}
	for _, task := range tmpl.DAG.Tasks {
		for _, d := range taskDeps(task) {
			used[d] = true
		}
	}
	var targets []string
	for _, task := range tmpl.DAG.Tasks {
		n, ok := byName[dagNode.Name+"."+task.Name]
		if !ok {
			t.Errorf("DAG %s: no node for task %s", dagNode.Name, task.Name)
			continue
		}
		if !used[task.Name] {
			targets = append(targets, task.Name)
		}
		if n.BoundaryID != dagNode.ID {
			t.Errorf("task %s: boundary %s, want %s", n.Name, n.BoundaryID, dagNode.ID)
		}
		if want := expectedType(wf, task, n); n.Type != want {
			t.Errorf("task %s: type %s, want %s", n.Name, n.Type, want)
		}
		deps := taskDeps(task)
		if len(deps) == 0 && !contains(dagNode.Children, n.ID) {
			t.Errorf("root task %s is not a child of its DAG node %s", n.Name, dagNode.Name)
		}
		for _, d := range deps {
			dn := byName[dagNode.Name+"."+d]
			for _, o := range outbound(wf, dn.ID) {
				if !contains(wf.Status.Nodes[o].Children, n.ID) {
					t.Errorf("task %s is not a child of %s, an outbound node of its dependency %s", n.Name, wf.Status.Nodes[o].Name, d)
				}
			}
		}
	}
	sort.Strings(targets)
	var want []string
	for _, tn := range targets {
		want = append(want, outbound(wf, byName[dagNode.Name+"."+tn].ID)...)
	}
	if strings.Join(want, ",") != strings.Join(dagNode.OutboundNodes, ",") {
		t.Errorf("DAG %s: outboundNodes %v, want %v", dagNode.Name, dagNode.OutboundNodes, want)
	}
}

func taskDeps(task wfv1.DAGTask) []string {
	if len(task.Dependencies) > 0 {
		return task.Dependencies
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.FieldsFunc(task.Depends, func(r rune) bool { return strings.ContainsRune("()&|! ", r) }) {
		name, _, _ := strings.Cut(f, ".")
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

func expectedType(wf *wfv1.Workflow, task wfv1.DAGTask, n wfv1.NodeStatus) wfv1.NodeType {
	if n.Phase == wfv1.NodeSkipped || n.Phase == wfv1.NodeOmitted {
		return wfv1.NodeTypeSkipped
	}
	if len(task.WithItems) > 0 || task.WithParam != "" || task.WithSequence != nil {
		return wfv1.NodeTypeTaskGroup
	}
	tmpl := wf.GetTemplateByName(task.Template)
	switch {
	case tmpl.RetryStrategy != nil:
		return wfv1.NodeTypeRetry
	case tmpl.DAG != nil:
		return wfv1.NodeTypeDAG
	}
	return wfv1.NodeTypePod
}

// outbound is Argo's getOutboundNodes, computed from the finished graph.
func outbound(wf *wfv1.Workflow, id string) []string {
	n := wf.Status.Nodes[id]
	switch n.Type {
	case wfv1.NodeTypeDAG:
		var out []string
		for _, o := range n.OutboundNodes {
			out = append(out, outbound(wf, o)...)
		}
		return out
	case wfv1.NodeTypeTaskGroup:
		if len(n.Children) == 0 {
			return []string{id}
		}
		var out []string
		for _, c := range n.Children {
			out = append(out, outbound(wf, c)...)
		}
		return out
	case wfv1.NodeTypeRetry:
		return []string{n.Children[len(n.Children)-1]}
	}
	return []string{id}
}
