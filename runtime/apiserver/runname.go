package apiserver

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/kubeline/kubeline/runtime/store"
)

// WorkflowName is the name of run's workflow: run- and the whole run id
// (40 characters for a UUID), so that no two runs share one — a workflow's
// name keys its artifacts (kubeline/WORKFLOW/...), its logs, its pods and
// its directory on the embedded engine, and finds the run that wrote an
// artifact. Runs made before it was whole carry run- and the first 8
// characters (legacyNameLen).
func WorkflowName(runID string) string { return "run-" + runID }

// legacyNameLen is how many characters of the run id older workflow names
// kept.
const legacyNameLen = 8

// WithRunIDs sets how new runs get their ids; store.NewID when nil. Tests
// inject ids that share a prefix.
func (s *Server) WithRunIDs(next func() string) *Server {
	s.runIDs = next
	return s
}

// newRunID is the id of a run being created: "" lets the store make one.
func (s *Server) newRunID() string {
	if s.runIDs == nil {
		return ""
	}
	return s.runIDs()
}

// runOfWorkflow finds the run whose workflow is named name, among the
// runs the caller sees: by its id in the name, or — a legacy name holding
// 8 characters of it — the visible run whose stored workflow has that name.
func (s *Server) runOfWorkflow(ctx context.Context, name string) (store.Run, bool) {
	id, ok := strings.CutPrefix(name, "run-")
	if !ok || id == "" {
		return store.Run{}, false
	}
	if len(id) != legacyNameLen {
		run, err := s.store.GetRun(ctx, id)
		if err != nil || !s.seesGroup(ctx, run.Namespace) {
			return store.Run{}, false
		}
		return run, true
	}
	// Every page of the caller's runs is looked at, not only the newest;
	// a run whose id starts alike but whose workflow has the whole id in
	// its name is not the one.
	opts := s.visible(ctx, store.ListOptions{PageSize: 200, SortBy: "created_at desc"})
	for {
		runs, page, err := s.store.ListRunSummaries(ctx, "", "", opts)
		if err != nil {
			return store.Run{}, false
		}
		for _, r := range runs {
			if strings.HasPrefix(r.ID, id) {
				if run, err := s.store.GetRun(ctx, r.ID); err == nil && storedName(run) == name {
					return run, true
				}
			}
		}
		if page.NextPageToken == "" {
			return store.Run{}, false
		}
		opts.PageToken = page.NextPageToken
	}
}

// storedName is the name of a run's stored workflow.
func storedName(run store.Run) string {
	var wf struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal([]byte(run.Workflow), &wf)
	return wf.Metadata.Name
}
