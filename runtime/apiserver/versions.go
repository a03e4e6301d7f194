package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/featureset"
	"github.com/kubeline/kubeline/runtime/lineage"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// VersionParamPrefix marks a run parameter that maps an output to a
// resource instead of setting a pipeline parameter:
// "kubeline.io/version:TASK.OUTPUT" = "model:NAME" (or "dataset:NAME").
// The kfp client sends it like any argument.
const VersionParamPrefix = "kubeline.io/version:"

// Versions keeps dataset and model versions around runs
// (runtime/versioning.Versioner): Resolve before a run starts, Record after
// it ends, CreateFrom for uploads.
type Versions interface {
	Resolve(ctx context.Context, wf *wfv1.Workflow) error
	Record(ctx context.Context, runID string, wf *wfv1.Workflow, outputs map[string]string) (*versioning.Recorded, error)
	CreateFrom(ctx context.Context, kind, name, path string, metadata map[string]any) (versioning.ProducedVersion, error)
}

// WithVersions turns on dataset and model versions.
func (s *Server) WithVersions(v Versions) *Server {
	s.versions = v
	return s
}

// versionOutputs reads the run's output-to-resource mapping from its
// runtime config.
func versionOutputs(run store.Run) map[string]string {
	var rc struct {
		Parameters map[string]any `json:"parameters"`
	}
	out := map[string]string{}
	if json.Unmarshal([]byte(run.RuntimeConfig), &rc) == nil {
		for k, v := range rc.Parameters {
			if o, ok := strings.CutPrefix(k, VersionParamPrefix); ok {
				out[o] = paramString(v)
			}
		}
	}
	return out
}

// recordVersions records what a finished run used and produced, in the
// run's group as its owner.
func (s *Server) recordVersions(run store.Run, wf *wfv1.Workflow) error {
	if s.versions == nil {
		return nil
	}
	owner, err := s.store.Owner(s.ctx, "run", run.ID)
	if err != nil {
		return err
	}
	_, err = s.versions.Record(s.scope(s.ctx, run.Namespace, owner), run.ID, wf, versionOutputs(run))
	return err
}

// versionRoutes adds the /apis/kubeline/v1 routes of datasets, models,
// versions, lineage and run metrics.
func (s *Server) versionRoutes(h func(string, func(*http.Request) (any, error))) {
	const v1 = "/apis/kubeline/v1"
	for _, kind := range store.VersionedKinds {
		kind, path := kind, v1+"/"+resourcePaths[kind]
		if kind == store.KindFeatureSet {
			h("GET "+path, s.listFeatureSets)
		} else {
			h("GET "+path, func(r *http.Request) (any, error) { return s.listResources(r, kind) })
		}
		h("GET "+path+"/{name}/versions", func(r *http.Request) (any, error) { return s.listArtifactVersions(r, kind) })
		h("GET "+path+"/{name}/versions/{version}", func(r *http.Request) (any, error) { return s.getArtifactVersion(r, kind) })
		h("GET "+path+"/{name}/versions/{version}/usage", func(r *http.Request) (any, error) { return s.versionUsage(r, kind) })
		h("GET "+path+"/{name}/versions/{version}/lineage", func(r *http.Request) (any, error) { return s.versionLineage(r, kind) })
		h("POST "+path+"/{name}/versions:upload", func(r *http.Request) (any, error) { return s.uploadArtifactVersion(r, kind) })
	}
	s.codeFeatureRoutes(h)
	h("GET "+v1+"/runs/{id}/metrics", s.runMetrics)
}

func resourceJSON(r store.Resource) map[string]any {
	return map[string]any{"name": r.Name, "kind": r.Kind, "group": r.Group, "latest_version": r.Latest, "updated_at": r.UpdatedAt}
}

