package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// versionRef is KFP's pipeline_version_reference: a version, or only a
// pipeline meaning its latest version.
type versionRef struct {
	PipelineID        string `json:"pipeline_id"`
	PipelineVersionID string `json:"pipeline_version_id"`
}

type runBody struct {
	RunID                    string          `json:"run_id"`
	ExperimentID             string          `json:"experiment_id"`
	DisplayName              string          `json:"display_name"`
	Description              string          `json:"description"`
	ServiceAccount           string          `json:"service_account"`
	PipelineVersionReference *versionRef     `json:"pipeline_version_reference"`
	PipelineSpec             json.RawMessage `json:"pipeline_spec"`
	RuntimeConfig            *struct {
		Parameters   map[string]any `json:"parameters"`
		PipelineRoot string         `json:"pipeline_root"`
	} `json:"runtime_config"`
	RecurringRunID string `json:"recurring_run_id"`
	// StartAnyway and MultiNode are kubeline's additions to KFP's run body
	// (also accepted as ?start_anyway=true and ?multi_node=true): start at
	// once whatever the pool has free; spread one step's GPUs over nodes.
	StartAnyway bool `json:"start_anyway"`
	MultiNode   bool `json:"multi_node"`
	// storedSpec is a stored pipeline file to run (a recurring run's
	// inline spec), never read from a request.
	storedSpec string
}

// RunState is the KFP run state of a workflow (a stopped one is CANCELED).
func RunState(wf *wfv1.Workflow) string {
	switch wf.Status.Phase {
	case wfv1.WorkflowSucceeded:
		return "SUCCEEDED"
	case wfv1.WorkflowFailed, wfv1.WorkflowError:
		if wf.Status.Message == "stopped" {
			return "CANCELED"
		}
		return "FAILED"
	case wfv1.WorkflowRunning:
		return "RUNNING"
	}
	return "PENDING"
}

func (s *Server) createRun(r *http.Request) (any, error) {
	var b runBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	for field, v := range map[string]*bool{"start_anyway": &b.StartAnyway, "multi_node": &b.MultiNode} {
		switch q := r.URL.Query().Get(field); q {
		case "":
		case "true", "false":
			*v = *v || q == "true"
		default:
			return nil, badRequest("%s: want true or false, got %q", field, q)
		}
	}
	return s.createRunFrom(r.Context(), b, time.Time{})
}

