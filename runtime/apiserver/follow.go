package apiserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/store"
)

// Retries of store writes that failed for a storage fault.
const (
	firstRetry = 100 * time.Millisecond
	maxRetry   = 5 * time.Second
)

// faults counts the store writes waiting for the store to come back, and
// keeps the last fault: /readyz fails while any wait.
type faults struct {
	mu      sync.Mutex
	waiting map[string]error // what waits -> its last fault
}

func (f *faults) set(what string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.waiting == nil {
		f.waiting = map[string]error{}
	}
	if err == nil {
		delete(f.waiting, what)
		return
	}
	f.waiting[what] = err
}

// err describes the waiting writes, nil when none waits.
func (f *faults) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for what, err := range f.waiting {
		return fmt.Errorf("%d store writes wait for the store (%s: %w)", len(f.waiting), what, err)
	}
	return nil
}

// retryStore runs write until it succeeds or fails for something other
// than a storage fault, waiting firstRetry doubling to maxRetry between
// tries, or until the server stops. what names it for /readyz and the log.
func (s *Server) retryStore(what string, write func() error) error {
	defer s.faults.set(what, nil)
	for backoff := firstRetry; ; backoff = min(2*backoff, maxRetry) {
		err := write()
		if err == nil || !store.Unavailable(err) {
			return err
		}
		s.faults.set(what, err)
		s.tel.log.Warn("store unavailable: a write waits", "what", what, "retry_in", backoff.String(), "error", err.Error())
		select {
		case <-time.After(backoff):
		case <-s.ctx.Done():
			return err
		}
	}
}

// follow records the snapshots of a run's workflow until the last one,
// which it records whatever it takes: a write that fails for a storage
// fault is retried with backoff (firstRetry doubling to maxRetry) until
// it succeeds or the server stops, newer snapshots replacing the one that
// waits; the run's message then says the store was unavailable.
func (s *Server) follow(run store.Run, workflow string, ch <-chan *wfv1.Workflow) {
	var (
		waiting  *wfv1.Workflow // the newest snapshot not yet recorded
		fault    error          // the last storage fault, nil when recording works
		faultAt  time.Time
		backoff  = firstRetry
		timer    *time.Timer
		finalRec bool // the last snapshot has been recorded
	)
	key := "run " + run.ID
	defer s.faults.set(key, nil)
	defer s.running.Delete(run.ID)
	for ch != nil || waiting != nil {
		var retry <-chan time.Time
		if timer != nil {
			retry = timer.C
		}
		select {
		case w, ok := <-ch:
			if !ok {
				ch = nil
				continue
			}
			waiting = w
			if fault != nil {
				continue // recorded when the retry fires
			}
		case <-retry:
			timer = nil
		case <-s.ctx.Done():
			return // the next server ends the run (recoverRuns)
		}
		if finalRec {
			waiting = nil // the engine may deliver its last snapshot twice
		}
		if waiting == nil {
			continue
		}
		w := waiting.DeepCopy()
		err := s.recordSnapshot(run, w, fault, faultAt)
		switch {
		case err == nil:
			waiting, fault, backoff = nil, nil, firstRetry
			finalRec = w.Status.Phase.Completed()
			s.faults.set(key, nil)
		case store.Unavailable(err):
			if fault == nil {
				faultAt = time.Now()
			}
			fault = err
			s.faults.set(key, err)
			s.tel.log.Warn("store unavailable: the run's state waits", "run_id", run.ID, "retry_in", backoff.String(), "error", err.Error())
			timer = time.NewTimer(backoff)
			backoff = min(2*backoff, maxRetry)
		default: // not a storage fault: retrying will not help
			s.tel.log.Error("record run state", "run_id", run.ID, "error", err.Error())
			waiting = nil
		}
	}
}

// recordSnapshot records one snapshot: for the last one, the versions the
// run made first, and a message naming the storage fault it waited out.
func (s *Server) recordSnapshot(run store.Run, w *wfv1.Workflow, fault error, faultAt time.Time) error {
	state := RunState(w)
	if reason, _ := s.stopReason.Load().(string); reason != "" && w.Status.Phase.Completed() && w.Status.Message == "stopped" {
		state, w.Status.Message = "FAILED", reason // StopRuns stopped it
	}
	if w.Status.Phase.Completed() {
		if err := s.recordVersions(run, w); err != nil {
			if werr := s.store.CheckWrite(s.ctx); werr != nil && store.Unavailable(werr) {
				return werr // the versions are recorded once the store writes again
			}
			// A run that succeeded but whose versions could not be
			// recorded did not do its job.
			state, w.Status.Message = "FAILED", fmt.Sprintf("record versions: %v", err)
		}
		if err := s.recordBuilt(run, w); err != nil {
			if store.Unavailable(err) {
				return err
			}
			state, w.Status.Message = "FAILED", fmt.Sprintf("record the built image in the catalog: %v", err)
		}
		if w.Status.Message == "" {
			w.Status.Message = engine.FailedSteps(w)
		}
		if fault != nil {
			note := fmt.Sprintf("recorded %s late: the store was unavailable (%s)", time.Since(faultAt).Round(time.Second), store.FaultReason(fault))
			if w.Status.Message != "" {
				note = w.Status.Message + "; " + note
			}
			w.Status.Message = note
		}
	}
	return s.observe(run.ID, w, state)
}

// StopRuns stops every run the server follows on its engine and waits,
// until ctx ends, for their ends to be recorded: FAILED with reason. A
// server whose engine runs steps as its own child processes calls it when
// it shuts down, so that no step outlives it.
func (s *Server) StopRuns(ctx context.Context, reason string) error {
	s.admitMu.Lock() // an admission in progress starts its runs first
	s.stopReason.Store(reason)
	s.admitMu.Unlock()
	var errs []error
	stopped := map[any]bool{}
	for {
		n := 0
		s.running.Range(func(id, workflow any) bool {
			n++
			if !stopped[id] {
				stopped[id] = true
				if err := s.engine.Stop(ctx, workflow.(string)); err != nil {
					errs = append(errs, fmt.Errorf("stop run %s: %w", id, err))
				}
			}
			return true
		})
		if n == 0 {
			return errors.Join(errs...)
		}
		select {
		case <-ctx.Done():
			return errors.Join(append(errs, fmt.Errorf("%d runs not recorded as stopped: %w", n, ctx.Err()))...)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
