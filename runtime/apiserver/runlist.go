package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/mlmd"
	"github.com/kubeline/kubeline/runtime/store"
)

// Runs lists are served from each run's kept listing (store.RunListing):
// the pipeline spec and task details rendered once, when the run ended, so
// that a page of runs decodes no spec YAML and no workflow. A run without
// one — still running, or ended before listings were kept — is rendered
// from its workflow as GET renders it, and an ended one keeps its listing
// then. GET of one run always renders the whole run.

// listRuns serves GET /apis/v2beta1/runs.
func (s *Server) listRuns(r *http.Request) (any, error) {
	opts, err := listOptions(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	q := r.URL.Query()
	runs, page, err := s.store.ListRunSummaries(ctx, q.Get("namespace"), q.Get("experiment_id"), s.visible(ctx, opts))
	if err != nil {
		return nil, err
	}
	var items [][]byte // the JSON of runs without a kept listing, by place
	at := map[string]int{}
	size := 0
	for i, run := range runs {
		size += len(run.Listing.Spec) + len(run.Listing.Tasks) + 1024
		if run.Listing.Tasks == "" {
			at[run.ID] = i
		}
	}
	if len(at) > 0 {
		items = make([][]byte, len(runs))
		if err := s.renderUnlisted(ctx, items, at); err != nil {
			return nil, err
		}
	}
	return writeRunsPage(len(runs), size, func(b []byte, i int) []byte {
		if run := runs[i]; run.Listing.Tasks != "" {
			return appendRunJSON(b, run, run.Listing.Spec, run.Listing.Tasks)
		}
		return append(b, items[i]...)
	}, page), nil
}

// renderUnlisted renders the runs of a page that have no kept listing
// (their ids -> place in items) from their workflows: an ended one keeps
// its listing now. One that is gone stays nil.
func (s *Server) renderUnlisted(ctx context.Context, items [][]byte, at map[string]int) error {
	ids := make([]string, 0, len(at))
	for id := range at {
		ids = append(ids, id)
	}
	full, err := s.store.RunsByID(ctx, ids)
	if err != nil {
		return err
	}
	var running, done []store.Run
	for _, run := range full {
		if ended(run.State) {
			done = append(done, run)
		} else {
			running = append(running, run)
		}
	}
	if kept, err := s.keepListings(ctx, done); err == nil {
		for _, run := range done {
			l := kept[run.ID]
			items[at[run.ID]] = appendRunJSON(nil, run, l.Spec, l.Tasks)
		}
	} else {
		// A store that cannot keep them now: rendered as before, with
		// the ML Metadata ids their tasks have.
		running = append(running, done...)
	}
	rendered, err := s.runViews(ctx, running)
	if err != nil {
		return err
	}
	for i, run := range running {
		if items[at[run.ID]], err = json.Marshal(rendered[i]); err != nil {
			return fmt.Errorf("render run %s: %w", run.ID, err)
		}
	}
	return nil
}

// ended reports whether a run's KFP state is final.
func ended(state string) bool {
	switch state {
	case "SUCCEEDED", "FAILED", "CANCELED", "SKIPPED":
		return true
	}
	return false
}

// keepListings renders and keeps the listings of ended runs (whole): their
// task details with their ML Metadata ids (given now to the tasks that had
// none) and their inline spec as JSON.
func (s *Server) keepListings(ctx context.Context, runs []store.Run) (map[string]store.RunListing, error) {
	if len(runs) == 0 {
		return nil, nil
	}
	type graph struct {
		wf *wfv1.Workflow
		g  mlmd.Graph
	}
	graphs := make([]graph, len(runs))
	keys := make(map[string][]string, len(runs))
	for i, run := range runs {
		graphs[i].wf, graphs[i].g = s.runGraph(run)
		keys[run.ID] = graphKeys(graphs[i].g)
	}
	ids, err := s.store.AssignMLMDIDs(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.RunListing, len(runs))
	for i, run := range runs {
		var l store.RunListing
		tasks, _ := json.Marshal(taskDetails(run, graphs[i].wf, graphs[i].g, ids[run.ID]))
		l.Tasks = string(tasks)
		if run.PipelineVersionID == "" {
			if doc, err := specJSON(run.PipelineSpec); err == nil {
				spec, _ := json.Marshal(doc)
				l.Spec = string(spec)
			}
		}
		out[run.ID] = l
	}
	return out, s.store.SetRunListings(ctx, out)
}

// keepEnded keeps the listing of run id once its workflow is final (the
// snapshot observe recorded last); a failure leaves it to the next list.
func (s *Server) keepEnded(id string) {
	run, err := s.store.GetRun(s.ctx, id)
	if err == nil && ended(run.State) {
		_, _ = s.keepListings(s.ctx, []store.Run{run})
	}
}

// KeepListings keeps the listing of every ended run that has none (runs
// that ended before listings were kept), a batch at a time, until none is
// left or ctx ends. The server runs it in the background when it starts.
func (s *Server) KeepListings(ctx context.Context) error {
	for after := ""; ; {
		ids, err := s.store.EndedRunsWithoutListing(ctx, after, 100)
		if err != nil || len(ids) == 0 {
			return err
		}
		after = ids[len(ids)-1]
		runs, err := s.store.RunsByID(ctx, ids)
		if err == nil {
			_, err = s.keepListings(ctx, runs)
		}
		if err != nil {
			return err
		}
	}
}