// createRunFrom creates and starts a run; scheduledAt is set for the runs
// of a recurring run.
func (s *Server) createRunFrom(ctx context.Context, b runBody, scheduledAt time.Time) (any, error) {
	if b.DisplayName == "" {
		return nil, badRequest("run.display_name is required")
	}
	if err := checkName("run.display_name", b.DisplayName); err != nil {
		return nil, err
	}
	run := &store.Run{DisplayName: b.DisplayName, Description: b.Description, ExperimentID: b.ExperimentID,
		ServiceAccount: b.ServiceAccount, RecurringRunID: b.RecurringRunID, ScheduledAt: scheduledAt}
	owner, err := s.runGroup(ctx, run, s.pipelineGroup(ctx, b.PipelineVersionReference))
	if err != nil {
		return nil, err
	}
	spec, err := s.runSpec(ctx, &b, run)
	if err != nil {
		return nil, err
	}
	var given map[string]any
	outputs := map[string]string{}
	if b.RuntimeConfig != nil {
		given = b.RuntimeConfig.Parameters
		for k, v := range given {
			if o, ok := strings.CutPrefix(k, VersionParamPrefix); ok {
				outputs[o] = paramString(v)
			}
		}
		rc, _ := json.Marshal(b.RuntimeConfig)
		run.RuntimeConfig = string(rc)
	}
	wf, err := s.compileRun(ctx, "run", run.Namespace, spec, given)
	if err != nil {
		return nil, err
	}
	if err := s.checkBuild("run", wf); err != nil {
		return nil, err
	}
	if err := versioning.CheckOutputs(wf, outputs); err != nil {
		return nil, badRequest("run.runtime_config.parameters[%s...]: %v", VersionParamPrefix, err)
	}
	markGroup(wf, run.Namespace)
	if s.versions != nil {
		if err := s.versions.Resolve(s.scope(ctx, run.Namespace, owner), wf); err != nil {
			return nil, badRequest("run.runtime_config.parameters: %v", err)
		}
	}
	wfJSON, _ := json.Marshal(wf)
	run.Workflow = string(wfJSON)
	run.ID = s.newRunID()
	if err := s.store.CreateRun(ctx, run); err != nil {
		return nil, err
	}
	if err := s.markExperiment(ctx, run.ID, wf); err != nil { // hpoview.go
		return nil, err
	}
	if err := s.submit(ctx, *run, wf, owner, b.StartAnyway, b.MultiNode); err != nil {
		return nil, err
	}
	got, err := s.store.GetRun(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	return s.runView(ctx, got)
}

// runSpec finds the pipeline file a run executes: a version (only the
// pipeline id means its latest version) of a pipeline of the run's group,
// or an inline spec.
func (s *Server) runSpec(ctx context.Context, b *runBody, run *store.Run) (string, error) {
	switch {
	case b.storedSpec != "":
		run.PipelineSpec = b.storedSpec
		return b.storedSpec, nil
	case b.PipelineVersionReference != nil && hasSpec(b.PipelineSpec):
		return "", badRequest("give pipeline_version_reference or pipeline_spec, not both")
	case b.PipelineVersionReference != nil:
		ref := b.PipelineVersionReference
		var v store.PipelineVersion
		var err error
		if ref.PipelineVersionID != "" {
			v, err = s.store.GetVersion(ctx, ref.PipelineVersionID)
			if err == nil && s.inGroup(ctx, "pipeline", v.PipelineID, run.Namespace) != nil {
				err = hidden("version", ref.PipelineVersionID)
			}
		} else if ref.PipelineID != "" {
			if err = s.inGroup(ctx, "pipeline", ref.PipelineID, run.Namespace); err == nil {
				v, err = s.store.LatestVersion(ctx, ref.PipelineID)
			}
		} else {
			return "", badRequest("pipeline_version_reference needs pipeline_id or pipeline_version_id")
		}
		if err != nil {
			return "", err
		}
		run.PipelineID, run.PipelineVersionID = v.PipelineID, v.ID
		return v.Spec, nil
	case hasSpec(b.PipelineSpec):
		spec, err := specText("run.pipeline_spec", b.PipelineSpec)
		run.PipelineSpec = spec
		return spec, err
	}
	return "", badRequest("run needs pipeline_version_reference or pipeline_spec")
}

// compileRun compiles a run's pipeline file with its parameters (kubeline's
// version parameters left out) and its group's image catalog; what (run,
// recurring_run) prefixes errors.
func (s *Server) compileRun(ctx context.Context, what, group, spec string, given map[string]any) (*wfv1.Workflow, error) {
	params := map[string]string{}
	for k, v := range given {
		if !strings.HasPrefix(k, VersionParamPrefix) {
			params[k] = paramString(v)
		}
	}
	_, images, err := s.imagesFor(ctx, group)
	if err != nil {
		return nil, err
	}
	wf, err := s.compile("pipeline.yaml", []byte(spec), params, images)
	if err != nil {
		return nil, badRequest("%s: %v", what, err)
	}
	if err := requiredParams(what, wf); err != nil {
		return nil, err
	}
	return wf, nil
}

// ParamsField is where a run's parameters are in the API, for the errors
// of the compiler (cmd/kubeline passes it as compiler.Options.ParamsField).
const ParamsField = "runtime_config.parameters"

// requiredParams refuses a run whose pipeline has parameters without a
// value (no default, not optional, not given).
func requiredParams(what string, wf *wfv1.Workflow) error {
	var missing []string
	for _, p := range wf.Spec.Arguments.Parameters {
		if p.Value == nil && p.ValueFrom == nil {
			missing = append(missing, fmt.Sprintf("%s.%s[%s]", what, ParamsField, p.Name))
		}
	}
	if len(missing) > 0 {
		return badRequest("%s: the pipeline needs a value for this parameter (it has no default)", strings.Join(missing, ", "))
	}
	return nil
}

// markGroup labels a run's workflow with its group and drops what a spec
// may have put under the names the engine trusts (engine.LabelGroup,
// engine.AnnotationReadableKeys).
func markGroup(wf *wfv1.Workflow, group string) {
	delete(wf.Annotations, engine.AnnotationReadableKeys)
	if wf.Labels == nil {
		wf.Labels = map[string]string{}
	}
	wf.Labels[engine.LabelGroup] = groupOf(group)
}

// pipelineGroup is the group of the pipeline a run references when the
// caller sees it, else "".
func (s *Server) pipelineGroup(ctx context.Context, ref *versionRef) string {
	if ref == nil || !s.multiUser {
		return ""
	}
	id := ref.PipelineID
	if id == "" {
		v, err := s.store.GetVersion(ctx, ref.PipelineVersionID)
		if err != nil {
			return ""
		}
		id = v.PipelineID
	}
	p, err := s.store.GetPipeline(ctx, id)
	if err != nil || !s.seesGroup(ctx, p.Namespace) {
		return ""
	}
	return groupOf(p.Namespace)
}

// paramString renders a runtime parameter as kubeline's --param value.
func paramString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// start submits a run's workflow and follows it, recording its state.
func (s *Server) start(run store.Run, wf *wfv1.Workflow) {
	wf = wf.DeepCopy()
	wf.Name = WorkflowName(run.ID)
	if wf.Annotations == nil {
		wf.Annotations = map[string]string{}
	}
	wf.Annotations[AnnotationRunID] = run.ID
	name, err := s.engine.Submit(s.ctx, wf)
	if err != nil {
		s.startFailed(run.ID, err)
		return
	}
	ch, err := s.engine.Watch(s.ctx, name)
	if err != nil {
		s.startFailed(run.ID, err)
		return
	}
	s.running.Store(run.ID, name) // StopRuns stops it (follow.go)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.follow(run, name, ch) // follow.go
	}()
}

