package apiserver

import (
	"cmp"
	"context"
	"encoding/json"
	"sort"
	"strconv"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/mlmd"
	"github.com/kubeline/kubeline/runtime/store"
)

// runGraph is a run's workflow and its ML Metadata graph (without the
// spec's exit task names, which task details do not show).
func (s *Server) runGraph(r store.Run) (*wfv1.Workflow, mlmd.Graph) {
	var wf wfv1.Workflow
	_ = json.Unmarshal([]byte(r.Workflow), &wf)
	g := mlmd.Build(mlmd.Run{ID: r.ID, DisplayName: r.DisplayName, Namespace: r.Namespace, CreatedAt: r.CreatedAt, Workflow: &wf,
		PodName: podName}, s.mlmdURI)
	return &wf, g
}

func podName(wf *wfv1.Workflow, n wfv1.NodeStatus) string {
	return engine.PodName(wf.Name, n.Name, n.TemplateName)
}

func graphKeys(g mlmd.Graph) []string {
	keys := []string{mlmd.ContextKey}
	for _, e := range g.Executions {
		keys = append(keys, e.Key)
	}
	for _, a := range g.Artifacts {
		keys = append(keys, a.Key)
	}
	return keys
}

// runView renders a run with its task details, giving its tasks their ML
// Metadata ids (execution_id, artifact ids) first.
func (s *Server) runView(ctx context.Context, r store.Run) (map[string]any, error) {
	wf, g := s.runGraph(r)
	ids, err := s.store.MLMDIDs(ctx, r.ID, graphKeys(g))
	if err != nil {
		return nil, err
	}
	return runJSON(r, taskDetails(r, wf, g, ids)), nil
}

// runViews renders a page of runs with the ids their tasks have already
// (one query); a task seen for the first time shows without them.
func (s *Server) runViews(ctx context.Context, runs []store.Run) ([]map[string]any, error) {
	scopes := make([]string, len(runs))
	for i, r := range runs {
		scopes[i] = r.ID
	}
	ids, err := s.store.MLMDIDsIn(ctx, scopes)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(runs))
	for i, r := range runs {
		wf, g := s.runGraph(r)
		out[i] = runJSON(r, taskDetails(r, wf, g, ids[r.ID]))
	}
	return out, nil
}

// taskDetails renders the workflow's status graph as KFP's task details:
// one per node, with the run's id, the pod of a step, the execution and
// artifact ids ML Metadata shows for it, inputs and outputs as artifact
// lists by name.
func taskDetails(r store.Run, wf *wfv1.Workflow, g mlmd.Graph, ids map[string]int64) []map[string]any {
	type io struct{ in, out map[string][]string }
	events := map[string]*io{}
	for _, ev := range g.Events {
		id, ok := ids[ev.ArtifactKey]
		if !ok {
			continue
		}
		e := events[ev.ExecutionKey]
		if e == nil {
			e = &io{in: map[string][]string{}, out: map[string][]string{}}
			events[ev.ExecutionKey] = e
		}
		side := e.out
		if ev.Type.String() == "INPUT" {
			side = e.in
		}
		side[ev.Name] = append(side[ev.Name], strconv.FormatInt(id, 10))
	}
	lists := func(m map[string][]string) map[string]any {
		out := map[string]any{}
		for name, l := range m {
			out[name] = map[string]any{"artifact_ids": l}
		}
		return out
	}
	names := map[string]string{} // node -> the KFP task it runs
	for _, e := range g.Executions {
		if e.ParentKey != "" && e.DisplayName != "" {
			names[e.Node] = e.DisplayName
		}
	}
	out := []map[string]any{}
	for id, n := range wf.Status.Nodes {
		t := map[string]any{"task_id": id, "display_name": cmp.Or(names[id], n.DisplayName), "run_id": r.ID,
			"create_time": timestamp(n.StartedAt.Time), "start_time": timestamp(n.StartedAt.Time),
			"end_time": timestamp(n.FinishedAt.Time), "state": nodeState(n.Phase)}
		if n.Type == wfv1.NodeTypePod {
			t["pod_name"] = podName(wf, n)
		}
		if n.BoundaryID != "" {
			t["parent_task_id"] = n.BoundaryID
		}
		if (n.Phase == wfv1.NodeFailed || n.Phase == wfv1.NodeError) && n.Message != "" {
			t["error"] = map[string]any{"code": 2, "message": n.Message}
		}
		key := "exec/" + id
		if eid, ok := ids[key]; ok {
			t["execution_id"] = strconv.FormatInt(eid, 10)
		}
		if e := events[key]; e != nil {
			if len(e.in) > 0 {
				t["inputs"] = lists(e.in)
			}
			if len(e.out) > 0 {
				t["outputs"] = lists(e.out)
			}
		}
		var kids []map[string]any
		for _, c := range n.Children {
			kid := map[string]any{"task_id": c}
			if cn, ok := wf.Status.Nodes[c]; ok && cn.Type == wfv1.NodeTypePod {
				kid["pod_name"] = podName(wf, cn)
			}
			kids = append(kids, kid)
		}
		if len(kids) > 0 {
			t["child_tasks"] = kids
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i]["start_time"].(string)+out[i]["task_id"].(string) < out[j]["start_time"].(string)+out[j]["task_id"].(string)
	})
	return out
}
