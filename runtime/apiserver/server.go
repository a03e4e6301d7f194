package apiserver

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/admission"
	"github.com/kubeline/kubeline/runtime/console"
	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/store"
)

// Compiler turns a pipeline file (its name and bytes) and run parameters into
// the Workflow to run, with image://NAME images resolved in images (the
// group's image catalog; nil only validates, leaving them); errors describe
// the user's mistakes.
type Compiler func(name string, data []byte, params map[string]string, images map[string]string) (*wfv1.Workflow, error)

// Unpacker returns the pipeline YAML held in an uploaded file (plain, .zip
// or .tar.gz), or an error naming what is wrong with it.
type Unpacker func(name string, data []byte) ([]byte, error)

// ArtifactReader returns the bytes of the artifact stored under key.
type ArtifactReader func(ctx context.Context, key string) ([]byte, error)

// Server is the KFP API server.
type Server struct {
	artifacts ArtifactReader
	versions  Versions
	// serving runs local deployments; its models go under servingDir.
	serving      Serving
	materializer Materializer
	servingDir   string
	store        *store.Store
	engine       engine.Engine
	compile      Compiler
	unpack       Unpacker
	version      string
	ctx          context.Context
	wg           sync.WaitGroup
	// Multi-user mode and GPU admission (auth.go, admit.go).
	multiUser bool
	cluster   []admission.ClusterNode
	aging     time.Duration
	admitMu   sync.Mutex
	// lastUsage is each pool's newest recorded usage sample
	// (poolusage.go), under admitMu.
	lastUsage map[string]store.PoolSample
	// hpoRecords reads HPO experiments' trials (hpoview.go); nil shows none.
	hpoRecords ExperimentRecords
	routes     []string
	// Metrics and logs (metrics.go, watch.go).
	tel *telemetry
	// limits bound each request (limit.go).
	limits Limits
	// mlmdURI turns artifact keys into URIs for ML Metadata (mlmd.go);
	// nil serves no ML Metadata.
	mlmdURI func(key string) string
	// faults are the store writes waiting for the store; running maps the
	// runs followed to their workflows, and stopReason is StopRuns' reason
	// (follow.go).
	faults     faults
	running    sync.Map
	stopReason atomic.Value
	// inflight are the requests whose bodies Drain bounds (drain.go).
	inflight inflight
	// ideOpts say how IDEs run on the engine (ide.go).
	ideOpts IDEOptions
	// runIDs makes new runs' ids (runname.go); nil lets the store.
	runIDs func() string
	// uiDir is the Pipelines UI build served at / (ui.go); "" for none.
	uiDir string
	// storeOnly is why a server that starts nothing refuses the routes
	// that would (storeonly.go); "" for a server that runs.
	storeOnly string
	// clusterCheck checks cluster registrations (clusters.go); nil
	// registers none.
	clusterCheck ClusterCheck
	// uploadDir holds version uploads while they are made (treeupload.go).
	uploadDir string
	// mon evaluates monitors (monitors.go); nil without recording.
	mon *monitoring
	// clusters reaches registered clusters' InferenceServices
	// (clusterdeploy.go); deployDocs keeps each deployment's Deployment
	// document for the retraining action's redeploy.
	clusters   InferenceServices
	deployDocs sync.Map // name -> *deploy.Deployment
	// changes feeds the change streams (changes.go).
	changes changeFeed
}

// New returns a server; ctx bounds the background run watchers.
func New(ctx context.Context, st *store.Store, eng engine.Engine, compile Compiler, unpack Unpacker, version string) *Server {
	s := &Server{store: st, compile: compile, unpack: unpack, version: version, ctx: ctx}
	s.tel = newTelemetry(s)
	s.engine = watchedEngine{Engine: eng, t: s.tel, store: st}
	return s
}

// WithArtifacts lets the server read run artifacts (runs/.../artifacts/NAME:read).
func (s *Server) WithArtifacts(read ArtifactReader) *Server {
	s.artifacts = read
	return s
}