func runJSON(r store.Run, tasks []map[string]any) map[string]any {
	var spec any
	if r.PipelineVersionID == "" {
		if doc, err := specJSON(r.PipelineSpec); err == nil {
			spec = doc
		}
	}
	return runJSONWith(r, spec, tasks)
}

// runJSONWith renders a run with its pipeline spec (nil for none) and task
// details given, decoded or as JSON (a kept listing).
func runJSONWith(r store.Run, spec, tasks any) map[string]any {
	m := map[string]any{"run_id": r.ID, "display_name": r.DisplayName, "storage_state": r.StorageState,
		"state": r.State, "created_at": timestamp(r.CreatedAt), "scheduled_at": timestamp(r.ScheduledAt),
		"finished_at": timestamp(r.FinishedAt)}
	for k, v := range map[string]string{"experiment_id": r.ExperimentID, "description": r.Description,
		"service_account": r.ServiceAccount, "recurring_run_id": r.RecurringRunID} {
		if v != "" {
			m[k] = v
		}
	}
	if r.Error != "" {
		m["error"] = map[string]any{"code": 2, "message": r.Error}
	}
	if r.PipelineVersionID != "" {
		m["pipeline_version_reference"] = map[string]any{"pipeline_id": r.PipelineID, "pipeline_version_id": r.PipelineVersionID}
	} else if spec != nil {
		m["pipeline_spec"] = spec
	}
	if r.RuntimeConfig != "" {
		var rc any
		if json.Unmarshal([]byte(r.RuntimeConfig), &rc) == nil {
			m["runtime_config"] = rc
		}
	}
	var hist []map[string]any
	for _, ev := range r.StateHistory {
		h := map[string]any{"update_time": timestamp(ev.Time), "state": ev.State}
		if ev.Error != "" {
			h["error"] = map[string]any{"message": ev.Error}
		}
		hist = append(hist, h)
	}
	m["state_history"] = hist
	m["run_details"] = map[string]any{"task_details": tasks}
	return m
}

func nodeState(p wfv1.NodePhase) string {
	switch p {
	case wfv1.NodeSucceeded:
		return "SUCCEEDED"
	case wfv1.NodeFailed, wfv1.NodeError:
		return "FAILED"
	case wfv1.NodeSkipped, wfv1.NodeOmitted:
		return "SKIPPED"
	case wfv1.NodeRunning:
		return "RUNNING"
	}
	return "PENDING"
}

func (s *Server) getRun(r *http.Request) (any, error) {
	run, err := s.store.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return s.runView(r.Context(), run)
}

func (s *Server) deleteRun(r *http.Request) (any, error) {
	run, err := s.store.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if err := s.notActive(r.Context(), run, "delete"); err != nil {
		return nil, err
	}
	return map[string]any{}, s.store.DeleteRun(r.Context(), run.ID)
}

// runAction serves POST /runs/{id}:terminate, :retry, :archive, :unarchive.
func (s *Server) runAction(r *http.Request) (any, error) {
	id, action, err := idAction(r.PathValue("action"))
	if err != nil {
		return nil, err
	}
	run, err := s.store.GetRun(r.Context(), id)
	if err != nil {
		return nil, err
	}
	switch action {
	case "archive":
		if err := s.notActive(r.Context(), run, "archive"); err != nil {
			return nil, err
		}
		return map[string]any{}, s.store.SetRunStorage(r.Context(), id, "ARCHIVED")
	case "unarchive":
		return map[string]any{}, s.store.SetRunStorage(r.Context(), id, "AVAILABLE")
	case "terminate":
		return s.terminate(r.Context(), run)
	case "retry":
		if run.State != "FAILED" && run.State != "CANCELED" {
			return nil, badRequest("run %s is %s: only a failed or canceled run can be retried", id, run.State)
		}
		var wf wfv1.Workflow
		if err := json.Unmarshal([]byte(run.Workflow), &wf); err != nil {
			return nil, err
		}
		wf.Status = wfv1.WorkflowStatus{}
		wf.Name = ""
		if err := s.store.UpdateRun(r.Context(), id, "PENDING", "", "", time.Time{}); err != nil {
			return nil, err
		}
		if _, err := s.store.GetAdmission(r.Context(), id); err == nil {
			return map[string]any{}, s.requeue(r.Context(), run) // admission starts it
		}
		s.start(run, &wf)
		return map[string]any{}, nil
	}
	return nil, notFoundErr("no such run action %q", action)
}
