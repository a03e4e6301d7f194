package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kubeline/kubeline/runtime/admission"
	"github.com/kubeline/kubeline/runtime/store"
)

// The change stream: GET /events?kinds=run,pool,deployment is Server-Sent
// Events of what changed ("change" events of {"kind", "id"}), so the
// console redraws a page when its data changed instead of polling. A
// caller is sent only the changes of its groups' resources: another
// group's never, not even as an id. Pools are everyone's to see, so an
// operator's change of one goes to all; a change of a pool's use that a
// run made goes to the run's group only.

// changeKinds are the kinds of change a stream can follow and the
// permission each needs (the permission of the pages that show them).
var changeKinds = map[string]perm{"run": permView, "ide": permView, "pool": permView, "deployment": permCatalog}

const (
	// changeBuffer is how many changes a slow stream may fall behind
	// before it is told to read everything again (a "resync" event).
	changeBuffer = 256
	// changeBatch is how long a stream gathers changes before it sends
	// them: a burst of snapshots of one run is one event.
	changeBatch = 150 * time.Millisecond
	// changeRecheck is how often a stream reads its caller again: a user
	// taken out of a group stops getting the group's changes.
	changeRecheck = 10 * time.Second
	// changeKeepalive is how often a quiet stream sends a comment, which
	// keeps proxies from closing it and tells a client it is alive.
	changeKeepalive = 15 * time.Second
)

// change is one thing that changed. public: anyone who follows its kind
// may know (an operator's change of a pool); else only group's members.
type change struct {
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	group  string
	public bool
}

// changeFeed hands changes to the streams following them.
type changeFeed struct {
	mu     sync.Mutex
	subs   map[*follower]struct{}
	closed bool
	// served holds the deployments whose served request is about to be
	// published (requestServed).
	served sync.Map
}

// follower is one stream: the kinds it follows and whose changes it may
// be sent (sees is nil for a single-user server's: everything).
type follower struct {
	kinds  map[string]bool
	sees   atomic.Pointer[func(group string) bool]
	ch     chan change
	behind chan struct{} // signalled when ch was full: a change was lost
	done   chan struct{} // closed when the feed closes
}

func (f *follower) may(c change) bool {
	if !f.kinds[c.Kind] {
		return false
	}
	sees := f.sees.Load()
	return c.public || sees == nil || (*sees)(c.group)
}

// setSees sets whose changes f may be sent; nil: everyone's.
func (f *follower) setSees(sees func(string) bool) {
	if sees == nil {
		f.sees.Store(nil)
		return
	}
	f.sees.Store(&sees)
}

// listening says whether any stream follows kind (publishers skip the
// work of finding a change's group when none does).
func (cf *changeFeed) listening(kind string) bool {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	for f := range cf.subs {
		if f.kinds[kind] {
			return true
		}
	}
	return false
}

func (cf *changeFeed) publish(c change) {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	for f := range cf.subs {
		if !f.may(c) {
			continue
		}
		select {
		case f.ch <- c:
		default:
			select {
			case f.behind <- struct{}{}:
			default:
			}
		}
	}
}

func (cf *changeFeed) follow(kinds []string, sees func(string) bool) (*follower, func()) {
	f := &follower{kinds: map[string]bool{}, ch: make(chan change, changeBuffer), behind: make(chan struct{}, 1), done: make(chan struct{})}
	f.setSees(sees)
	for _, k := range kinds {
		f.kinds[k] = true
	}
	cf.mu.Lock()
	defer cf.mu.Unlock()
	if cf.closed {
		close(f.done)
		return f, func() {}
	}
	if cf.subs == nil {
		cf.subs = map[*follower]struct{}{}
	}
	cf.subs[f] = struct{}{}
	return f, func() {
		cf.mu.Lock()
		delete(cf.subs, f)
		cf.mu.Unlock()
	}
}

// close ends every stream (the server is shutting down) and refuses new ones.
func (cf *changeFeed) close() {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	if cf.closed {
		return
	}
	cf.closed = true
	for f := range cf.subs {
		close(f.done)
	}
	cf.subs = nil
}

// changed publishes a change of a resource of group.
func (s *Server) changed(kind, id, group string) {
	s.changes.publish(change{Kind: kind, ID: id, group: group})
}

// runChanged publishes a change of a run, finding its group when a
// stream follows runs and the caller does not know it.
func (s *Server) runChanged(ctx context.Context, id, group string, known bool) {
	if !s.changes.listening("run") {
		return
	}
	if !known && s.multiUser {
		res, err := s.resourceOf(ctx, store.KindRun, id)
		if err != nil {
			return // gone, or the store is down: nobody is told
		}
		group = res.group
	}
	s.changed("run", id, group)
}

// poolChanged publishes an operator's change of a pool: anyone may know.
func (s *Server) poolChanged(name string) {
	s.changes.publish(change{Kind: "pool", ID: name, public: true})
}