// WithMultiUser turns on multi-user mode: every route but healthz needs a
// bearer token, and roles, groups and owners are enforced (policies.go).
func (s *Server) WithMultiUser(on bool) *Server {
	s.multiUser = on
	return s
}

// WithCluster sets the cluster's GPU nodes, which the pools divide, and the
// admission aging limit (0: admission's default).
func (s *Server) WithCluster(nodes []admission.ClusterNode, aging time.Duration) *Server {
	s.cluster, s.aging = nodes, aging
	return s
}

// Wait waits for the run watchers to finish (after ctx is cancelled).
func (s *Server) Wait() { s.wg.Wait() }

// Handler returns the HTTP routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes = nil
	// route serves f's value as JSON, its error with onError.
	route := func(onError func(http.ResponseWriter, error)) func(string, func(*http.Request) (any, error)) {
		return func(pattern string, f func(*http.Request) (any, error)) {
			s.routes = append(s.routes, pattern)
			mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
				r = s.limitRequest(w, r, pattern)
				defer s.inflight.begin(w, r)()
				if err := s.gate(r); err != nil {
					onError(w, err)
					return
				}
				v, err := f(r)
				if err == nil {
					err = s.recordOwner(r, v)
				}
				if err != nil {
					onError(w, err)
					return
				}
				writeJSON(w, http.StatusOK, v)
			})
		}
	}
	h := route(writeError)
	// Upload errors have their own body in KFP.
	hu := route(func(w http.ResponseWriter, err error) {
		code := status(err)
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", retryAfter)
		}
		writeJSON(w, code, map[string]any{"error_message": err.Error(), "error_details": err.Error()})
	})
	s.kfpRoutes(h, hu)
	s.versionRoutes(h)
	// raw serves f itself, after the limits and the route's policy.
	raw := func(pattern string, f http.HandlerFunc) {
		s.routes = append(s.routes, pattern)
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			r = s.limitRequest(w, r, pattern)
			defer s.inflight.begin(w, r)()
			if err := s.gate(r); err != nil {
				writeError(w, err)
				return
			}
			f(w, r)
		})
	}
	s.deployRoutes(h, raw)
	s.monitorRoutes(h, raw)
	s.kubelineRoutes(h)
	s.clusterRoutes(h)
	s.imageRoutes(h)
	s.ideRoutes(h)
	s.queueRoutes(h)
	s.hpoRoutes(h)
	s.metadataRoutes(mux)
	s.uiRoutes(h, raw)
	raw("GET "+console.Path, console.Handler().ServeHTTP) // the web console: files only, its data comes from the API
	raw("GET "+kv1+"/events", s.events)                   // the change stream (changes.go)
	s.telemetryRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFoundErr("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return s.tel.instrument(mux, s.authenticate(mux))
}

// gate applies the route's policy, then refuses what a store-only server
// cannot do.
func (s *Server) gate(r *http.Request) error {
	if err := s.authorize(r); err != nil {
		return err
	}
	return s.refuseStoreOnly(r)
}

// echoFilter is KFP's filter test endpoint: it returns the parsed filter.
func (s *Server) echoFilter(r *http.Request) (any, error) {
	opts, err := listOptions(r)
	if err != nil {
		return nil, err
	}
	return opts.Filter, nil
}

// pipelineSub serves GET /pipelines/names/{name} and /pipelines/{id}/versions,
// which one ServeMux pattern cannot tell apart.
func (s *Server) pipelineSub(r *http.Request) (any, error) {
	switch {
	case r.PathValue("id") == "names":
		r.SetPathValue("name", r.PathValue("sub"))
		return s.getPipelineByName(r)
	case r.PathValue("sub") == "versions":
		return s.listVersions(r)
	}
	return nil, notFoundErr("no such endpoint: %s %s", r.Method, r.URL.Path)
}

func (s *Server) healthz(r *http.Request) (any, error) {
	return map[string]any{"commit_sha": s.version, "tag_name": s.version, "multi_user": s.multiUser, "pipeline_store": "database"}, nil
}

