package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	chpo "github.com/kubeline/kubeline/compiler/hpo"
	"github.com/kubeline/kubeline/runtime/hpo"
	"github.com/kubeline/kubeline/runtime/store"
)

// HPO experiments on the server. A run whose pipeline is a kind: Experiment
// compiles into one workflow (suggest → trials → observe → next round) and
// is marked as an HPO experiment when it is created; its trials are the
// records its steps keep in the artifact store, read with the server's
// ExperimentRecords:
//
//	GET /apis/kubeline/v1/hpo/experiments            the caller's groups' (or ?group=G's) experiment runs, newest first
//	GET /apis/kubeline/v1/hpo/experiments/{id}       one: objective, status in Katib's shape, every trial
//	GET .../hpo/experiments/{id}?format=svg           the objective per trial with the best so far (hpo.PlotSVG)

// ExperimentRecords reads the trial records and status of the experiment
// run as workflow uid (launcher.ReadRecords and ReadStatus over the
// artifact store); no records yet is no trials, not an error.
type ExperimentRecords func(ctx context.Context, uid string) ([]hpo.Record, hpo.Status, error)

// WithExperimentRecords lets the server show HPO experiments' trials.
func (s *Server) WithExperimentRecords(read ExperimentRecords) *Server {
	s.hpoRecords = read
	return s
}

func (s *Server) hpoRoutes(h func(string, func(*http.Request) (any, error))) {
	h("GET "+kv1+"/hpo/experiments", s.listHPOExperiments)
	h("GET "+kv1+"/hpo/experiments/{id}", s.getHPOExperiment)
}

// markExperiment records a new run as an HPO experiment when its workflow
// is one.
func (s *Server) markExperiment(ctx context.Context, runID string, wf *wfv1.Workflow) error {
	name := wf.Labels[chpo.LabelExperiment]
	if name == "" {
		return nil
	}
	return s.store.MarkHPOExperiment(ctx, runID, name)
}

func (s *Server) listHPOExperiments(r *http.Request) (any, error) {
	limit, err := intParam(r, "page_size", 50, 1, 200)
	if err != nil {
		return nil, err
	}
	groups := s.groupsOf(r.Context())
	if g := r.URL.Query().Get("group"); g != "" { // authorize checked the caller is in it
		groups = []string{g}
	}
	es, err := s.store.ListHPOExperiments(r.Context(), groups, limit)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, e := range es {
		out = append(out, map[string]any{"run_id": e.RunID, "name": e.Name, "display_name": e.DisplayName, "group": groupOf(e.Namespace),
			"state": e.State, "created_at": timestamp(e.CreatedAt), "finished_at": timestamp(e.FinishedAt)})
	}
	return map[string]any{"experiments": out, "total_size": len(out)}, nil
}

// getHPOExperiment serves one experiment run with its trials, or its plot.
func (s *Server) getHPOExperiment(r *http.Request) (any, error) {
	ctx := r.Context()
	id := r.PathValue("id")
	name, err := s.store.HPOExperimentOf(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, badRequest("run %s is not an HPO experiment (its pipeline is not a kind: Experiment)", id)
	}
	if err != nil {
		return nil, err
	}
	run, err := s.store.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	var wf wfv1.Workflow
	if err := json.Unmarshal([]byte(run.Workflow), &wf); err != nil {
		return nil, badRequest("HPO experiment %s: its stored workflow cannot be read: %v", id, err)
	}
	p := wf.Spec.Arguments.GetParameterByName(chpo.ConfigParam)
	if p == nil || p.Value == nil {
		return nil, badRequest("HPO experiment %s: its workflow carries no experiment (%s)", id, chpo.ConfigParam)
	}
	cfg, err := hpo.ParseExperiment([]byte(p.Value.String()))
	if err != nil {
		return nil, badRequest("HPO experiment %s: %v", id, err)
	}
	var records []hpo.Record
	var st hpo.Status
	if wf.UID != "" && s.hpoRecords != nil {
		if records, st, err = s.hpoRecords(ctx, string(wf.UID)); err != nil {
			return nil, err
		}
	}
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
	case "svg":
		return rawBody{"image/svg+xml", hpo.PlotSVG(cfg, records)}, nil
	default:
		return nil, badRequest("format: want json or svg, got %q", f)
	}
	return s.experimentJSON(ctx, run, name, cfg, records, st)
}

func (s *Server) experimentJSON(ctx context.Context, run store.Run, name string, cfg hpo.Config, records []hpo.Record, st hpo.Status) (map[string]any, error) {
	var params []string
	for _, p := range cfg.Space {
		params = append(params, p.Name)
	}
	direction := "minimize"
	if cfg.Direction == hpo.Maximize {
		direction = "maximize"
	}
	trials := []map[string]any{}
	best, bestSoFar := math.NaN(), []any{}
	for _, rec := range records {
		t := map[string]any{"name": rec.Name, "state": rec.State, "params": rec.Params}
		if rec.Message != "" {
			t["message"] = rec.Message
		}
		var point any // the best value after this trial, null before any
		if rec.State == hpo.Succeeded && len(rec.Metrics[cfg.Objective]) > 0 && !math.IsNaN(rec.Value) && !math.IsInf(rec.Value, 0) {
			t["value"] = rec.Value
			if math.IsNaN(best) || (cfg.Direction == hpo.Maximize) == (rec.Value > best) {
				best = rec.Value
			}
		}
		if !math.IsNaN(best) {
			point = best
		}
		bestSoFar = append(bestSoFar, point)
		trials = append(trials, t)
	}
	conditions := st.Conditions
	if conditions == nil {
		conditions = []hpo.Condition{}
	}
	a, err := s.store.GetAdmission(ctx, run.ID)
	var ap *store.RunAdmission
	if err == nil {
		ap = &a
	}
	out := map[string]any{"run_id": run.ID, "name": name, "display_name": run.DisplayName, "group": groupOf(run.Namespace),
		"state": run.State, "status": runStatus(run, ap), "created_at": timestamp(run.CreatedAt), "finished_at": timestamp(run.FinishedAt),
		"objective": cfg.Objective, "direction": direction, "algorithm": cfg.Algorithm, "parameters": nonNil(params),
		"max_trials": cfg.MaxTrials, "parallel_trials": cfg.Parallel, "trials": trials, "best_so_far": bestSoFar,
		"conditions": conditions, "current_optimal_trial": st.CurrentOptimalTrial}
	if cfg.Goal != nil {
		out["goal"] = *cfg.Goal
	}
	return out, nil
}