// deploymentChanged publishes a change of a deployment (started, stopped,
// a request served), to its group.
func (s *Server) deploymentChanged(ctx context.Context, name string) {
	if name == "" || !s.changes.listening("deployment") {
		return
	}
	group := ""
	if s.multiUser {
		res, err := s.resourceOf(ctx, store.KindDeployment, name)
		if err != nil {
			return
		}
		group = res.group
	}
	s.changed("deployment", name, group)
}

// requestServed publishes, a moment later and off the request's time, that
// a deployment served a request: a burst of requests is one change, and
// nothing is done while no stream follows deployments.
func (s *Server) requestServed(name string) {
	if name == "" || !s.changes.listening("deployment") {
		return
	}
	if _, pending := s.changes.served.LoadOrStore(name, true); pending {
		return
	}
	go func() {
		time.Sleep(changeBatch)
		s.changes.served.Delete(name)
		s.deploymentChanged(s.ctx, name)
	}()
}

// servedName is the deployment an inference request was for.
func servedName(r *http.Request) string {
	if n := r.PathValue("name"); n != "" {
		return n
	}
	n, _, _ := strings.Cut(r.PathValue("action"), ":")
	return n
}

// admitChanged publishes what an admission round may have changed: the
// runs and IDEs it started, their pools, and those still waiting (their
// places and reasons move).
func (s *Server) admitChanged(st admission.State, waiting map[string]string, admitted *[]admission.Allocation) {
	if !s.changes.listening("run") && !s.changes.listening("ide") && !s.changes.listening("pool") {
		return
	}
	groups := map[string]string{}
	for _, q := range st.Queue {
		groups[q.Run] = q.Group
	}
	queued := func(run string) {
		if name, ok := ideOf(run); ok {
			s.changed("ide", name, groups[run])
		} else {
			s.changed("run", run, groups[run])
		}
	}
	for _, a := range *admitted {
		queued(a.Run)
		if a.Pool != "" {
			s.changed("pool", a.Pool, groups[a.Run])
		}
	}
	for run := range waiting {
		queued(run)
		if pool := st.Groups[groups[run]]; pool != "" { // its pool's count of waiting runs
			s.changed("pool", pool, groups[run])
		}
	}
}

// events is GET /events?kinds=K1,K2: the change stream.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	kinds := strings.Split(r.URL.Query().Get("kinds"), ",")
	c := callerOf(r.Context())
	for _, k := range kinds {
		need, ok := changeKinds[k]
		if !ok {
			writeError(w, badRequest("kinds: want some of run, ide, pool, deployment (comma separated), got %q", k))
			return
		}
		if s.multiUser && c != nil && !c.can(need) {
			writeError(w, forbidden("user %q may not follow %s changes: they need the %s permission", c.Name, k, need))
			return
		}
	}
	rc := http.NewResponseController(w)
	f, stop := s.changes.follow(kinds, s.seerOf(c))
	defer stop()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\nevent: ready\ndata: {}\n\n")
	if rc.Flush() != nil {
		return
	}
	s.stream(r, w, rc, f)
}

// seerOf is whose changes c may be sent: nil (all) without multi-user.
func (s *Server) seerOf(c *caller) func(string) bool {
	if !s.multiUser || c == nil {
		return nil
	}
	return c.sees
}

// stream writes f's changes to w in batches until the client goes, the
// server stops or the caller's token no longer signs in.
func (s *Server) stream(r *http.Request, w http.ResponseWriter, rc *http.ResponseController, f *follower) {
	keepalive := time.NewTicker(changeKeepalive)
	defer keepalive.Stop()
	recheck := time.NewTicker(changeRecheck)
	defer recheck.Stop()
	for {
		var out []byte
		select {
		case <-r.Context().Done():
			return
		case <-f.done:
			return
		case <-keepalive.C:
			out = []byte(": alive\n\n")
		case <-recheck.C:
			if !s.recheckCaller(r, f) {
				return
			}
			continue
		case <-f.behind:
			out = []byte("event: resync\ndata: {}\n\n")
		case c := <-f.ch:
			out = batch(c, f.ch)
		}
		if _, err := w.Write(out); err != nil || rc.Flush() != nil {
			return
		}
	}
}

// batch is c and the changes that arrive within changeBatch, each once, as
// one "change" event of a JSON list.
func batch(first change, ch chan change) []byte {
	seen := []change{first}
	t := time.NewTimer(changeBatch)
	defer t.Stop()
gather:
	for len(seen) < changeBuffer {
		select {
		case c := <-ch:
			if !slices.ContainsFunc(seen, func(x change) bool { return x.Kind == c.Kind && x.ID == c.ID }) {
				seen = append(seen, c)
			}
		case <-t.C:
			break gather
		}
	}
	b, _ := json.Marshal(seen)
	return append(append([]byte("event: change\ndata: "), b...), "\n\n"...)
}

// recheckCaller reads the stream's caller again from its token: false
// when it no longer signs in (deleted user or token).
func (s *Server) recheckCaller(r *http.Request, f *follower) bool {
	if !s.multiUser {
		return true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	u, err := s.store.UserByToken(r.Context(), HashToken(strings.TrimSpace(token)))
	if err != nil {
		return store.Unavailable(err) // the store is down: keep the stream, check again later
	}
	f.setSees((&caller{u}).sees)
	return true
}
