package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/admission"
	"github.com/kubeline/kubeline/runtime/store"
)

// kfpStates maps kubeline's run statuses (DKube's) onto KFP's run states.
var kfpStates = map[string]string{
	store.StatusQueued:   "PENDING",
	store.StatusStarting: "PENDING",
	store.StatusRunning:  "RUNNING",
	store.StatusComplete: "SUCCEEDED",
	store.StatusStopping: "CANCELING",
	store.StatusStopped:  "CANCELED",
	store.StatusError:    "FAILED",
}

// statusOfState is the status of a run that has no admission record (made
// before admission was wired in) or whose final state was reported by
// someone else (an Argo agent, a server that stopped).
var statusOfState = map[string]string{
	"PENDING": store.StatusQueued, "RUNNING": store.StatusRunning, "SUCCEEDED": store.StatusComplete,
	"CANCELING": store.StatusStopping, "CANCELED": store.StatusStopped, "FAILED": store.StatusError,
}

func finalStatus(status string) bool {
	return status == store.StatusComplete || status == store.StatusStopped || status == store.StatusError
}

// runStatus is a run's status: its admission record's, unless the run's
// KFP state says it ended.
func runStatus(run store.Run, a *store.RunAdmission) string {
	if a == nil {
		return statusOfState[run.State]
	}
	if s := statusOfState[run.State]; finalStatus(s) && !finalStatus(a.Status) {
		return s
	}
	return a.Status
}

// nextStatus is the status a workflow snapshot moves a run to.
func nextStatus(w *wfv1.Workflow, current string) string {
	switch w.Status.Phase {
	case wfv1.WorkflowSucceeded:
		return store.StatusComplete
	case wfv1.WorkflowFailed, wfv1.WorkflowError:
		if w.Status.Message == "stopped" {
			return store.StatusStopped
		}
		return store.StatusError
	}
	if current == store.StatusStopping {
		return current
	}
	if w.Status.Phase == wfv1.WorkflowRunning {
		return store.StatusRunning
	}
	return current
}

// queue records a new run's place in admission: its group's pool, its peak
// GPU demand from the compiled workflow, start_anyway and multi_node.
func (s *Server) queue(ctx context.Context, run store.Run, wf *wfv1.Workflow, startAnyway, multiNode bool) error {
	d, err := admission.PeakDemand(wf)
	if err != nil {
		return badRequest("run: GPU demand: %v", err)
	}
	return s.store.PutAdmission(ctx, &store.RunAdmission{RunID: run.ID, Status: store.StatusQueued, Group: groupOf(run.Namespace),
		GPUs: d.GPUs, LargestStep: d.LargestStep, Resource: d.Resource, Dynamic: d.Dynamic, MultiNode: multiNode, StartAnyway: startAnyway})
}

// snapshot reads pools, groups, running allocations and the queue.
func (s *Server) snapshot(ctx context.Context) (admission.State, error) {
	pools, err := s.pools(ctx)
	if err != nil {
		return admission.State{}, err
	}
	groups, err := s.store.GroupPools(ctx)
	if err != nil {
		return admission.State{}, err
	}
	active, err := s.store.ActiveAdmissions(ctx)
	if err != nil {
		return admission.State{}, err
	}
	st := admission.State{Pools: pools, Groups: groups}
	for _, a := range active {
		if a.Status == store.StatusQueued {
			st.Queue = append(st.Queue, admission.Request{Run: a.RunID, Group: a.Group, MultiNode: a.MultiNode, StartAnyway: a.StartAnyway,
				Enqueued: a.Enqueued, Demand: admission.Demand{GPUs: a.GPUs, LargestStep: a.LargestStep, Resource: a.Resource, Dynamic: a.Dynamic}})
		} else if a.Pool != "" {
			st.Running = append(st.Running, admission.Allocation{Run: a.RunID, Pool: a.Pool, Nodes: a.Nodes})
		}
	}
	return st, nil
}

// pools returns every pool, the default one first.
func (s *Server) pools(ctx context.Context) ([]admission.Pool, error) {
	stored, err := s.store.ListPools(ctx)
	if err != nil {
		return nil, err
	}
	var ps []admission.Pool
	for _, p := range stored {
		ap := admission.Pool{Name: p.Name, GPUType: p.GPUType}
		for _, n := range p.Nodes {
			ap.Nodes = append(ap.Nodes, admission.Node{Name: n.Name, GPUs: n.GPUs})
		}
		ps = append(ps, ap)
	}
	return admission.WithDefault(s.cluster, ps), nil
}

