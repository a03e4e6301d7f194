package apiserver

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// AnnotationRunID marks a submitted workflow with its run.
const AnnotationRunID = "kubeline.io/run-id"

// reportWorkflow is KFP's ReportService: an agent watching Argo reports a
// workflow's status; the run it belongs to (by annotation) is updated.
func (s *Server) reportWorkflow(r *http.Request) (any, error) {
	var body struct {
		Workflow string `json:"workflow"`
	}
	if err := decode(r, &body); err != nil {
		return nil, err
	}
	var wf wfv1.Workflow
	if err := json.Unmarshal([]byte(body.Workflow), &wf); err != nil {
		return nil, badRequest("workflow: not a Workflow: %v", err)
	}
	id := wf.Annotations[AnnotationRunID]
	if id == "" {
		return nil, badRequest("workflow %s has no %s annotation: kubeline did not submit it", wf.Name, AnnotationRunID)
	}
	finished := time.Time{}
	if wf.Status.Phase.Completed() {
		finished = wf.Status.FinishedAt.Time
	}
	if err := s.store.UpdateRun(r.Context(), id, RunState(&wf), wf.Status.Message, body.Workflow, finished); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

// readArtifact serves GET /runs/{id}/nodes/{node}/artifacts/{name}:read: the
// artifact's bytes, base64-encoded.
func (s *Server) readArtifact(r *http.Request) (any, error) {
	name, ok := strings.CutSuffix(r.PathValue("artifact"), ":read")
	if !ok {
		return nil, notFoundErr("no such endpoint: %s", r.URL.Path)
	}
	run, err := s.store.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	var wf wfv1.Workflow
	if err := json.Unmarshal([]byte(run.Workflow), &wf); err != nil {
		return nil, notFoundErr("run %s has no status yet", run.ID)
	}
	node, ok := wf.Status.Nodes[r.PathValue("node")]
	if !ok {
		return nil, notFoundErr("run %s has no node %s", run.ID, r.PathValue("node"))
	}
	if node.Outputs != nil {
		for _, a := range node.Outputs.Artifacts {
			if a.Name != name || a.S3 == nil {
				continue
			}
			if s.artifacts == nil {
				return nil, notFoundErr("this server has no artifact store")
			}
			data, err := s.artifacts(r.Context(), a.S3.Key)
			if err != nil {
				return nil, notFoundErr("artifact %s: %v", name, err)
			}
			return map[string]any{"data": base64.StdEncoding.EncodeToString(data)}, nil
		}
	}
	return nil, notFoundErr("node %s has no artifact %s", r.PathValue("node"), name)
}
