package apiserver

import (
	"net/http"

	"github.com/kubeline/kubeline/runtime/store"
)

func experimentJSON(e store.Experiment) map[string]any {
	m := map[string]any{"experiment_id": e.ID, "display_name": e.DisplayName, "created_at": timestamp(e.CreatedAt),
		"storage_state": e.StorageState, "last_run_created_at": timestamp(e.LastRunCreatedAt)}
	if e.Description != "" {
		m["description"] = e.Description
	}
	if e.Namespace != "" {
		m["namespace"] = e.Namespace
	}
	return m
}

func (s *Server) createExperiment(r *http.Request) (any, error) {
	var b struct {
		ExperimentID     string `json:"experiment_id"`
		DisplayName      string `json:"display_name"`
		Description      string `json:"description"`
		Namespace        string `json:"namespace"`
		CreatedAt        string `json:"created_at"`
		StorageState     string `json:"storage_state"`
		LastRunCreatedAt string `json:"last_run_created_at"`
	}
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	if b.DisplayName == "" {
		return nil, badRequest("experiment.display_name is required")
	}
	if err := checkName("experiment.display_name", b.DisplayName); err != nil {
		return nil, err
	}
	ns, err := s.groupFor(r.Context(), "experiment.namespace", b.Namespace)
	if err != nil {
		return nil, err
	}
	e := &store.Experiment{Name: b.DisplayName, DisplayName: b.DisplayName, Description: b.Description, Namespace: ns}
	if err := s.store.CreateExperiment(r.Context(), e); err != nil {
		return nil, err
	}
	return experimentJSON(*e), nil
}

func (s *Server) getExperiment(r *http.Request) (any, error) {
	e, err := s.store.GetExperiment(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return experimentJSON(e), nil
}

func (s *Server) listExperiments(r *http.Request) (any, error) {
	opts, err := listOptions(r)
	if err != nil {
		return nil, err
	}
	es, page, err := s.store.ListExperiments(r.Context(), r.URL.Query().Get("namespace"), s.visible(r.Context(), opts))
	return listed("experiments", es, page, err, experimentJSON)
}

// experimentAction serves POST /experiments/{id}:archive and :unarchive.
func (s *Server) experimentAction(r *http.Request) (any, error) {
	id, action, err := idAction(r.PathValue("action"))
	if err != nil {
		return nil, err
	}
	switch action {
	case "archive":
		if err := s.idle(r.Context(), id, "experiment "+id, "archive"); err != nil {
			return nil, err
		}
		return map[string]any{}, s.store.SetExperimentStorage(r.Context(), id, "ARCHIVED")
	case "unarchive":
		return map[string]any{}, s.store.SetExperimentStorage(r.Context(), id, "AVAILABLE")
	}
	return nil, notFoundErr("no such experiment action %q", action)
}

func (s *Server) deleteExperiment(r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := s.idle(r.Context(), id, "experiment "+id, "delete"); err != nil {
		return nil, err
	}
	if p, err := s.store.ProjectOfExperiment(r.Context(), id); err == nil {
		return map[string]any{}, s.store.DeleteProject(r.Context(), p) // a project's experiment goes with it
	}
	return map[string]any{}, s.store.DeleteExperiment(r.Context(), id)
}
