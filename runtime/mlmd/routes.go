package mlmd

import (
	"context"
	"fmt"
	"net/http"

	"connectrpc.com/connect"
	mlpb "github.com/kubeflow/pipelines/third_party/ml-metadata/go/ml_metadata"
)

// unary adds one method: f's answer, its error mapped to a gRPC code.
func unary[Req, Res any](add func(string, http.Handler), name string, f func(context.Context, *Req) (*Res, error)) {
	add(name, connect.NewUnaryHandler(Path+name, func(ctx context.Context, r *connect.Request[Req]) (*connect.Response[Res], error) {
		res, err := f(ctx, r.Msg)
		if err != nil {
			return nil, rpcError(err)
		}
		return connect.NewResponse(res), nil
	}, connect.WithReadMaxBytes(1<<20)))
}

// routes adds the read methods of MetadataStoreService the Pipelines UI
// and its Node server call (and their siblings); writes are not served.
func (s *Service) routes(add func(string, http.Handler)) {
	s.contextRoutes(add)
	s.executionRoutes(add)
	s.artifactRoutes(add)
	s.typeRoutes(add)
}

func (s *Service) contextRoutes(add func(string, http.Handler)) {
	unary(add, "GetContextByTypeAndName", func(ctx context.Context, r *mlpb.GetContextByTypeAndNameRequest) (*mlpb.GetContextByTypeAndNameResponse, error) {
		if r.GetTypeName() != TypePipelineRun {
			return &mlpb.GetContextByTypeAndNameResponse{}, nil
		}
		l, err := s.load(ctx, r.GetContextName()) // no such run (for this caller): NOT_FOUND
		if err != nil {
			return nil, err
		}
		return &mlpb.GetContextByTypeAndNameResponse{Context: contextProto(l.g, l.id[ContextKey])}, nil
	})
	unary(add, "GetContextsByID", func(ctx context.Context, r *mlpb.GetContextsByIDRequest) (*mlpb.GetContextsByIDResponse, error) {
		out := &mlpb.GetContextsByIDResponse{}
		err := s.byIDs(ctx, r.GetContextIds(), func(l *loaded, key string) {
			if key == ContextKey {
				out.Contexts = append(out.Contexts, contextProto(l.g, l.id[ContextKey]))
			}
		})
		return out, err
	})
	contexts := func(ctx context.Context, typeName string, opts *mlpb.ListOperationOptions) ([]*mlpb.Context, string, error) {
		var all []*mlpb.Context
		if typeName != "" && typeName != TypePipelineRun {
			return nil, "", nil
		}
		err := s.all(ctx, func(l *loaded) bool {
			all = append(all, contextProto(l.g, l.id[ContextKey]))
			return true
		})
		if err != nil {
			return nil, "", err
		}
		return page(all, opts)
	}
	unary(add, "GetContexts", func(ctx context.Context, r *mlpb.GetContextsRequest) (*mlpb.GetContextsResponse, error) {
		cs, next, err := contexts(ctx, "", r.GetOptions())
		return &mlpb.GetContextsResponse{Contexts: cs, NextPageToken: &next}, err
	})
	unary(add, "GetContextsByType", func(ctx context.Context, r *mlpb.GetContextsByTypeRequest) (*mlpb.GetContextsByTypeResponse, error) {
		cs, next, err := contexts(ctx, r.GetTypeName(), r.GetOptions())
		return &mlpb.GetContextsByTypeResponse{Contexts: cs, NextPageToken: &next}, err
	})
	unary(add, "GetContextsByExecution", func(ctx context.Context, r *mlpb.GetContextsByExecutionRequest) (*mlpb.GetContextsByExecutionResponse, error) {
		out := &mlpb.GetContextsByExecutionResponse{}
		err := s.byIDs(ctx, []int64{r.GetExecutionId()}, func(l *loaded, key string) {
			if _, ok := l.execution(key); ok {
				out.Contexts = append(out.Contexts, contextProto(l.g, l.id[ContextKey]))
			}
		})
		return out, err
	})
	unary(add, "GetContextsByArtifact", func(ctx context.Context, r *mlpb.GetContextsByArtifactRequest) (*mlpb.GetContextsByArtifactResponse, error) {
		out := &mlpb.GetContextsByArtifactResponse{}
		err := s.byIDs(ctx, []int64{r.GetArtifactId()}, func(l *loaded, key string) {
			if _, ok := l.artifactOf(key); ok {
				out.Contexts = append(out.Contexts, contextProto(l.g, l.id[ContextKey]))
			}
		})
		return out, err
	})
}

// inContext loads the run of a context id (nil when it is none).
func (s *Service) inContext(ctx context.Context, id int64) (*loaded, error) {
	var found *loaded
	err := s.byIDs(ctx, []int64{id}, func(l *loaded, key string) {
		if key == ContextKey {
			found = l
		}
	})
	return found, err
}

