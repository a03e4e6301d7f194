package apiserver

import (
	"encoding/json"
	"net/http"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/store"
)

// annotationV2 marks a KFP v2 pipeline's workflow: the UI reads it from a
// v1 run's workflow manifest to choose its v2 pages (and ML Metadata).
const annotationV2 = "pipelines.kubeflow.org/v2_pipeline"

// getRunV1 serves GET /apis/v1beta1/runs/{id}, which the UI's compare page
// and run details call: KFP's apiRunDetail, with the v2 spec as
// pipeline_spec.pipeline_manifest (how the UI tells a v2 run) and the
// workflow with its status as pipeline_runtime.workflow_manifest.
func (s *Server) getRunV1(r *http.Request) (any, error) {
	run, err := s.store.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	spec := run.PipelineSpec
	ps := map[string]any{}
	if run.PipelineVersionID != "" {
		v, err := s.store.GetVersion(r.Context(), run.PipelineVersionID)
		if err == nil {
			spec = v.Spec
		}
		ps["pipeline_id"] = run.PipelineID
		if p, err := s.store.GetPipeline(r.Context(), run.PipelineID); err == nil {
			ps["pipeline_name"] = p.DisplayName
		}
	}
	if spec != "" {
		if doc, err := specJSON(spec); err == nil {
			b, _ := json.Marshal(doc)
			ps["pipeline_manifest"] = string(b)
		}
	}
	if run.RuntimeConfig != "" {
		var rc any
		if json.Unmarshal([]byte(run.RuntimeConfig), &rc) == nil {
			ps["runtime_config"] = rc
		}
	}
	out := map[string]any{"id": run.ID, "name": run.DisplayName, "storage_state": "STORAGESTATE_" + run.StorageState,
		"pipeline_spec": ps, "resource_references": v1References(run), "created_at": timestamp(run.CreatedAt),
		"scheduled_at": timestamp(run.ScheduledAt), "finished_at": timestamp(run.FinishedAt), "status": v1Status(run.State)}
	if run.Description != "" {
		out["description"] = run.Description
	}
	if run.ServiceAccount != "" {
		out["service_account"] = run.ServiceAccount
	}
	if run.Error != "" {
		out["error"] = run.Error
	}
	detail := map[string]any{"run": out}
	if manifest := v1Manifest(run.Workflow); manifest != "" {
		detail["pipeline_runtime"] = map[string]any{"workflow_manifest": manifest}
	}
	return detail, nil
}

// v1References are a v1 run's resource references: its experiment (owner)
// and pipeline version (creator).
func v1References(run store.Run) []map[string]any {
	refs := []map[string]any{}
	if run.ExperimentID != "" {
		refs = append(refs, map[string]any{"key": map[string]any{"type": "EXPERIMENT", "id": run.ExperimentID}, "relationship": "OWNER"})
	}
	if run.PipelineVersionID != "" {
		refs = append(refs, map[string]any{"key": map[string]any{"type": "PIPELINE_VERSION", "id": run.PipelineVersionID}, "relationship": "CREATOR"})
	}
	return refs
}

// v1Status is a v1 run's status: the workflow phase KFP v1 reports.
func v1Status(state string) string {
	switch state {
	case "SUCCEEDED":
		return string(wfv1.WorkflowSucceeded)
	case "FAILED", "CANCELED":
		return string(wfv1.WorkflowFailed)
	case "RUNNING":
		return string(wfv1.WorkflowRunning)
	case "CANCELING":
		return "Terminating"
	}
	return string(wfv1.WorkflowPending)
}

// v1Manifest is the stored workflow as KFP's workflow_manifest, marked as
// a v2 pipeline's.
func v1Manifest(workflow string) string {
	var wf wfv1.Workflow
	if json.Unmarshal([]byte(workflow), &wf) != nil {
		return ""
	}
	if wf.Annotations == nil {
		wf.Annotations = map[string]string{}
	}
	wf.Annotations[annotationV2] = "true"
	b, _ := json.Marshal(&wf)
	return string(b)
}