// Admit takes a snapshot, lets admission decide, starts the admitted runs
// and records why the others wait. It runs when a run is queued, ends or is
// stopped, and when pools or groups change: only those events free GPUs
// (time alone only ages runs, which never admits one more).
func (s *Server) Admit(ctx context.Context) error {
	s.admitMu.Lock()
	defer s.admitMu.Unlock()
	if reason, _ := s.stopReason.Load().(string); reason != "" {
		return nil // StopRuns: queued runs stay queued for the next server
	}
	st, err := s.snapshot(ctx)
	if err != nil {
		return err
	}
	d := admission.Decide(st, time.Now(), admission.Options{Aging: s.aging})
	var admitted []admission.Allocation
	defer func() { s.samplePools(ctx, st, admitted) }() // poolusage.go
	defer s.admitChanged(st, d.Waiting, &admitted)
	for _, a := range d.Admit {
		if err := s.store.AdmitRun(ctx, a.Run, a.Pool, a.Nodes); err != nil {
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			return err
		}
		admitted = append(admitted, a)
		if name, ok := ideOf(a.Run); ok {
			if err := s.startIDE(ctx, name); err != nil {
				return err
			}
			continue
		}
		run, err := s.store.GetRun(ctx, a.Run)
		if err != nil {
			return err
		}
		var wf wfv1.Workflow
		if err := json.Unmarshal([]byte(run.Workflow), &wf); err != nil {
			if err := s.ended(ctx, run.ID, store.StatusError, "the stored workflow cannot be read: "+err.Error()); err != nil {
				return err
			}
			continue
		}
		wf.Status = wfv1.WorkflowStatus{}
		wf.Name = ""
		s.start(run, &wf)
	}
	return s.store.SetWaitReasons(ctx, d.Waiting)
}

// admitLater runs Admit outside the caller's lock (a run that could not
// start releases its GPUs).
func (s *Server) admitLater() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.Admit(s.ctx)
	}()
}

// ended records a run's final status with its message.
func (s *Server) ended(ctx context.Context, id, status, msg string) error {
	if err := s.store.UpdateRun(ctx, id, kfpStates[status], msg, "", time.Now()); err != nil {
		return err
	}
	defer s.runChanged(ctx, id, "", false)
	return s.store.SetRunStatus(ctx, id, status)
}

// observe records a workflow snapshot of a run: its status and KFP state,
// and once it has ended, admits what its GPUs let start.
// state is KFP's state of the snapshot (FAILED for a run that succeeded but
// whose versions could not be recorded).
func (s *Server) observe(id string, w *wfv1.Workflow, state string) error {
	a, err := s.store.GetAdmission(s.ctx, id)
	if err != nil && store.Unavailable(err) {
		return err
	}
	tracked := err == nil
	status := ""
	if tracked {
		status = nextStatus(w, a.Status)
		if status == store.StatusComplete && state == "FAILED" {
			status = store.StatusError
		}
		state = kfpStates[status]
	}
	finished := time.Time{}
	if w.Status.Phase.Completed() {
		finished = w.Status.FinishedAt.Time
	}
	ending := tracked && finalStatus(status) && !finalStatus(a.Status)
	if ending {
		// The run's GPUs are released before it reads as ended, so whoever
		// sees it ended (a client, a /metrics scrape) sees them free too.
		if err := s.store.SetRunStatus(s.ctx, id, status); err != nil {
			return err
		}
		defer func() { _ = s.Admit(s.ctx) }() // Admit records its own decisions; a failure waits for the next
	}
	b, _ := json.Marshal(w)
	if err := s.store.UpdateRun(s.ctx, id, state, w.Status.Message, string(b), finished); err != nil {
		return err
	}
	s.runChanged(s.ctx, id, a.Group, tracked) // changes.go
	if ending && a.Pool != "" {
		s.changed("pool", a.Pool, a.Group)
	}
	if w.Status.Phase.Completed() {
		s.keepEnded(id) // runlist.go
	}
	if tracked && !ending && status != a.Status {
		return s.store.SetRunStatus(s.ctx, id, status)
	}
	return nil
}

