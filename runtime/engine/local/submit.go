package local

import (
	"context"
	"fmt"
	"sync"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/engine"
)

var _ engine.Engine = (*Runner)(nil)

// Runner runs workflows in the background and implements engine.Engine on
// top of an Engine: Submit starts a run, Watch streams its status, Stop
// stops it.
type Runner struct {
	e    *Engine
	mu   sync.Mutex
	runs map[string]*handle
}

type handle struct {
	cancel   context.CancelFunc
	mu       sync.Mutex
	latest   *wfv1.Workflow
	done     bool
	watchers []chan *wfv1.Workflow
}

// NewRunner returns a Runner over an engine built from opts (its OnUpdate is
// replaced: updates go to watchers).
func NewRunner(opts Options) *Runner {
	return &Runner{e: New(opts), runs: map[string]*handle{}}
}

// Submit starts wf and returns its name at once.
func (r *Runner) Submit(ctx context.Context, wf *wfv1.Workflow) (string, error) {
	wf = wf.DeepCopy()
	if wf.Name == "" {
		wf.Name = wf.GenerateName + randomSuffix()
	}
	h := &handle{}
	r.mu.Lock()
	if prev, dup := r.runs[wf.Name]; dup {
		prev.mu.Lock()
		running := !prev.done
		prev.mu.Unlock()
		if running {
			r.mu.Unlock()
			return "", fmt.Errorf("workflow %q is already running", wf.Name)
		}
	}
	r.runs[wf.Name] = h
	r.mu.Unlock()
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.cancel = cancel
	e := *r.e
	e.opts.OnUpdate = h.publish
	go func() {
		defer cancel()
		final, err := e.Run(runCtx, wf)
		if err != nil {
			final = wf.DeepCopy()
			final.Status.Phase = wfv1.WorkflowError
			final.Status.Message = err.Error()
		}
		h.finish(final)
	}()
	return wf.Name, nil
}

func (h *handle) publish(wf *wfv1.Workflow) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.latest = wf
	for _, w := range h.watchers {
		select {
		case w <- wf:
		default: // a slow watcher misses intermediate snapshots, never the last
		}
	}
}

func (h *handle) finish(wf *wfv1.Workflow) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.latest, h.done = wf, true
	for _, w := range h.watchers {
		w <- wf
		close(w)
	}
	h.watchers = nil
}

// Watch streams snapshots of the named run until it ends; the last one is
// final, then the channel closes.
func (r *Runner) Watch(ctx context.Context, name string) (<-chan *wfv1.Workflow, error) {
	r.mu.Lock()
	h, ok := r.runs[name]
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no workflow %q", name)
	}
	ch := make(chan *wfv1.Workflow, 16)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.latest != nil {
		ch <- h.latest
	}
	if h.done {
		close(ch)
		return ch, nil
	}
	h.watchers = append(h.watchers, ch)
	return ch, nil
}

// Stop stops the named run.
func (r *Runner) Stop(ctx context.Context, name string) error {
	r.mu.Lock()
	h, ok := r.runs[name]
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("no workflow %q", name)
	}
	h.cancel()
	return nil
}
