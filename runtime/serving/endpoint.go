package serving

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Routes adds the inference endpoint to mux, KServe's V1 and V2 protocols:
//
//	POST /v1/models/NAME:predict      GET /v1/models/NAME
//	POST /v2/models/NAME/infer        GET /v2/models/NAME/ready, GET /v2/models/NAME
//	GET  /v2/health/live              GET /v2/health/ready
//
// Predict and infer go to the deployment's transformer (or predictor);
// readiness and metadata are answered here.
func (m *Manager) Routes(handle func(pattern string, h http.HandlerFunc)) {
	handle("POST /v1/models/{action}", func(w http.ResponseWriter, r *http.Request) {
		name, verb, ok := strings.Cut(r.PathValue("action"), ":")
		if !ok || verb != "predict" {
			writeError(w, http.StatusNotFound, fmt.Sprintf("want POST /v1/models/NAME:predict, got %s", r.URL.Path))
			return
		}
		m.forward(w, r, name)
	})
	handle("GET /v1/models/{name}", func(w http.ResponseWriter, r *http.Request) {
		d := m.lookup(r.PathValue("name"))
		if d == nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("model %s is not deployed", r.PathValue("name")))
			return
		}
		writeJSON(w, map[string]any{"name": d.spec.Name, "ready": true})
	})
	handle("POST /v2/models/{name}/infer", func(w http.ResponseWriter, r *http.Request) { m.forward(w, r, r.PathValue("name")) })
	handle("GET /v2/models/{name}/ready", func(w http.ResponseWriter, r *http.Request) {
		if m.lookup(r.PathValue("name")) == nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("model %s is not deployed", r.PathValue("name")))
			return
		}
		writeJSON(w, map[string]any{"name": r.PathValue("name"), "ready": true})
	})
	handle("GET /v2/models/{name}", func(w http.ResponseWriter, r *http.Request) {
		d := m.lookup(r.PathValue("name"))
		if d == nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("model %s is not deployed", r.PathValue("name")))
			return
		}
		writeJSON(w, map[string]any{"name": d.spec.Name, "versions": []string{d.spec.Stable.Model}, "platform": "kubeline-local"})
	})
	handle("GET /v2/health/live", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, map[string]any{"live": true}) })
	handle("GET /v2/health/ready", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, map[string]any{"ready": true}) })
}

// forward sends a predict or infer request to the revision's transformer,
// or to its predictor when it has none, under the same path.
func (m *Manager) forward(w http.ResponseWriter, r *http.Request, name string) {
	d := m.lookup(name)
	if d == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %s is not deployed", name))
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	w = sw
	defer func() { d.traffic.add(start, time.Since(start), sw.status) }() // traffic.go
	rev := d.route()
	b := rev.predictor
	if rev.transformer != nil {
		b = rev.transformer
	}
	if b.proxy == nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("deployment %s: its InferenceService reports no URL yet", name))
		return
	}
	if rec := m.recorder.Load(); rec != nil && (*rec).Sampled(name) {
		recorded(*rec, w, r, d, rev, b.proxy)
		return
	}
	b.proxy.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