func (s *Service) executionRoutes(add func(string, http.Handler)) {
	unary(add, "GetExecutionsByContext", func(ctx context.Context, r *mlpb.GetExecutionsByContextRequest) (*mlpb.GetExecutionsByContextResponse, error) {
		l, err := s.inContext(ctx, r.GetContextId())
		out := &mlpb.GetExecutionsByContextResponse{}
		if err != nil || l == nil {
			return out, err
		}
		for _, e := range l.g.Executions {
			out.Executions = append(out.Executions, executionProto(l.g, e, l.id))
		}
		return out, nil
	})
	unary(add, "GetExecutionsByID", func(ctx context.Context, r *mlpb.GetExecutionsByIDRequest) (*mlpb.GetExecutionsByIDResponse, error) {
		out := &mlpb.GetExecutionsByIDResponse{}
		err := s.byIDs(ctx, r.GetExecutionIds(), func(l *loaded, key string) {
			if e, ok := l.execution(key); ok {
				out.Executions = append(out.Executions, executionProto(l.g, e, l.id))
			}
		})
		return out, err
	})
	executions := func(ctx context.Context, typeName string, opts *mlpb.ListOperationOptions) ([]*mlpb.Execution, string, error) {
		var all []*mlpb.Execution
		err := s.all(ctx, func(l *loaded) bool {
			for _, e := range l.g.Executions {
				if typeName == "" || e.Type == typeName {
					all = append(all, executionProto(l.g, e, l.id))
				}
			}
			return true
		})
		if err != nil {
			return nil, "", err
		}
		return page(all, opts)
	}
	unary(add, "GetExecutions", func(ctx context.Context, r *mlpb.GetExecutionsRequest) (*mlpb.GetExecutionsResponse, error) {
		es, next, err := executions(ctx, "", r.GetOptions())
		return &mlpb.GetExecutionsResponse{Executions: es, NextPageToken: &next}, err
	})
	unary(add, "GetExecutionsByType", func(ctx context.Context, r *mlpb.GetExecutionsByTypeRequest) (*mlpb.GetExecutionsByTypeResponse, error) {
		es, next, err := executions(ctx, r.GetTypeName(), r.GetOptions())
		return &mlpb.GetExecutionsByTypeResponse{Executions: es, NextPageToken: &next}, err
	})
	unary(add, "GetEventsByExecutionIDs", func(ctx context.Context, r *mlpb.GetEventsByExecutionIDsRequest) (*mlpb.GetEventsByExecutionIDsResponse, error) {
		out := &mlpb.GetEventsByExecutionIDsResponse{}
		err := s.byIDs(ctx, r.GetExecutionIds(), func(l *loaded, key string) {
			for _, ev := range l.g.Events {
				if ev.ExecutionKey == key {
					out.Events = append(out.Events, eventProto(ev, l.id))
				}
			}
		})
		return out, err
	})
}

func (s *Service) artifactRoutes(add func(string, http.Handler)) {
	unary(add, "GetArtifactsByContext", func(ctx context.Context, r *mlpb.GetArtifactsByContextRequest) (*mlpb.GetArtifactsByContextResponse, error) {
		l, err := s.inContext(ctx, r.GetContextId())
		out := &mlpb.GetArtifactsByContextResponse{}
		if err != nil || l == nil {
			return out, err
		}
		for _, a := range l.g.Artifacts {
			out.Artifacts = append(out.Artifacts, s.artifact(ctx, l, a))
		}
		return out, nil
	})
	unary(add, "GetArtifactsByID", func(ctx context.Context, r *mlpb.GetArtifactsByIDRequest) (*mlpb.GetArtifactsByIDResponse, error) {
		out := &mlpb.GetArtifactsByIDResponse{}
		err := s.byIDs(ctx, r.GetArtifactIds(), func(l *loaded, key string) {
			if a, ok := l.artifactOf(key); ok {
				out.Artifacts = append(out.Artifacts, s.artifact(ctx, l, a))
			}
		})
		return out, err
	})
	artifacts := func(ctx context.Context, keep func(Artifact) bool, opts *mlpb.ListOperationOptions) ([]*mlpb.Artifact, string, error) {
		type item struct {
			l *loaded
			a Artifact
		}
		var all []item
		err := s.all(ctx, func(l *loaded) bool {
			for _, a := range l.g.Artifacts {
				if keep(a) {
					all = append(all, item{l, a})
				}
			}
			return true
		})
		if err != nil {
			return nil, "", err
		}
		items, next, err := page(all, opts)
		out := make([]*mlpb.Artifact, len(items))
		for i, it := range items {
			out[i] = s.artifact(ctx, it.l, it.a)
		}
		return out, next, err
	}
	unary(add, "GetArtifacts", func(ctx context.Context, r *mlpb.GetArtifactsRequest) (*mlpb.GetArtifactsResponse, error) {
		as, next, err := artifacts(ctx, func(Artifact) bool { return true }, r.GetOptions())
		return &mlpb.GetArtifactsResponse{Artifacts: as, NextPageToken: &next}, err
	})
	unary(add, "GetArtifactsByType", func(ctx context.Context, r *mlpb.GetArtifactsByTypeRequest) (*mlpb.GetArtifactsByTypeResponse, error) {
		want := artifactTypeOf(r.GetTypeName()).GetName()
		as, next, err := artifacts(ctx, func(a Artifact) bool { return artifactTypeOf(a.Type).GetName() == want }, r.GetOptions())
		return &mlpb.GetArtifactsByTypeResponse{Artifacts: as, NextPageToken: &next}, err
	})
	unary(add, "GetArtifactsByURI", func(ctx context.Context, r *mlpb.GetArtifactsByURIRequest) (*mlpb.GetArtifactsByURIResponse, error) {
		uris := map[string]bool{}
		for _, u := range r.GetUris() {
			uris[u] = true
		}
		as, _, err := artifacts(ctx, func(a Artifact) bool { return uris[a.URI] }, &mlpb.ListOperationOptions{MaxResultSize: ptr(int32(100))})
		return &mlpb.GetArtifactsByURIResponse{Artifacts: as}, err
	})
	unary(add, "GetEventsByArtifactIDs", func(ctx context.Context, r *mlpb.GetEventsByArtifactIDsRequest) (*mlpb.GetEventsByArtifactIDsResponse, error) {
		out := &mlpb.GetEventsByArtifactIDsResponse{}
		err := s.byIDs(ctx, r.GetArtifactIds(), func(l *loaded, key string) {
			for _, ev := range l.g.Events {
				if ev.ArtifactKey == key {
					out.Events = append(out.Events, eventProto(ev, l.id))
				}
			}
		})
		return out, err
	})
}

