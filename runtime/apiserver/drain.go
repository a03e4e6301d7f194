package apiserver

import (
	"errors"
	"net/http"
	"os"
	"sync"
	"time"
)

// inflight are the requests being served whose body may still be read, so
// that a server shutting down can bound how long it waits for them.
type inflight struct {
	mu       sync.Mutex
	reqs     map[*http.Request]*http.ResponseController
	deadline time.Time // set by Drain
}

// begin registers a request; the returned function ends it.
func (f *inflight) begin(w http.ResponseWriter, r *http.Request) func() {
	if r.Body == nil || r.Body == http.NoBody {
		return func() {}
	}
	rc := http.NewResponseController(w)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reqs == nil {
		f.reqs = map[*http.Request]*http.ResponseController{}
	}
	f.reqs[r] = rc
	if !f.deadline.IsZero() {
		_ = rc.SetReadDeadline(f.deadline)
	}
	return func() {
		f.mu.Lock()
		delete(f.reqs, r)
		f.mu.Unlock()
	}
}

// Drain gives the requests in flight grace to send the rest of their
// bodies: an upload that arrives in time is served as usual, one that does
// not is answered 503 with Retry-After (errShutdown). Call it when the
// server starts shutting down, before http.Server.Shutdown, which then
// waits for those answers.
func (s *Server) Drain(grace time.Duration) {
	s.changes.close() // change streams end now: they would hold Shutdown up
	f := &s.inflight
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deadline = time.Now().Add(grace)
	for _, rc := range f.reqs {
		_ = rc.SetReadDeadline(f.deadline)
	}
}

// shutdownError is the answer to a body cut off by Drain, nil for other
// errors.
func shutdownError(err error) error {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return &apiError{http.StatusServiceUnavailable,
		"the server is shutting down and the request body did not arrive before it had to stop: send it again"}
}
