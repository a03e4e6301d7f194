package apiserver

import (
	"net/http"
	"strings"
)

// StoreOnly makes a server that answers over its store but starts nothing:
// no run is admitted or started (runs queued in the store stay queued for
// the server that runs them) and the routes that would start a run or a
// deployment, or need one running, answer 409 with reason. The kubeline
// CLI serves its local store this way, in its own process, so that its
// commands reach the local store through the same handler, policy and JSON
// as a server's.
func (s *Server) StoreOnly(reason string) *Server {
	s.stopReason.Store(reason) // Admit does nothing
	s.storeOnly = reason
	return s
}

// refuseStoreOnly is the answer of a store-only server to a request that
// needs a running server; nil for the others.
func (s *Server) refuseStoreOnly(r *http.Request) error {
	if s.storeOnly == "" || !needsRunner(r) {
		return nil
	}
	return &apiError{http.StatusConflict, s.storeOnly}
}

// needsRunner reports whether a request starts, stops or reaches a run or
// a deployment (which live in a server's processes).
func needsRunner(r *http.Request) bool {
	p := r.Pattern
	switch {
	case p == "POST "+v2+"/runs", p == "POST "+v2+"/recurringruns", p == "POST "+kv1+"/runs/{action}":
		return true
	case p == "POST "+v2+"/runs/{action}":
		_, action, _ := strings.Cut(r.PathValue("action"), ":")
		return action == "retry" || action == "terminate"
	case strings.HasPrefix(p, "POST "+v2+"/recurringruns/"):
		_, action, _ := strings.Cut(r.PathValue("action"), ":")
		return action == "enable"
	}
	_, path, _ := strings.Cut(p, " ")
	return strings.HasPrefix(path, kv1+"/deployments") || strings.HasPrefix(path, "/v1/models/") || strings.HasPrefix(path, "/v2/")
}
