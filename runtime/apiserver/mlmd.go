package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/mlmd"
	"github.com/kubeline/kubeline/runtime/store"
)

// WithMetadata serves ML Metadata (runtime/mlmd) for the Pipelines UI on
// the API's port: uri gives an artifact store key's URI (the one steps
// see). Artifact metadata is read through WithArtifacts' reader.
func (s *Server) WithMetadata(uri func(key string) string) *Server {
	s.mlmdURI = uri
	return s
}

// metadata is the ML Metadata service over this server's runs.
func (s *Server) metadata() *mlmd.Service {
	var meta mlmd.Metadata
	if s.artifacts != nil {
		meta = func(ctx context.Context, key string) (map[string]any, error) {
			b, err := s.artifacts(ctx, key)
			if err != nil {
				return nil, err
			}
			var md struct {
				Metadata map[string]any `json:"metadata"`
			}
			err = json.Unmarshal(b, &md)
			return md.Metadata, err
		}
	}
	return mlmd.New(mlmdRuns{s}, mlmdIDs{s.store}, s.mlmdURI, meta)
}

// metadataRoutes mounts the service: its calls need the view permission,
// and each run's objects are visible only to the run's group (mlmdRuns).
func (s *Server) metadataRoutes(mux *http.ServeMux) {
	if s.mlmdURI == nil {
		return
	}
	h := s.metadata().Handler()
	pattern := "POST " + mlmd.Path + "{method}"
	s.routes = append(s.routes, pattern)
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := s.authorize(r); err != nil {
			writeError(w, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// mlmdRuns gives mlmd the runs the caller sees.
type mlmdRuns struct{ s *Server }

func (m mlmdRuns) Run(ctx context.Context, id string) (mlmd.Run, error) {
	run, err := m.s.store.GetRun(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !m.s.seesGroup(ctx, run.Namespace)) {
		return mlmd.Run{}, mlmd.ErrNotFound
	}
	if err != nil {
		return mlmd.Run{}, err
	}
	return m.s.mlmdRun(ctx, run), nil
}

func (m mlmdRuns) List(ctx context.Context, token string, size int) ([]mlmd.Run, string, error) {
	runs, page, err := m.s.store.ListRuns(ctx, "", "", m.s.visible(ctx, store.ListOptions{PageSize: size, PageToken: token, SortBy: "created_at desc"}))
	if err != nil {
		return nil, "", err
	}
	out := make([]mlmd.Run, len(runs))
	for i, r := range runs {
		out[i] = m.s.mlmdRun(ctx, r)
	}
	return out, page.NextPageToken, nil
}

// mlmdRun is a stored run as mlmd reads it.
func (s *Server) mlmdRun(ctx context.Context, r store.Run) mlmd.Run {
	out := mlmd.Run{ID: r.ID, DisplayName: r.DisplayName, Namespace: r.Namespace, CreatedAt: r.CreatedAt,
		PodName: func(wf *wfv1.Workflow, n wfv1.NodeStatus) string {
			return engine.PodName(wf.Name, n.Name, n.TemplateName)
		}}
	var wf wfv1.Workflow
	if json.Unmarshal([]byte(r.Workflow), &wf) == nil {
		out.Workflow = &wf
	}
	spec := r.PipelineSpec
	if r.PipelineVersionID != "" {
		if v, err := s.store.GetVersion(ctx, r.PipelineVersionID); err == nil {
			spec = v.Spec
		}
	}
	if doc, err := specJSON(spec); err == nil {
		if m, ok := doc.(map[string]any); ok {
			if ps, ok := m["pipeline_spec"].(map[string]any); ok {
				m = ps
			}
			out.Spec = m
			if info, ok := m["pipelineInfo"].(map[string]any); ok {
				out.PipelineName, _ = info["name"].(string)
			}
		}
	}
	return out
}

// mlmdIDs gives mlmd the store's ids.
type mlmdIDs struct{ st *store.Store }

func (m mlmdIDs) IDs(ctx context.Context, scope string, keys []string) (map[string]int64, error) {
	return m.st.MLMDIDs(ctx, scope, keys)
}

func (m mlmdIDs) Keys(ctx context.Context, ids []int64) (map[int64]mlmd.Key, error) {
	keys, err := m.st.MLMDKeys(ctx, ids)
	out := make(map[int64]mlmd.Key, len(keys))
	for id, k := range keys {
		out[id] = mlmd.Key{Scope: k.Scope, Key: k.Key}
	}
	return out, err
}