func (s *Service) typeRoutes(add func(string, http.Handler)) {
	unary(add, "GetArtifactTypes", func(context.Context, *mlpb.GetArtifactTypesRequest) (*mlpb.GetArtifactTypesResponse, error) {
		return &mlpb.GetArtifactTypesResponse{ArtifactTypes: artifactTypes}, nil
	})
	unary(add, "GetArtifactTypesByID", func(_ context.Context, r *mlpb.GetArtifactTypesByIDRequest) (*mlpb.GetArtifactTypesByIDResponse, error) {
		out := &mlpb.GetArtifactTypesByIDResponse{}
		for _, id := range r.GetTypeIds() {
			for _, t := range artifactTypes {
				if t.GetId() == id {
					out.ArtifactTypes = append(out.ArtifactTypes, t)
				}
			}
		}
		return out, nil
	})
	unary(add, "GetArtifactType", func(_ context.Context, r *mlpb.GetArtifactTypeRequest) (*mlpb.GetArtifactTypeResponse, error) {
		for _, t := range artifactTypes {
			if t.GetName() == r.GetTypeName() {
				return &mlpb.GetArtifactTypeResponse{ArtifactType: t}, nil
			}
		}
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("no artifact type %q", r.GetTypeName()))
	})
	unary(add, "GetExecutionTypes", func(context.Context, *mlpb.GetExecutionTypesRequest) (*mlpb.GetExecutionTypesResponse, error) {
		return &mlpb.GetExecutionTypesResponse{ExecutionTypes: executionTypes}, nil
	})
	unary(add, "GetExecutionTypesByID", func(_ context.Context, r *mlpb.GetExecutionTypesByIDRequest) (*mlpb.GetExecutionTypesByIDResponse, error) {
		out := &mlpb.GetExecutionTypesByIDResponse{}
		for _, id := range r.GetTypeIds() {
			for _, t := range executionTypes {
				if t.GetId() == id {
					out.ExecutionTypes = append(out.ExecutionTypes, t)
				}
			}
		}
		return out, nil
	})
	unary(add, "GetExecutionType", func(_ context.Context, r *mlpb.GetExecutionTypeRequest) (*mlpb.GetExecutionTypeResponse, error) {
		for _, t := range executionTypes {
			if t.GetName() == r.GetTypeName() {
				return &mlpb.GetExecutionTypeResponse{ExecutionType: t}, nil
			}
		}
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("no execution type %q", r.GetTypeName()))
	})
	unary(add, "GetContextTypes", func(context.Context, *mlpb.GetContextTypesRequest) (*mlpb.GetContextTypesResponse, error) {
		return &mlpb.GetContextTypesResponse{ContextTypes: contextTypes}, nil
	})
	unary(add, "GetContextTypesByID", func(_ context.Context, r *mlpb.GetContextTypesByIDRequest) (*mlpb.GetContextTypesByIDResponse, error) {
		out := &mlpb.GetContextTypesByIDResponse{}
		for _, id := range r.GetTypeIds() {
			for _, t := range contextTypes {
				if t.GetId() == id {
					out.ContextTypes = append(out.ContextTypes, t)
				}
			}
		}
		return out, nil
	})
	unary(add, "GetContextType", func(_ context.Context, r *mlpb.GetContextTypeRequest) (*mlpb.GetContextTypeResponse, error) {
		for _, t := range contextTypes {
			if t.GetName() == r.GetTypeName() {
				return &mlpb.GetContextTypeResponse{ContextType: t}, nil
			}
		}
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("no context type %q", r.GetTypeName()))
	})
}

func ptr[T any](v T) *T { return &v }
