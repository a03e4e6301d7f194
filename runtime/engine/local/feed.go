package local

import (
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// feedInterval is the least time between two deliveries to subscribers:
// changes made meanwhile are coalesced into the next one.
const feedInterval = 50 * time.Millisecond

// feed delivers a run's status to its subscribers (Options.OnNodes,
// Options.OnUpdate) from one goroutine, so that steps never wait on a
// subscriber, at a cost per change rather than per node: the engine marks
// the nodes it changes (changed, under run.mu); each delivery copies only
// those. Full snapshots for OnUpdate share the copies of unchanged nodes
// with the previous snapshot instead of deep-copying the whole workflow, and
// are built at most every 20 times their own cost, so that even a very
// large status costs a bounded share of the run.
type feed struct {
	r    *run
	kick chan struct{} // something changed (capacity 1)
	stop chan struct{} // the run ended: deliver the rest, then return
	done chan struct{}

	// Under r.mu: the nodes changed since the last delivery, in the
	// order they first changed.
	changed []string
	dirty   map[string]bool

	// The publisher goroutine's own.
	nodes    wfv1.Nodes // latest copy of every node (OnUpdate only)
	lastFull time.Time
	fullCost time.Duration
}

func newFeed(r *run) *feed {
	return &feed{r: r, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		dirty: map[string]bool{}, nodes: wfv1.Nodes{}}
}

// active reports whether anyone subscribes.
func (f *feed) active() bool { return f.r.e.opts.OnNodes != nil || f.r.e.opts.OnUpdate != nil }

// mark records that node id changed (callers hold r.mu); an empty id marks
// a change of the workflow's own status.
func (f *feed) mark(id string) {
	if !f.active() {
		return
	}
	if id != "" && !f.dirty[id] {
		f.dirty[id] = true
		f.changed = append(f.changed, id)
	}
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// run delivers changes until close; started by Run.
func (f *feed) run() {
	defer close(f.done)
	last := time.Time{}
	for {
		select {
		case <-f.kick:
		case <-f.stop:
			f.deliver(true)
			return
		}
		if wait := feedInterval - time.Since(last); wait > 0 {
			select {
			case <-time.After(wait):
			case <-f.stop:
				f.deliver(true)
				return
			}
		}
		last = time.Now()
		f.deliver(false)
	}
}

// close delivers what is left, the final status included, and returns
// when the subscribers have it.
func (f *feed) close() {
	close(f.stop)
	<-f.done
}

// deliver hands the changes since the last delivery to OnNodes and, when
// one is due (always when final), a snapshot to OnUpdate.
func (f *feed) deliver(final bool) {
	opts := f.r.e.opts
	if !f.active() {
		return
	}
	r := f.r
	r.mu.Lock()
	copies := make([]wfv1.NodeStatus, len(f.changed))
	for i, id := range f.changed {
		n := r.wf.Status.Nodes[id]
		n.DeepCopyInto(&copies[i])
		delete(f.dirty, id)
	}
	f.changed = f.changed[:0]
	var snap *wfv1.Workflow
	if opts.OnUpdate != nil {
		for _, n := range copies {
			f.nodes[n.ID] = n
		}
		if final || time.Since(f.lastFull) >= max(feedInterval, 20*f.fullCost) {
			start := time.Now()
			snap = f.snapshot()
			f.lastFull, f.fullCost = start, time.Since(start)
		}
	}
	r.mu.Unlock()
	if opts.OnNodes != nil && len(copies) > 0 {
		opts.OnNodes(copies)
	}
	if snap != nil {
		opts.OnUpdate(snap)
	}
}

// snapshot is the workflow as of now (callers hold r.mu): its own fields
// copied, the spec shared (the engine never changes it), and nodes that
// share their content with earlier snapshots (read-only to subscribers).
func (f *feed) snapshot() *wfv1.Workflow {
	wf := f.r.wf
	s := &wfv1.Workflow{TypeMeta: wf.TypeMeta, Spec: wf.Spec}
	wf.ObjectMeta.DeepCopyInto(&s.ObjectMeta)
	s.Status = wf.Status
	s.Status.Nodes = make(wfv1.Nodes, len(f.nodes))
	for id, n := range f.nodes {
		s.Status.Nodes[id] = n
	}
	if wf.Status.Outputs != nil {
		s.Status.Outputs = wf.Status.Outputs.DeepCopy()
	}
	return s
}
