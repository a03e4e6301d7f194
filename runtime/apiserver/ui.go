package apiserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kubeline/kubeline/runtime/artifact"
)

// WithUI serves a Kubeflow Pipelines UI build (its build/ directory) at /
// with the routes the UI's own Node server answers: artifact previews
// (/artifacts/get and /artifacts/SOURCE/BUCKET/KEY), task logs
// (/k8s/pod/logs, from the log archive in the artifact store, else from
// the step's pod on an engine that has pods), and the
// /system and /visualizations questions it asks. With the API and ML
// Metadata on the same port, one process is the whole backend.
func (s *Server) WithUI(dir string) *Server {
	s.uiDir = dir
	return s
}

// uiRoutes mounts the UI and its routes when WithUI gave a build.
func (s *Server) uiRoutes(h func(string, func(*http.Request) (any, error)), raw func(string, http.HandlerFunc)) {
	if s.uiDir == "" {
		return
	}
	raw("GET /artifacts/get", s.uiArtifact)
	raw("GET /artifacts/{source}/{bucket}/{key...}", s.uiArtifact)
	raw("GET /k8s/pod/logs", s.uiLogs)
	h("GET /visualizations/allowed", func(*http.Request) (any, error) { return false, nil })
	files := http.FileServer(http.Dir(s.uiDir))
	raw("GET /static/", files.ServeHTTP)
	raw("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(s.uiDir, "index.html"))
	})
	raw("GET /index.html", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(s.uiDir, "index.html"))
	})
}

// CheckUI says whether dir holds a Pipelines UI build.
func CheckUI(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		return errors.New("--ui " + dir + ": not a Pipelines UI build (no index.html)")
	}
	return nil
}

// uiArtifact serves the artifact preview and download the UI builds from
// an artifact's URI: the object key of the store (its bucket must be the
// store's), its first peek bytes when asked. The caller must see the run
// that wrote it.
func (s *Server) uiArtifact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	source, bucket, key := firstOf(r.PathValue("source"), q.Get("source")), firstOf(r.PathValue("bucket"), q.Get("bucket")), firstOf(r.PathValue("key"), q.Get("key"))
	if key == "" || source == "" {
		http.Error(w, "source, bucket and key are required", http.StatusBadRequest)
		return
	}
	if s.artifacts == nil || s.mlmdURI == nil || s.mlmdURI(key) != source+"://"+bucket+"/"+key && s.mlmdURI(key) != "s3://"+bucket+"/"+key {
		http.Error(w, "no artifact "+source+"://"+bucket+"/"+key+" in kubeline's artifact store", http.StatusNotFound)
		return
	}
	if !s.ownsObject(r.Context(), key) {
		http.Error(w, "no artifact "+key, http.StatusNotFound)
		return
	}
	data, err := s.artifacts(r.Context(), key)
	if errors.Is(err, artifact.ErrNotFound) {
		http.Error(w, "no artifact "+key, http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "read artifact "+key+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	if peek, err := strconv.Atoi(q.Get("peek")); err == nil && peek > 0 && peek < len(data) {
		data = data[:peek]
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(data)
}

// uiLogs serves a step's log from the archive (artifact.LogKey) by the
// run and pod the UI names.
func (s *Server) uiLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	podName, runID := q.Get("podname"), q.Get("runid")
	if podName == "" || runID == "" {
		http.Error(w, "podname and runid arguments are required", http.StatusBadRequest)
		return
	}
	run, err := s.store.GetRun(r.Context(), runID)
	if err != nil || !s.seesGroup(r.Context(), run.Namespace) {
		http.Error(w, "no run "+runID, http.StatusNotFound)
		return
	}
	wf, _ := s.runGraph(run)
	if s.artifacts == nil || strings.ContainsAny(podName, "/\\") || !strings.HasPrefix(podName, wf.Name+"-") {
		http.Error(w, "no pod "+podName+" in run "+runID, http.StatusNotFound)
		return
	}
	data, err := s.artifacts(r.Context(), artifact.LogKey(wf.Name, podName))
	if err == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(bytes.TrimRight(data, "\x00"))
		return
	}
	// Not archived (yet): an engine whose steps are pods reads the log
	// from the pod while it exists.
	pl, ok := s.podLogs()
	if !ok {
		http.Error(w, "no archived log of pod "+podName+" (it has not ended, or kept no log)", http.StatusNotFound)
		return
	}
	rc, err := pl.PodLog(r.Context(), wf.Name, podName)
	if err != nil {
		http.Error(w, "no log of pod "+podName+": neither archived nor in a pod ("+err.Error()+")", http.StatusNotFound)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.Copy(w, io.LimitReader(rc, maxLiveLog))
}

// podLogs is what an engine whose steps run as pods (Argo's) offers: the
// log the main container of a pod of workflow has printed so far, while
// the pod exists; a pod that is not the workflow's is an error.
type podLogs interface {
	PodLog(ctx context.Context, workflow, pod string) (io.ReadCloser, error)
}

// podLogs is the server's engine when its steps are pods.
func (s *Server) podLogs() (podLogs, bool) {
	eng := s.engine
	if w, ok := eng.(watchedEngine); ok {
		eng = w.Engine
	}
	pl, ok := eng.(podLogs)
	return pl, ok
}

// maxLiveLog is how much of a pod's log the UI's log route sends.
const maxLiveLog = 64 << 20

// ownsObject says whether the caller sees the run whose workflow wrote key
// (kubeline/WORKFLOW/...); single-user servers show every object.
func (s *Server) ownsObject(ctx context.Context, key string) bool {
	c := callerOf(ctx)
	if !s.multiUser || c == nil || c.operator() {
		return true
	}
	parts := strings.Split(key, "/")
	if len(parts) < 3 || parts[0] != "kubeline" {
		return false
	}
	// A run's workflow is named after it (WorkflowName).
	_, ok := s.runOfWorkflow(ctx, parts[1])
	return ok
}
