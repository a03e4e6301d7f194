package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kubeline/kubeline/runtime/store"
)

type projectBody struct {
	Name        string `json:"name"`
	Group       string `json:"group"`
	Description string `json:"description"`
	Metric      string `json:"metric"`
	Direction   string `json:"direction"`
	Pipeline    string `json:"pipeline"`
}

func (s *Server) projectJSON(ctx context.Context, p store.Project) map[string]any {
	owner, _ := s.store.Owner(ctx, "experiment", p.ExperimentID)
	m := map[string]any{"name": p.Name, "experiment_id": p.ExperimentID, "group": p.Group, "metric": p.Metric,
		"direction": p.Direction, "owner": owner, "created_at": timestamp(p.CreatedAt)}
	if p.Pipeline != "" {
		m["pipeline"] = p.Pipeline
	}
	if e, err := s.store.GetExperiment(ctx, p.ExperimentID); err == nil {
		m["storage_state"] = e.StorageState
		if e.Description != "" {
			m["description"] = e.Description
		}
	}
	return m
}

func (s *Server) createProject(r *http.Request) (any, error) {
	var b projectBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	if err := validName("project.name", b.Name); err != nil {
		return nil, err
	}
	if b.Metric == "" {
		return nil, badRequest("project.metric is required: the metric the leaderboard ranks runs by")
	}
	switch b.Direction {
	case "maximize", "minimize":
	case "":
		b.Direction = "maximize"
	default:
		return nil, badRequest("project.direction: %q (want maximize or minimize)", b.Direction)
	}
	group, err := s.groupFor(r.Context(), "project.group", b.Group)
	if err != nil {
		return nil, err
	}
	group = groupOf(group)
	if _, err := s.store.GetGroup(r.Context(), group); err != nil {
		return nil, badRequest("project.group: there is no group %q", group)
	}
	if b.Pipeline != "" {
		if err := s.inGroupOrMissing(r.Context(), "pipeline", b.Pipeline, group); err != nil {
			return nil, badRequest("project.pipeline: there is no pipeline %q", b.Pipeline)
		}
	}
	p := &store.Project{Name: b.Name, Group: group, Description: b.Description, Metric: b.Metric, Direction: b.Direction, Pipeline: b.Pipeline}
	if err := s.store.CreateProject(r.Context(), p); err != nil {
		return nil, err
	}
	if c := callerOf(r.Context()); c != nil {
		if err := s.store.SetOwner(r.Context(), "experiment", p.ExperimentID, c.Name); err != nil {
			return nil, err
		}
	}
	return s.projectJSON(r.Context(), *p), nil
}

func (s *Server) getProject(r *http.Request) (any, error) {
	p, err := s.store.GetProject(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return s.projectJSON(r.Context(), p), nil
}

func (s *Server) listProjects(r *http.Request) (any, error) {
	opts, err := listOptions(r)
	if err != nil {
		return nil, err
	}
	var groups []string // nil: all
	if c := callerOf(r.Context()); s.multiUser && c != nil && !c.operator() {
		groups = nonNil(c.Groups)
	}
	if g := firstOf(r.URL.Query().Get("group"), r.URL.Query().Get("namespace")); g != "" {
		if groups != nil && !slices.Contains(groups, g) {
			return nil, forbidden("group: user %q is not in group %q", callerOf(r.Context()).Name, g)
		}
		groups = []string{g}
	}
	ps, page, err := s.store.ListProjects(r.Context(), groups, opts)
	return listed("projects", ps, page, err, func(p store.Project) map[string]any { return s.projectJSON(r.Context(), p) })
}

// activeRuns counts the runs of an experiment that wait or run.
func (s *Server) activeRuns(ctx context.Context, experimentID string) (int, error) {
	_, page, err := s.store.ListRuns(ctx, "", experimentID, store.ListOptions{PageSize: 1, Filter: &store.Filter{
		Predicates: []store.Predicate{{Key: "state", Op: store.OpIn, Values: []any{"PENDING", "RUNNING", "CANCELING"}}}}})
	return page.TotalSize, err
}

// idle refuses to archive or delete an experiment while its runs are active.
func (s *Server) idle(ctx context.Context, experimentID, what, verb string) error {
	n, err := s.activeRuns(ctx, experimentID)
	if err != nil {
		return err
	}
	if n > 0 {
		return &apiError{http.StatusConflict, what + " has " + plural(n, "run") + " waiting or running: stop them before you " + verb + " it"}
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strings.TrimSpace(strings.Join([]string{strconv.Itoa(n), word + "s"}, " "))
}

func (s *Server) deleteProject(r *http.Request) (any, error) {
	p, err := s.store.GetProject(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	if err := s.idle(r.Context(), p.ExperimentID, "project "+p.Name, "delete"); err != nil {
		return nil, err
	}
	return map[string]any{}, s.store.DeleteProject(r.Context(), p)
}

// projectAction serves POST /projects/{name}:archive and :unarchive.
func (s *Server) projectAction(r *http.Request) (any, error) {
	name, action, err := idAction(r.PathValue("action"))
	if err != nil {
		return nil, err
	}
	p, err := s.store.GetProject(r.Context(), name)
	if err != nil {
		return nil, err
	}
	switch action {
	case "archive":
		if err := s.idle(r.Context(), p.ExperimentID, "project "+p.Name, "archive"); err != nil {
			return nil, err
		}
		return map[string]any{}, s.store.SetExperimentStorage(r.Context(), p.ExperimentID, "ARCHIVED")
	case "unarchive":
		return map[string]any{}, s.store.SetExperimentStorage(r.Context(), p.ExperimentID, "AVAILABLE")
	}
	return nil, notFoundErr("no such project action %q (want archive or unarchive)", action)
}

func (s *Server) leaderboard(r *http.Request) (any, error) {
	p, err := s.store.GetProject(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	board, err := s.store.Leaderboard(r.Context(), p)
	if err != nil {
		return nil, err
	}
	entries := []map[string]any{}
	for i, e := range board {
		entries = append(entries, map[string]any{"rank": i + 1, "owner": e.Owner, "run_id": e.RunID, "display_name": e.DisplayName,
			"value": e.Value, "finished_at": timestamp(e.FinishedAt)})
	}
	return map[string]any{"project": p.Name, "metric": p.Metric, "direction": p.Direction, "entries": entries}, nil
}

// projectVersions serves the dataset, model, code and featureset versions
// the project's runs produced, newest first (page_size, default 50, at
// most 200): a project's models at a glance.
func (s *Server) projectVersions(r *http.Request) (any, error) {
	p, err := s.store.GetProject(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	limit, err := intParam(r, "page_size", 50, 1, 200)
	if err != nil {
		return nil, err
	}
	links, err := s.store.ProjectVersions(r.Context(), p.ExperimentID, limit)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, l := range links {
		out = append(out, map[string]any{"kind": l.Kind, "name": l.Name, "version": l.Version, "ref": fmt.Sprintf("%s://%s@v%d", l.Kind, l.Name, l.Version),
			"run_id": l.RunID, "task": l.Task, "created_at": timestamp(l.CreatedAt)})
	}
	return map[string]any{"project": p.Name, "versions": out, "total_size": len(out)}, nil
}