// terminate stops a run: a queued one at once (it never started), a
// starting or running one through the engine.
func (s *Server) terminate(ctx context.Context, run store.Run) (any, error) {
	if run.State != "PENDING" && run.State != "RUNNING" {
		return nil, badRequest("run %s is %s: only a pending or running run can be terminated", run.ID, run.State)
	}
	s.admitMu.Lock()
	a, aerr := s.store.GetAdmission(ctx, run.ID)
	if aerr == nil && a.Status == store.StatusQueued {
		err := s.ended(ctx, run.ID, store.StatusStopped, "stopped before it started")
		s.admitMu.Unlock()
		if err != nil {
			return nil, err
		}
		return map[string]any{}, s.Admit(s.ctx)
	}
	if aerr != nil && store.Unavailable(aerr) {
		s.admitMu.Unlock()
		return nil, aerr
	}
	s.admitMu.Unlock()
	if err := s.store.UpdateRun(ctx, run.ID, "CANCELING", "", "", time.Time{}); err != nil {
		return nil, err
	}
	defer s.runChanged(ctx, run.ID, "", false)
	if aerr == nil {
		if err := s.store.SetRunStatus(ctx, run.ID, store.StatusStopping); err != nil {
			return nil, err
		}
	}
	return map[string]any{}, s.engine.Stop(ctx, WorkflowName(run.ID))
}

// requeue puts a retried run back in its pool's queue.
func (s *Server) requeue(ctx context.Context, run store.Run) error {
	a, err := s.store.GetAdmission(ctx, run.ID)
	if err != nil {
		return err
	}
	a.Status, a.Reason, a.Pool, a.Nodes, a.Enqueued = store.StatusQueued, "", "", nil, time.Time{}
	if err := s.store.PutAdmission(ctx, &a); err != nil {
		return err
	}
	return s.Admit(s.ctx)
}

// notActive refuses to archive or delete a run that waits or runs.
func (s *Server) notActive(ctx context.Context, run store.Run, verb string) error {
	var a *store.RunAdmission
	if got, err := s.store.GetAdmission(ctx, run.ID); err == nil {
		a = &got
	}
	if st := runStatus(run, a); !finalStatus(st) {
		return &apiError{http.StatusConflict, "run " + run.ID + " is " + st + ": stop it before you " + verb + " it"}
	}
	return nil
}

// runGroup puts a new run in its group — its experiment's namespace, else
// the group of the pipeline it runs when the caller is in it, else the
// creator's group — and returns its owner: the caller, or for a
// recurring run's run the recurring run's owner. The caller must be in the
// group.
func (s *Server) runGroup(ctx context.Context, run *store.Run, pipelineGroup string) (owner string, err error) {
	c := callerOf(ctx)
	if c == nil && run.RecurringRunID != "" { // fired by the scheduler
		rr, err := s.store.GetRecurringRun(ctx, run.RecurringRunID)
		if err != nil {
			return "", err
		}
		run.Namespace = rr.Namespace
		return s.store.Owner(ctx, "recurring_run", rr.ID)
	}
	if run.Namespace, err = s.createIn(ctx, run.ExperimentID, "namespace", pipelineGroup); err != nil {
		return "", err
	}
	if c != nil {
		return c.Name, nil
	}
	return "", nil
}

// submit records a new run's owner and queues it; admission starts it.
func (s *Server) submit(ctx context.Context, run store.Run, wf *wfv1.Workflow, owner string, startAnyway, multiNode bool) error {
	if owner != "" {
		if err := s.store.SetOwner(ctx, "run", run.ID, owner); err != nil {
			return err
		}
	}
	if err := s.queue(ctx, run, wf, startAnyway, multiNode); err != nil {
		_ = s.ended(ctx, run.ID, store.StatusError, err.Error()) // err is the answer; the run is not started
		return err
	}
	return s.Admit(s.ctx)
}

// startFailed ends a run the engine would not take; its GPUs return. The
// end is recorded whatever it takes (retryStore).
func (s *Server) startFailed(id string, err error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.retryStore("run "+id, func() error { return s.ended(s.ctx, id, store.StatusError, err.Error()) })
		s.admitLater()
	}()
}

// createIn is the namespace (group) a new run or recurring run belongs to:
// its experiment's, which the caller must see, else the requested or the
// caller's group (groupFor).
func (s *Server) createIn(ctx context.Context, experimentID, field, requested string) (string, error) {
	if experimentID == "" {
		return s.groupFor(ctx, field, requested)
	}
	e, err := s.store.GetExperiment(ctx, experimentID)
	if err != nil {
		return "", err
	}
	if !s.seesGroup(ctx, e.Namespace) {
		return "", hidden("experiment", experimentID)
	}
	return e.Namespace, nil
}