func artifactVersionJSON(v store.ArtifactVersion) map[string]any {
	return map[string]any{"kind": v.Kind, "name": v.Name, "version": v.Version, "sha256": v.Digest, "size_bytes": v.Size,
		"uri": v.URI, "ref": fmt.Sprintf("%s://%s@v%d", v.Kind, v.Name, v.Version), "run_id": v.RunID, "task": v.Task,
		"metadata": v.Metadata, "created_at": v.CreatedAt, "group": v.Group, "owner": v.Owner}
}

func (s *Server) listResources(r *http.Request, kind string) (any, error) {
	rs, err := s.store.ListResources(r.Context(), kind, s.groupsOf(r.Context()))
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, r := range rs {
		out = append(out, resourceJSON(r))
	}
	return map[string]any{kind + "s": out, "total_size": len(out)}, nil
}

func (s *Server) listArtifactVersions(r *http.Request, kind string) (any, error) {
	vs, err := s.store.ListArtifactVersions(r.Context(), kind, r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, hidden(kind, r.PathValue("name")) // as a multi-user server answers
	}
	out := []map[string]any{}
	for _, v := range vs {
		out = append(out, artifactVersionJSON(v))
	}
	return map[string]any{"versions": out, "total_size": len(out)}, nil
}

// versionOf reads {name} and {version} (vN, N or latest).
func (s *Server) versionOf(r *http.Request, kind string) (store.ArtifactVersion, error) {
	_, name, n, _, err := artifact.ParseVersionURI(kind + "://" + r.PathValue("name") + "@" + r.PathValue("version"))
	if err != nil {
		return store.ArtifactVersion{}, badRequest("version: %v", err)
	}
	return s.store.GetArtifactVersion(r.Context(), kind, name, n)
}

func (s *Server) getArtifactVersion(r *http.Request, kind string) (any, error) {
	v, err := s.versionOf(r, kind)
	if err != nil {
		return nil, err
	}
	out := artifactVersionJSON(v)
	run, err := s.producerRun(r.Context(), v)
	if err != nil {
		return nil, err
	}
	if run != "" {
		ms, err := s.store.RunMetrics(r.Context(), run)
		if err != nil {
			return nil, err
		}
		out["metrics"] = metricsJSON(ms)
	}
	return out, nil
}

