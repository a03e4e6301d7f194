package mlmd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"connectrpc.com/connect"
	mlpb "github.com/kubeflow/pipelines/third_party/ml-metadata/go/ml_metadata"
)

// ErrNotFound is what Runs returns for a run that does not exist or that
// the caller may not see: both are "not found" to ML Metadata too.
var ErrNotFound = errors.New("not found")

// Runs gives the runs of the caller of ctx (the server puts the caller
// there): Run one by id, List page by page, newest first ("" is the first
// page token, and the token after the last page).
type Runs interface {
	Run(ctx context.Context, id string) (Run, error)
	List(ctx context.Context, pageToken string, size int) ([]Run, string, error)
}

// Key is an MLMD id's place: the run (scope) and the graph key.
type Key struct{ Scope, Key string }

// IDs are the stable int64 ids of graph keys. IDs returns each key's id in
// scope, giving keys without one the next free ids; Keys finds the keys of
// ids (unknown ids are left out).
type IDs interface {
	IDs(ctx context.Context, scope string, keys []string) (map[string]int64, error)
	Keys(ctx context.Context, ids []int64) (map[int64]Key, error)
}

// Metadata reads an artifact's KFP metadata (metadata.json beside its
// data, as the launcher writes it) from its object key; nil skips it.
type Metadata func(ctx context.Context, objectKey string) (map[string]any, error)

// Service answers MetadataStoreService's read calls from Runs.
type Service struct {
	runs Runs
	ids  IDs
	uri  func(key string) string
	meta Metadata
}

// New returns the service; uri gives an artifact store key's URI.
func New(runs Runs, ids IDs, uri func(string) string, meta Metadata) *Service {
	return &Service{runs: runs, ids: ids, uri: uri, meta: meta}
}

// Path is where the service's routes live.
const Path = "/ml_metadata.MetadataStoreService/"

// Handler serves every method under Path over gRPC, gRPC-web and Connect.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(func(name string, h http.Handler) { mux.Handle(Path+name, h) })
	return mux
}

// loaded is one run's graph with its ids.
type loaded struct {
	g  Graph
	id ids
}

func (s *Service) load(ctx context.Context, runID string) (*loaded, error) {
	run, err := s.runs.Run(ctx, runID)
	if err != nil {
		return nil, err
	}
	return s.graph(ctx, run)
}

func (s *Service) graph(ctx context.Context, run Run) (*loaded, error) {
	g := Build(run, s.uri)
	keys := []string{ContextKey}
	for _, e := range g.Executions {
		keys = append(keys, e.Key)
	}
	for _, a := range g.Artifacts {
		keys = append(keys, a.Key)
	}
	m, err := s.ids.IDs(ctx, run.ID, keys)
	if err != nil {
		return nil, fmt.Errorf("ids of run %s: %w", run.ID, err)
	}
	return &loaded{g: g, id: m}, nil
}

// byIDs loads the graphs holding ids and calls f for each id found.
func (s *Service) byIDs(ctx context.Context, idList []int64, f func(l *loaded, key string)) error {
	keys, err := s.ids.Keys(ctx, idList)
	if err != nil {
		return err
	}
	graphs := map[string]*loaded{}
	for _, id := range idList {
		k, ok := keys[id]
		if !ok || k.Scope == "" {
			continue
		}
		l, ok := graphs[k.Scope]
		if !ok {
			l, err = s.load(ctx, k.Scope)
			if errors.Is(err, ErrNotFound) {
				graphs[k.Scope] = nil
				continue
			}
			if err != nil {
				return err
			}
			graphs[k.Scope] = l
		}
		if l != nil {
			f(l, k.Key)
		}
	}
	return nil
}

// all calls f with every graph of the caller's runs, newest run first,
// until f returns false.
func (s *Service) all(ctx context.Context, f func(l *loaded) bool) error {
	token := ""
	for {
		runs, next, err := s.runs.List(ctx, token, 100)
		if err != nil {
			return err
		}
		for _, r := range runs {
			l, err := s.graph(ctx, r)
			if err != nil {
				return err
			}
			if !f(l) {
				return nil
			}
		}
		if next == "" {
			return nil
		}
		token = next
	}
}

func (s *Service) artifact(ctx context.Context, l *loaded, a Artifact) *mlpb.Artifact {
	var md map[string]any
	if s.meta != nil && strings.HasPrefix(a.Key, "art/") {
		md, _ = s.meta(ctx, a.ObjectKey+"/metadata.json")
	}
	return artifactProto(a, l.id, md)
}

func (l *loaded) execution(key string) (Execution, bool) {
	for _, e := range l.g.Executions {
		if e.Key == key {
			return e, true
		}
	}
	return Execution{}, false
}

func (l *loaded) artifactOf(key string) (Artifact, bool) {
	for _, a := range l.g.Artifacts {
		if a.Key == key {
			return a, true
		}
	}
	return Artifact{}, false
}

// page cuts a list by MLMD's list options: max_result_size (20 when
// unset, 100 at most) from the offset in next_page_token.
func page[T any](items []T, opts *mlpb.ListOperationOptions) ([]T, string, error) {
	size := int(opts.GetMaxResultSize())
	if size <= 0 {
		size = 20
	}
	size = min(size, 100)
	off := 0
	if t := opts.GetNextPageToken(); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return nil, "", connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("next_page_token %q: not a token this server gave", t))
		}
		off = n
	}
	if off > len(items) {
		off = len(items)
	}
	end := min(off+size, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[off:end], next, nil
}

// rpcError maps errors to connect codes: not found, else internal.
func rpcError(err error) error {
	var ce *connect.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return err
	case errors.Is(err, ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	}
	return connect.NewError(connect.CodeInternal, err)
}
