package apiserver

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kubeline/kubeline/runtime/store"
)

// runAdmission serves kubeline's view of a run: its status (DKube's), why
// it waits, its GPU demand, pool and allocation, owner and metrics.
func (s *Server) runAdmission(r *http.Request) (any, error) {
	run, err := s.store.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	owner, err := s.store.Owner(r.Context(), "run", run.ID)
	if err != nil {
		return nil, err
	}
	metrics, err := s.store.MetricsOf(r.Context(), []string{run.ID})
	if err != nil {
		return nil, err
	}
	versions, err := s.runVersions(r.Context(), run.ID)
	if err != nil {
		return nil, err
	}
	m := map[string]any{"run_id": run.ID, "display_name": run.DisplayName, "state": run.State, "group": groupOf(run.Namespace),
		"owner": owner, "created_at": timestamp(run.CreatedAt), "finished_at": timestamp(run.FinishedAt), "metrics": metrics[run.ID],
		"versions": versions}
	if run.ExperimentID != "" {
		m["experiment_id"] = run.ExperimentID
	}
	a, err := s.store.GetAdmission(r.Context(), run.ID)
	if err != nil {
		m["status"] = runStatus(run, nil)
		return m, nil
	}
	m["status"] = runStatus(run, &a)
	m["gpus"] = a.GPUs
	m["largest_step_gpus"] = a.LargestStep
	m["multi_node"] = a.MultiNode
	m["start_anyway"] = a.StartAnyway
	m["enqueued_at"] = timestamp(a.Enqueued)
	if a.Dynamic {
		m["dynamic"] = true
	}
	if a.Resource != "" {
		m["gpu_resource"] = a.Resource
	}
	if a.Reason != "" && a.Status == store.StatusQueued {
		m["reason"] = a.Reason
	}
	if a.Pool != "" {
		m["pool"] = a.Pool
	}
	if len(a.Nodes) > 0 {
		m["allocation"] = a.Nodes
	}
	return m, nil
}

// runStartAnyway serves POST /runs/{id}:start_anyway: a queued run starts
// at once, whatever its pool has free, and reserves nothing.
func (s *Server) runStartAnyway(r *http.Request) (any, error) {
	id, action, err := idAction(r.PathValue("action"))
	if err != nil {
		return nil, err
	}
	if action != "start_anyway" {
		return nil, notFoundErr("no such run action %q (want start_anyway)", action)
	}
	run, err := s.store.GetRun(r.Context(), id)
	if err != nil {
		return nil, err
	}
	a, err := s.store.GetAdmission(r.Context(), id)
	if err != nil || a.Status != store.StatusQueued {
		var ap *store.RunAdmission
		if err == nil {
			ap = &a
		}
		return nil, &apiError{http.StatusConflict, "run " + id + " is " + runStatus(run, ap) + ": start_anyway applies to a queued run"}
	}
	if err := s.store.SetStartAnyway(r.Context(), id); err != nil {
		return nil, err
	}
	if err := s.Admit(s.ctx); err != nil {
		return nil, err
	}
	r.SetPathValue("id", id)
	return s.runAdmission(r)
}

// compare serves GET /compare?run_id=A&run_id=B (or run_id=A,B) and
// model=NAME@vN: runs, and model versions by the runs that produced them,
// side by side by their metrics.
func (s *Server) compare(r *http.Request) (any, error) {
	q := r.URL.Query()
	ids, models := listParam(q["run_id"]), listParam(q["model"])
	if len(ids)+len(models) == 0 {
		return nil, badRequest("run_id: give the runs to compare (run_id=A&run_id=B), or model=NAME@vN")
	}
	c := callerOf(r.Context())
	if len(models) > 0 && s.multiUser && c != nil && !c.can(permCatalog) {
		return nil, forbidden("model: user %q (roles %s) may not view the model catalog", c.Name, strings.Join(c.Roles, ","))
	}
	labels := map[string]string{} // run -> model version it produced
	for i, m := range models {
		name, v, ok := strings.Cut(m, "@v")
		n, err := strconv.Atoi(v)
		if !ok || name == "" || err != nil || n < 1 {
			return nil, badRequest("model[%d]: want NAME@vN, got %q", i, m)
		}
		av, err := s.visibleVersion(r.Context(), "model", name, n)
		if err != nil {
			return nil, err
		}
		run, err := s.producerRun(r.Context(), av)
		if err != nil {
			return nil, err
		}
		if run == "" {
			return nil, badRequest("model[%d]: %s was uploaded, not produced by a run: it has no metrics", i, m)
		}
		if !slices.Contains(ids, run) {
			ids = append(ids, run)
		}
		labels[run] = m
	}
	var runs []store.Run
	for _, id := range ids {
		run, err := s.store.GetRun(r.Context(), id)
		if err != nil {
			return nil, err
		}
		if !s.seesGroup(r.Context(), run.Namespace) {
			return nil, hidden("run", id)
		}
		runs = append(runs, run)
	}
	return s.compareRows(r, runs, labels)
}

func listParam(values []string) []string {
	var out []string
	for _, v := range values {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// compareRows renders runs with their metrics and the union of the names.
func (s *Server) compareRows(r *http.Request, runs []store.Run, labels map[string]string) (any, error) {
	ids := make([]string, len(runs))
	for i, run := range runs {
		ids[i] = run.ID
	}
	metrics, err := s.store.MetricsOf(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	owners, err := s.store.Owners(r.Context(), "run", ids)
	if err != nil {
		return nil, err
	}
	names := []string{}
	out := []map[string]any{}
	for _, run := range runs {
		for n := range metrics[run.ID] {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		row := map[string]any{"run_id": run.ID, "display_name": run.DisplayName, "state": run.State,
			"owner": owners[run.ID], "experiment_id": run.ExperimentID, "metrics": metrics[run.ID]}
		if m := labels[run.ID]; m != "" {
			row["model_version"] = m
		}
		out = append(out, row)
	}
	slices.Sort(names)
	return map[string]any{"metrics": names, "runs": out}, nil
}