// versionUsage lists the runs (and IDEs) that used or made a version,
// oldest first; task=T keeps those of task T (no IDEs), limit=N the
// newest N; total_size counts them all.
func (s *Server) versionUsage(r *http.Request, kind string) (any, error) {
	v, err := s.versionOf(r, kind)
	if err != nil {
		return nil, err
	}
	limit, err := intParam(r, "limit", 0, 1, 10000)
	if err != nil {
		return nil, err
	}
	task := r.URL.Query().Get("task")
	// Runs of another group are not the caller's to know: not listed, not
	// counted.
	links, total, err := s.store.VersionUsage(r.Context(), kind, v.Name, v.Version, store.UsageQuery{
		Namespaces: s.namespacesOf(r.Context()), Task: task, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, l := range links {
		how := "used"
		if l.Produced {
			how = "produced"
		}
		out = append(out, map[string]any{"run_id": l.RunID, "task": l.Task, "how": how, "state": l.State, "artifact_key": l.Key, "created_at": l.CreatedAt})
	}
	if task == "" {
		ides, err := s.ideUsages(r.Context(), kind, fmt.Sprintf("%s@v%d", v.Name, v.Version))
		if err != nil {
			return nil, err
		}
		out = append(out, ides...)
		total += len(ides)
	}
	if limit > 0 && len(out) > limit { // the newest limit, oldest first
		out = out[len(out)-limit:]
	}
	return map[string]any{"usages": out, "total_size": total}, nil
}

// maxDrawnRuns is the most runs a lineage graph draws one by one.
const maxDrawnRuns = 200

// versionLineage serves a version's lineage: upstream for models, downstream
// for datasets (direction=up|down overrides), as JSON, or as DOT or SVG
// (format=dot|svg), bounded (lineage.Prune): depth runs away at most, runs
// sibling runs drawn one by one (the rest one counted item), 8×runs in all
// (at most maxDrawnRuns: a picture is laid out in the request).
func (s *Server) versionLineage(r *http.Request, kind string) (any, error) {
	v, err := s.versionOf(r, kind)
	if err != nil {
		return nil, err
	}
	up := kind == store.KindModel || kind == store.KindFeatureSet
	switch d := r.URL.Query().Get("direction"); d {
	case "":
	case "up", "down":
		up = d == "up"
	default:
		return nil, badRequest("direction: want up or down, got %q", d)
	}
	depth, err := intParam(r, "depth", lineage.DefaultLimit.Depth, 1, 50)
	if err != nil {
		return nil, err
	}
	runs, err := intParam(r, "runs", lineage.DefaultLimit.Runs, 1, 50)
	if err != nil {
		return nil, err
	}
	lim := lineage.Limit{Depth: depth, Runs: runs, Total: min(max(lineage.DefaultLimit.Total, 8*runs), maxDrawnRuns)}
	g, err := s.lineageWithin(r.Context(), lineage.Version{Kind: lineage.Kind(kind), Name: v.Name, Version: v.Version}, up, lim)
	if err != nil {
		return nil, err
	}
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		return g, nil
	case "dot":
		return rawBody{"text/vnd.graphviz", g.DOT()}, nil
	case "svg":
		return rawBody{"image/svg+xml", g.SVG()}, nil
	case "text":
		return rawBody{"text/plain; charset=utf-8", g.Tree(lineage.Version{Kind: lineage.Kind(kind), Name: v.Name, Version: v.Version}.ID(), up)}, nil
	default:
		return nil, badRequest("format: want json, text, dot or svg, got %q", f)
	}
}

// producerRun is the run whose metrics a version has: the run that made
// it, else — a version uploaded first whose content a run then produced, as
// the publish-model component does within its run — the first run linked
// as producing it; "" when none the caller sees.
func (s *Server) producerRun(ctx context.Context, v store.ArtifactVersion) (string, error) {
	if v.RunID != "" {
		if s.runVisible(ctx, v.RunID) {
			return v.RunID, nil
		}
		return "", nil
	}
	links, err := s.store.ProducedLinks(ctx, v.Kind, v.Name, v.Version)
	if err != nil {
		return "", err
	}
	for _, l := range links {
		if s.runVisible(ctx, l.RunID) {
			return l.RunID, nil
		}
	}
	return "", nil
}

// runVersions are the versions a run used and produced, in the order they
// were recorded: kind, name, version, task, how (used|produced), and for a
// produced one whether the run made it (created) or reproduced it.
func (s *Server) runVersions(ctx context.Context, runID string) ([]map[string]any, error) {
	links, err := s.store.RunLinks(ctx, runID)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, l := range links {
		v := map[string]any{"kind": l.Kind, "name": l.Name, "version": l.Version, "task": l.Task, "how": "used"}
		if l.Produced {
			av, err := s.store.GetArtifactVersion(ctx, l.Kind, l.Name, l.Version)
			if err != nil {
				return nil, err
			}
			v["how"], v["created"], v["sha256"] = "produced", av.RunID == runID, av.Digest
		}
		out = append(out, v)
	}
	return out, nil
}

func metricsJSON(ms []store.Metric) []map[string]any {
	out := []map[string]any{}
	for _, m := range ms {
		out = append(out, map[string]any{"task": m.Task, "artifact": m.Artifact, "name": m.Name, "number_value": m.Value})
	}
	return out
}

func (s *Server) runMetrics(r *http.Request) (any, error) {
	if _, err := s.store.GetRun(r.Context(), r.PathValue("id")); err != nil {
		return nil, err
	}
	ms, err := s.store.RunMetrics(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"metrics": metricsJSON(ms)}, nil
}

// uploadArtifactVersion makes the uploaded file (form field "uploadfile")
// a version of the named dataset or model; with ?archive=tar the file is a
// tar archive of a directory, which becomes the version (treeupload.go).
func (s *Server) uploadArtifactVersion(r *http.Request, kind string) (any, error) {
	if s.versions == nil {
		return nil, badRequest("this server keeps no versions")
	}
	name := r.PathValue("name")
	if _, _, _, ok, err := artifact.ParseVersionURI(kind + "://" + name); !ok || err != nil {
		return nil, badRequest("%s name %q: use letters, digits, '.', '_' and '-'", kind, name)
	}
	tree := false
	switch a := r.URL.Query().Get("archive"); a {
	case "":
	case "tar":
		tree = true
	default:
		return nil, badRequest("archive: want tar (a directory's archive) or nothing (one file), got %q", a)
	}
	limit := limitsOf(r.Context()).VersionUpload
	f, err := uploadPart(r, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dir, err := s.uploadTemp()
	if err != nil {
		return nil, fmt.Errorf("keep the upload: %w", err)
	}
	defer os.RemoveAll(dir)
	var path string
	if tree {
		path = filepath.Join(dir, "data")
		err = extractTree(clientReader{f}, path, limit)
	} else {
		path, err = keepFile(f, dir, limit)
	}
	if err != nil {
		return nil, err
	}
	ctx, err := s.uploadScope(r, kind)
	if err != nil {
		return nil, err
	}
	// The name is valid: what fails now is a taken name (409), data not
	// matching a featureset's features (400), storage (503) or kubeline
	// (500).
	pv, err := s.versions.CreateFrom(ctx, kind, name, path, nil)
	var mismatch *featureset.MismatchError
	if errors.As(err, &mismatch) {
		return nil, badRequest("%v", err)
	}
	if err != nil {
		return nil, err
	}
	res := artifactVersionJSON(pv.ArtifactVersion)
	res["created"] = pv.Created
	return res, nil
}

// keepFile writes the uploaded file into dir under its own base name and
// returns its path.
func keepFile(f *multipart.Part, dir string, limit int64) (string, error) {
	path := filepath.Join(dir, filepath.Base(filepath.Clean("/"+f.FileName())))
	if path == dir || filepath.Base(path) == "/" {
		path = filepath.Join(dir, "data")
	}
	out, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("keep the upload: %w", err)
	}
	_, err = io.Copy(out, clientReader{io.LimitReader(f, limit+1)})
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	var ce clientError
	switch {
	case errors.As(err, &ce):
		return "", uploadError(ce.error, limit)
	case err != nil:
		return "", fmt.Errorf("keep the upload: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > limit {
		return "", uploadError(&http.MaxBytesError{Limit: limit}, limit)
	}
	return path, nil
}

// uploadScope is the scope a new version of {name} is made in: the group
// that holds the dataset or model, or for a new one the requested group
// (?group=, which the caller must be in) else the caller's first.
func (s *Server) uploadScope(r *http.Request, kind string) (context.Context, error) {
	ctx := r.Context()
	owner := ""
	if c := callerOf(ctx); c != nil {
		owner = c.Name
	}
	if h, err := s.store.Holding(ctx, kind, r.PathValue("name")); err == nil {
		return s.scope(ctx, h.Group, owner), nil // authorize checked the caller sees it
	}
	group, err := s.groupFor(ctx, "group", r.URL.Query().Get("group"))
	if err != nil {
		return nil, err
	}
	return s.scope(ctx, group, owner), nil
}

// clientReader marks the errors of reading a request body, so that a
// copy's read side (the client: 400/413) is told from its write side (the
// server's disk: 503 when full).
type clientReader struct{ r io.Reader }

type clientError struct{ error }

func (c clientReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = clientError{err}
	}
	return n, err
}
