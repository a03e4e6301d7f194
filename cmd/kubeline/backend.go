package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/compiler/spec"
	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/engine/argo"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// The one client path. Every resource command (datasets, models, lineage,
// catalog, projects, clusters, users, deployments, ...) is written once, as
// requests of kubeline's HTTP API through apiClient. Where the requests go
// is its backend: a kubeline server over the network when one is
// configured, else the local store served by the API server's own handler
// inside this process. Both answer with the same routes, policy code and
// JSON, so a command behaves the same against either (TestSameSuite runs
// one suite against both), and nothing listens on a port meanwhile.

// backend answers the API requests of a command.
type backend interface {
	// RoundTrip answers one request, with http.RoundTripper's contract.
	RoundTrip(*http.Request) (*http.Response, error)
	// Close releases what the backend holds (the local store).
	Close() error
}

// remote is a kubeline server reached over the network.
type remote struct{ http.RoundTripper }

func (remote) Close() error { return nil }

// inProcess serves requests with an API server's handler in this process.
type inProcess struct {
	handler http.Handler
	close   func() error
}

// RoundTrip hands the request to the handler as the server would receive
// it (from loopback) and returns its recorded answer.
func (p *inProcess) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	in := req.Clone(req.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:0"
	in.Host = req.URL.Host
	rec := httptest.NewRecorder()
	defer func() {
		if req.Body != nil {
			req.Body.Close()
		}
		if v := recover(); v != nil {
			resp, err = nil, fmt.Errorf("%s %s: kubeline's API failed (a bug, please report it): %v", req.Method, req.URL.Path, v)
		}
	}()
	p.handler.ServeHTTP(rec, in)
	resp = rec.Result()
	resp.Request = req
	return resp, nil
}

func (p *inProcess) Close() error { return p.close() }

// localServer is the placeholder address of the local store's API: it is
// never dialled.
const localServer = "http://kubeline.local"

// notRunHere is why the local store's API refuses runs and deployments.
const notRunHere = "no kubeline server is configured, so this works on the local store, which starts nothing: " +
	"`kubeline run FILE` runs a pipeline here; runs on a server, admission and deployments need one " +
	"(--server URL, $KUBELINE_SERVER or a context: kubeline config set-context)"

// openLocal serves the local store (dsn, default $KUBELINE_HOME/kubeline.db,
// with the artifact store arts) through the API server's handler in this
// process, as `kubeline server` serves it on loopback: single-user (whoever
// holds the store is its operator, as `users create-token --db` says) and
// store-only — it starts no run or deployment and admits nothing, so a
// server on the same store keeps its queue.
func openLocal(ctx context.Context, dsn string, arts storeFlags) (*apiClient, error) {
	home := kubelineHome()
	st, err := openStore(ctx, home, dsn)
	if err != nil {
		return nil, fmt.Errorf("open the metadata store: %w", err)
	}
	objects, err := arts.open(ctx, home)
	if err != nil {
		st.Close()
		return nil, err
	}
	if dsn == "" {
		dsn = filepath.Join(home, "kubeline.db")
	}
	compile := func(name string, data []byte, params, images map[string]string) (*wfv1.Workflow, error) {
		return compiler.Compile(name, data, compiler.Options{Params: params, ParamsField: apiserver.ParamsField, NoFiles: true, Images: images, DeferImages: images == nil})
	}
	api := apiserver.New(ctx, st, idleEngine{}, compile, spec.Unpack, version).
		WithLimits(apiserver.Limits{VersionUpload: 1 << 50}). // the user's own disk: no upload limit
		WithUploadDir(filepath.Join(home, "tmp")).
		WithArtifacts(readArtifact(objects)).WithMetadata(objects.URI).
		WithVersions(&versioning.Versioner{Objects: objects, Records: st}).
		WithClusters(checkCluster).
		StoreOnly(notRunHere)
	be := &inProcess{handler: api.Handler(), close: st.Close}
	return &apiClient{server: localServer, from: "the local store " + redactDSN(dsn), http: &http.Client{Transport: be}, backend: be, local: true}, nil
}

// checkCluster checks a cluster registration: its kubeconfig, context and
// namespace give a cluster's config.
func checkCluster(kubeconfig, context, namespace string) error {
	_, _, err := argo.Config(kubeconfig, context, namespace)
	return err
}

// idleEngine is the local store API's engine: it is never asked to run
// anything (StoreOnly refuses first); if it were, it says why not.
type idleEngine struct{}

var errNotRunHere = errors.New(notRunHere)

func (idleEngine) Submit(context.Context, *wfv1.Workflow) (string, error) { return "", errNotRunHere }

func (idleEngine) Watch(context.Context, string) (<-chan *wfv1.Workflow, error) {
	return nil, errNotRunHere
}

func (idleEngine) Stop(context.Context, string) error { return errNotRunHere }