// idAction splits "ID:action".
func idAction(v string) (string, string, error) {
	id, action, ok := strings.Cut(v, ":")
	if !ok || id == "" {
		return "", "", notFoundErr("no such endpoint: %s", v)
	}
	return id, action, nil
}

// kfpRoutes adds KFP's v2beta1 routes and the v1beta1 calls the Pipelines
// UI makes; hu is for uploads, whose errors have KFP's upload body.
func (s *Server) kfpRoutes(h, hu func(string, func(*http.Request) (any, error))) {
	h("GET "+v2+"/healthz", s.healthz)
	h("GET /apis/v1beta1/healthz", s.healthz)
	h("POST "+v2+"/pipelines", s.createPipeline)
	h("POST "+v2+"/pipelines/create", s.createPipelineAndVersion)
	h("GET "+v2+"/pipelines", s.listPipelines)
	h("GET "+v2+"/pipelines/{id}", s.getPipeline)
	h("GET /apis/v1beta1/pipelines/{id}", s.getPipeline)
	h("DELETE "+v2+"/pipelines/{id}", s.deletePipeline)
	h("PATCH "+v2+"/pipelines/{id}", s.updatePipeline)
	h("GET "+v2+"/auth", func(*http.Request) (any, error) { return map[string]any{}, nil }) // single user: everything allowed
	h("GET "+v2+"/filters", s.echoFilter)
	hu("POST "+v2+"/pipelines/upload", s.upload)
	hu("POST /apis/v1beta1/pipelines/upload", s.upload)
	hu("POST "+v2+"/pipelines/upload_version", s.uploadVersion)
	h("POST "+v2+"/pipelines/{id}/versions", s.createVersion)
	h("GET "+v2+"/pipelines/{id}/{sub}", s.pipelineSub) // names/{name} and {id}/versions
	h("GET "+v2+"/pipelines/{id}/versions/{vid}", s.getVersion)
	h("DELETE "+v2+"/pipelines/{id}/versions/{vid}", s.deleteVersion)
	h("GET /apis/v1beta1/pipeline_versions", s.listVersionsV1)
	h("GET /apis/v1beta1/pipeline_versions/{vid}", s.getVersion)
	h("GET /apis/v1beta1/pipeline_versions/{vid}/templates", s.template)
	h("POST "+v2+"/experiments", s.createExperiment)
	h("GET "+v2+"/experiments", s.listExperiments)
	h("GET "+v2+"/experiments/{id}", s.getExperiment)
	h("POST "+v2+"/experiments/{action}", s.experimentAction)
	h("DELETE "+v2+"/experiments/{id}", s.deleteExperiment)
	h("PATCH "+v2+"/pipelines/{id}/versions/{vid}", s.updateVersion)
	h("GET "+v2+"/runs/{id}/nodes/{node}/artifacts/{artifact}", s.readArtifact)
	h("POST "+v2+"/workflows", s.reportWorkflow)
	h("POST "+v2+"/scheduledworkflows", func(*http.Request) (any, error) {
		return nil, badRequest("kubeline schedules recurring runs itself: it has no ScheduledWorkflow resources to report")
	})
	h("POST "+v2+"/visualizations/{namespace}", func(*http.Request) (any, error) {
		return nil, badRequest("visualizations need KFP's visualization server, which kubeline does not run; metrics and artifacts are in the run's outputs")
	})
	h("POST "+v2+"/runs", s.createRun)
	h("GET "+v2+"/runs", s.listRuns)
	h("GET "+v2+"/runs/{id}", s.getRun)
	h("GET /apis/v1beta1/runs/{id}", s.getRunV1)
	h("DELETE "+v2+"/runs/{id}", s.deleteRun)
	h("POST "+v2+"/runs/{action}", s.runAction)
	h("POST "+v2+"/recurringruns", s.createRecurringRun)
	h("GET "+v2+"/recurringruns", s.listRecurringRuns)
	h("GET "+v2+"/recurringruns/{id}", s.getRecurringRun)
	h("DELETE "+v2+"/recurringruns/{id}", s.deleteRecurringRun)
	h("POST "+v2+"/recurringruns/{action}", s.recurringAction)
}
