package apiserver

import (
	"context"
	"net/http"
	"time"

	"github.com/kubeline/kubeline/runtime/admission"
	"github.com/kubeline/kubeline/runtime/store"
)

// The queue (GET /apis/kubeline/v1/queue): every run and IDE that waits for
// GPUs or holds them, in admission's order (oldest first), each with its
// pool, place in its pool's queue and, while it waits, why; only the
// caller's groups' (operators see all), or ?group=G's. can_start_anyway says whether the
// caller may start a queued one at once (its owner or an operator).
func (s *Server) queueRoutes(h func(string, func(*http.Request) (any, error))) {
	h("GET "+kv1+"/queue", s.listQueue)
}

func (s *Server) listQueue(r *http.Request) (any, error) {
	ctx := r.Context()
	active, err := s.store.ActiveAdmissions(ctx)
	if err != nil {
		return nil, err
	}
	groups, err := s.store.GroupPools(ctx)
	if err != nil {
		return nil, err
	}
	// A queued run's place counts every run ahead of it in its pool, also
	// those of groups the caller does not see.
	pools, places := map[string]string{}, map[string]int{}
	place := map[string]int{} // pool -> queued runs so far
	for _, a := range active {
		pool := a.Pool
		if a.Status == store.StatusQueued {
			if pool = groups[a.Group]; pool == "" {
				pool = admission.DefaultPool
			}
			place[pool]++
			places[a.RunID] = place[pool]
		}
		pools[a.RunID] = pool
	}
	var shown []store.RunAdmission
	var runIDs []string
	only := r.URL.Query().Get("group") // authorize checked the caller is in it
	for _, a := range active {
		if !s.seesGroup(ctx, a.Group) || only != "" && groupOf(a.Group) != only {
			continue
		}
		shown = append(shown, a)
		if _, ide := ideOf(a.RunID); !ide {
			runIDs = append(runIDs, a.RunID)
		}
	}
	names, err := s.store.RunNames(ctx, runIDs)
	if err != nil {
		return nil, err
	}
	owners, err := s.store.Owners(ctx, "run", runIDs)
	if err != nil {
		return nil, err
	}
	c := callerOf(ctx)
	out := []map[string]any{}
	for _, a := range shown {
		e, err := s.queueEntry(ctx, a, names, owners)
		if err != nil {
			return nil, err
		}
		if a.Status == store.StatusQueued {
			e["position"] = places[a.RunID]
			e["waiting_seconds"] = int64(time.Since(a.Enqueued).Seconds())
			owner, _ := e["owner"].(string)
			e["can_start_anyway"] = !s.multiUser || c == nil || c.manages(resource{group: a.Group, owner: owner})
		}
		e["pool"] = pools[a.RunID]
		out = append(out, e)
	}
	return map[string]any{"entries": out, "total_size": len(out)}, nil
}

// queueEntry is one admission record as the queue shows it.
func (s *Server) queueEntry(ctx context.Context, a store.RunAdmission, names, owners map[string]string) (map[string]any, error) {
	e := map[string]any{"status": a.Status, "group": groupOf(a.Group), "gpus": a.GPUs, "largest_step_gpus": a.LargestStep,
		"enqueued_at": timestamp(a.Enqueued), "start_anyway": a.StartAnyway}
	if a.Status == store.StatusQueued && a.Reason != "" {
		e["reason"] = a.Reason
	}
	if len(a.Nodes) > 0 {
		e["nodes"] = a.Nodes
	}
	if name, ok := ideOf(a.RunID); ok {
		ide, err := s.store.GetIDE(ctx, name)
		if err != nil {
			return nil, err
		}
		e["kind"], e["ide"], e["display_name"], e["owner"] = "ide", name, name, ide.Owner
		return e, nil
	}
	e["kind"], e["run_id"], e["display_name"], e["owner"] = "run", a.RunID, names[a.RunID], owners[a.RunID]
	return e, nil
}
