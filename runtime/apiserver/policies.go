package apiserver

import (
	"net/http"
	"strings"

	"github.com/kubeline/kubeline/runtime/store"
)

// policy is what a route demands of its caller in multi-user mode.
type policy struct {
	// need is the permission; permPublic routes need no token.
	need perm
	// on finds the resource the route acts on: the caller must be in its
	// group (operators are in every group).
	on target
	// owner: only the resource's owner may (manage, archive, delete).
	owner bool
	// self names a path value holding a user name: that user may call the
	// route without the permission (their own record and tokens).
	self string
	// creates is the kind of resource the route makes, whose owner is
	// recorded from the response's id.
	creates string
	// claims: the route makes the resource it names when it is missing
	// (an upload's dataset); a name another group holds is 409.
	claims bool
}

// target is a resource kind and where the request carries its id: a path
// value, "action" for KFP's "{id}:verb", or "?name" for a query parameter.
type target struct{ kind, param string }

func (t target) id(r *http.Request) string {
	switch {
	case t.param == "action":
		id, _, _ := strings.Cut(r.PathValue("action"), ":")
		return id
	case strings.HasPrefix(t.param, "?"):
		return r.URL.Query().Get(t.param[1:])
	case strings.Contains(t.param, "/"): // "group/name": an id of two path values
		a, b, _ := strings.Cut(t.param, "/")
		return r.PathValue(a) + "/" + r.PathValue(b)
	case t.kind == "pipeline" && t.param == "id" && r.PathValue("id") == "names":
		return "" // GET /pipelines/names/{name}: the handler finds it in the caller's namespace
	}
	return r.PathValue(t.param)
}

// API roots: KFP's v2beta1 and kubeline's own.
const (
	v2  = "/apis/v2beta1"
	kv1 = "/apis/kubeline/v1"
)

// Policy shorthands.
var (
	public  = policy{need: permPublic}
	anyUser = policy{need: permAny}
	operate = policy{need: permOperate}
	catalog = policy{need: permCatalog}
)

func view(kind, param string) policy { return policy{need: permView, on: target{kind, param}} }

func develop(kind, param string) policy { return policy{need: permDevelop, on: target{kind, param}} }

func manage(kind, param string) policy {
	return policy{need: permDevelop, on: target{kind, param}, owner: true}
}

func creates(p policy, kind string) policy { p.creates = kind; return p }

func claims(p policy) policy { p.claims = true; return p }

// on adds the resource a route acts on to a policy.
func on(p policy, kind, param string) policy { p.on = target{kind, param}; return p }

// policies holds every route's policy by its ServeMux pattern. A route
// missing here is for operators only, and the role × route matrix test
// fails until it has an entry there too.
var policies = map[string]policy{
	"GET " + v2 + "/healthz":                                     public,
	"GET /apis/v1beta1/healthz":                                  public,
	"GET /metrics":                                               public, // Prometheus sends no token
	"GET /livez":                                                 public, // the kubelet's probes neither
	"GET /readyz":                                                public,
	"GET /console/":                                              public, // the console's files; they hold no data
	"GET " + v2 + "/auth":                                        anyUser,
	"GET " + v2 + "/filters":                                     anyUser,
	"POST " + v2 + "/pipelines":                                  creates(develop("", ""), "pipeline"),
	"POST " + v2 + "/pipelines/create":                           creates(develop("", ""), "pipeline"),
	"POST " + v2 + "/pipelines/upload":                           creates(develop("", ""), "pipeline"),
	"POST /apis/v1beta1/pipelines/upload":                        creates(develop("", ""), "pipeline"),
	"GET " + v2 + "/pipelines":                                   view("", ""),
	"GET " + v2 + "/pipelines/{id}":                              view("pipeline", "id"),
	"GET /apis/v1beta1/pipelines/{id}":                           view("pipeline", "id"),
	"DELETE " + v2 + "/pipelines/{id}":                           manage("pipeline", "id"),
	"PATCH " + v2 + "/pipelines/{id}":                            manage("pipeline", "id"),
	"POST " + v2 + "/pipelines/upload_version":                   creates(develop("pipeline", "?pipelineid"), "version"),
	"POST " + v2 + "/pipelines/{id}/versions":                    creates(develop("pipeline", "id"), "version"),
	"GET " + v2 + "/pipelines/{id}/{sub}":                        view("pipeline", "id"),
	"GET " + v2 + "/pipelines/{id}/versions/{vid}":               view("pipeline", "id"),
	"DELETE " + v2 + "/pipelines/{id}/versions/{vid}":            manage("version", "vid"),
	"PATCH " + v2 + "/pipelines/{id}/versions/{vid}":             manage("version", "vid"),
	"GET /apis/v1beta1/pipeline_versions":                        view("pipeline", "?resource_key.id"),
	"GET /apis/v1beta1/pipeline_versions/{vid}":                  view("version", "vid"),
	"GET /apis/v1beta1/pipeline_versions/{vid}/templates":        view("version", "vid"),
	"POST " + v2 + "/experiments":                                creates(develop("", ""), "experiment"),
	"GET " + v2 + "/experiments":                                 view("", ""),
	"GET " + v2 + "/experiments/{id}":                            view("experiment", "id"),
	"POST " + v2 + "/experiments/{action}":                       manage("experiment", "action"),
	"DELETE " + v2 + "/experiments/{id}":                         manage("experiment", "id"),
	"GET " + v2 + "/runs/{id}/nodes/{node}/artifacts/{artifact}": view("run", "id"),
	"POST " + v2 + "/workflows":                                  operate,
	"POST " + v2 + "/scheduledworkflows":                         operate,
	"POST " + v2 + "/visualizations/{namespace}":                 anyUser,
	"POST " + v2 + "/runs":                                       develop("", ""),
	"GET " + v2 + "/runs":                                        view("", ""),
	"GET " + v2 + "/runs/{id}":                                   view("run", "id"),
	"GET /apis/v1beta1/runs/{id}":                                view("run", "id"),
	// ML Metadata (mlmd.go): each run's objects only for its group.
	"POST /ml_metadata.MetadataStoreService/{method}": view("", ""),
	// The Pipelines UI build and its Node server's routes (ui.go).
	"GET /{$}":                    public,
	"GET /index.html":             public,
	"GET /static/":                public,
	"GET /visualizations/allowed": anyUser,
	"GET /artifacts/get":          view("", ""),
	"GET /artifacts/{source}/{bucket}/{key...}": view("", ""),
	"GET /k8s/pod/logs":                         view("", ""),
	"DELETE " + v2 + "/runs/{id}":               manage("run", "id"),
	"POST " + v2 + "/runs/{action}":             manage("run", "action"),
	"POST " + v2 + "/recurringruns":             creates(develop("", ""), "recurring_run"),
	"GET " + v2 + "/recurringruns":              view("", ""),
	"GET " + v2 + "/recurringruns/{id}":         view("recurring_run", "id"),
	"DELETE " + v2 + "/recurringruns/{id}":      manage("recurring_run", "id"),
	"POST " + v2 + "/recurringruns/{action}":    manage("recurring_run", "action"),

	"GET " + kv1 + "/whoami":                      anyUser,
	"GET " + kv1 + "/users":                       operate,
	"POST " + kv1 + "/users":                      operate,
	"GET " + kv1 + "/users/{name}":                {need: permOperate, self: "name"},
	"PATCH " + kv1 + "/users/{name}":              operate,
	"DELETE " + kv1 + "/users/{name}":             operate,
	"POST " + kv1 + "/users/{name}/tokens":        {need: permOperate, self: "name"},
	"GET " + kv1 + "/groups":                      anyUser,
	"POST " + kv1 + "/groups":                     operate,
	"GET " + kv1 + "/groups/{name}":               view("group", "name"),
	"PATCH " + kv1 + "/groups/{name}":             operate,
	"DELETE " + kv1 + "/groups/{name}":            operate,
	"GET " + kv1 + "/pools":                       anyUser,
	"GET " + kv1 + "/events":                      anyUser, // each kind's permission is checked by the route (changes.go)
	"POST " + kv1 + "/pools":                      operate,
	"GET " + kv1 + "/pools/{name}":                anyUser,
	"PATCH " + kv1 + "/pools/{name}":              operate,
	"DELETE " + kv1 + "/pools/{name}":             operate,
	"GET " + kv1 + "/projects":                    view("", ""),
	"POST " + kv1 + "/projects":                   develop("", ""),
	"GET " + kv1 + "/projects/{name}":             view("project", "name"),
	"DELETE " + kv1 + "/projects/{name}":          manage("project", "name"),
	"POST " + kv1 + "/projects/{action}":          manage("project", "action"),
	"GET " + kv1 + "/projects/{name}/leaderboard": view("project", "name"),
	"GET " + kv1 + "/runs/{id}":                   view("run", "id"),
	"POST " + kv1 + "/runs/{action}":              manage("run", "action"),
	"GET " + kv1 + "/compare":                     view("", ""),
	// The queue (queue.go): what waits for GPUs or holds them, of the
	// caller's groups. HPO experiments (hpoview.go) are runs.
	"GET " + kv1 + "/queue":                    view("", ""),
	"GET " + kv1 + "/hpo/experiments":          view("", ""),
	"GET " + kv1 + "/hpo/experiments/{id}":     view("run", "id"),
	"GET " + kv1 + "/projects/{name}/versions": view("project", "name"),

	// Registered clusters (clusters.go): their group's members see them; a
	// registration names a kubeconfig file of the server's machine, so only
	// operators add and remove them.
	"GET " + kv1 + "/clusters":           view("", ""),
	"POST " + kv1 + "/clusters":          operate,
	"GET " + kv1 + "/clusters/{name}":    view(store.KindCluster, "name"),
	"DELETE " + kv1 + "/clusters/{name}": on(operate, store.KindCluster, "name"),

	// Datasets and models (versions.go) belong to a group by name: its
	// members see their versions (Data Scientists develop the models);
	// adding a version develops, and an upload's new name is claimed for
	// the uploader's group. The model catalog — published versions — is
	// GET catalog below, which Data Scientists do not see.
	"GET " + kv1 + "/datasets":                                   view("", ""),
	"GET " + kv1 + "/datasets/{name}/versions":                   view("dataset", "name"),
	"GET " + kv1 + "/datasets/{name}/versions/{version}":         view("dataset", "name"),
	"GET " + kv1 + "/datasets/{name}/versions/{version}/usage":   view("dataset", "name"),
	"GET " + kv1 + "/datasets/{name}/versions/{version}/lineage": view("dataset", "name"),
	"POST " + kv1 + "/datasets/{name}/versions:upload":           claims(develop("dataset", "name")),
	"GET " + kv1 + "/models":                                     view("", ""),
	"GET " + kv1 + "/models/{name}/versions":                     view("model", "name"),
	"GET " + kv1 + "/models/{name}/versions/{version}":           view("model", "name"),
	"GET " + kv1 + "/models/{name}/versions/{version}/usage":     view("model", "name"),
	"GET " + kv1 + "/models/{name}/versions/{version}/lineage":   view("model", "name"),
	"POST " + kv1 + "/models/{name}/versions:upload":             claims(develop("model", "name")),
	// Code and featuresets (codefeatures.go) belong to a group by name like
	// datasets. Code is made by uploads or clones (which claim a new
	// name); a featureset is declared first (POST /featuresets, in the
	// caller's group), then versioned by runs or uploads its data must
	// pass; only its owner deletes it (while it has no versions).
	"GET " + kv1 + "/code":                                          view("", ""),
	"GET " + kv1 + "/code/{name}/versions":                          view("code", "name"),
	"GET " + kv1 + "/code/{name}/versions/{version}":                view("code", "name"),
	"GET " + kv1 + "/code/{name}/versions/{version}/usage":          view("code", "name"),
	"GET " + kv1 + "/code/{name}/versions/{version}/lineage":        view("code", "name"),
	"POST " + kv1 + "/code/{name}/versions:upload":                  claims(develop("code", "name")),
	"POST " + kv1 + "/code/{name}/versions":                         claims(develop("code", "name")),
	"GET " + kv1 + "/featuresets":                                   view("", ""),
	"POST " + kv1 + "/featuresets":                                  develop("", ""),
	"GET " + kv1 + "/featuresets/{name}":                            view("featureset", "name"),
	"DELETE " + kv1 + "/featuresets/{name}":                         manage("featureset", "name"),
	"GET " + kv1 + "/featuresets/{name}/versions":                   view("featureset", "name"),
	"GET " + kv1 + "/featuresets/{name}/versions/{version}":         view("featureset", "name"),
	"GET " + kv1 + "/featuresets/{name}/versions/{version}/usage":   view("featureset", "name"),
	"GET " + kv1 + "/featuresets/{name}/versions/{version}/lineage": view("featureset", "name"),
	"POST " + kv1 + "/featuresets/{name}/versions:upload":           develop("featureset", "name"),
	"GET " + kv1 + "/runs/{id}/metrics":                             view("run", "id"),

	// The model catalog and deployments (deployments.go): ML Engineers
	// publish their group's models, Production Engineers deploy their
	// group's published versions; a deployment's owner (or an operator)
	// stops it. Inference needs a signed-in user of the deployment's group.
	"POST " + kv1 + "/models/{name}/versions/{action}": on(policy{need: permPublish}, "model", "name"),
	"GET " + kv1 + "/catalog":                          catalog,
	"POST " + kv1 + "/deployments":                     {need: permDeploy},
	"POST " + kv1 + "/deployments:import":              {need: permDeploy},
	"GET " + kv1 + "/deployments":                      catalog,
	"GET " + kv1 + "/deployments/{name}":               on(catalog, "deployment", "name"),
	"GET " + kv1 + "/deployments/{name}/traffic":       on(catalog, "deployment", "name"),
	"POST " + kv1 + "/deployments/{action}":            {need: permDeploy, on: target{"deployment", "action"}, owner: true},
	"POST /v1/models/{action}":                         on(anyUser, "deployment", "action"),
	"GET /v1/models/{name}":                            on(anyUser, "deployment", "name"),
	"POST /v2/models/{name}/infer":                     on(anyUser, "deployment", "name"),
	"GET /v2/models/{name}/ready":                      on(anyUser, "deployment", "name"),
	"GET /v2/models/{name}":                            on(anyUser, "deployment", "name"),
	// The image catalog (images.go): standard images for every signed-in
	// user (operators manage them), a group's entries for its members
	// (develop adds; the owner or an operator removes).
	"GET " + kv1 + "/images":                    view("", ""),
	"POST " + kv1 + "/images":                   develop("", ""),
	"GET " + kv1 + "/images/standard/{name}":    anyUser,
	"DELETE " + kv1 + "/images/standard/{name}": operate,
	"GET " + kv1 + "/images/{group}/{name}":     view(store.KindImage, "group/name"),
	"DELETE " + kv1 + "/images/{group}/{name}":  manage(store.KindImage, "group/name"),
	// IDEs (ide.go): a group's members see its IDEs and start their own;
	// only an IDE's owner (or an operator) stops or deletes it, and sees
	// its token.
	"GET " + kv1 + "/ides":           view("", ""),
	"POST " + kv1 + "/ides":          develop("", ""),
	"GET " + kv1 + "/ides/{name}":    view(store.KindIDE, "name"),
	"DELETE " + kv1 + "/ides/{name}": manage(store.KindIDE, "name"),
	"POST " + kv1 + "/ides/{action}": manage(store.KindIDE, "action"),
	"GET /v2/health/live":            public,
	"GET /v2/health/ready":           public,

	// Monitors (monitors.go) belong to their deployment's group: its
	// members who see the catalog see them; Production Engineers create
	// them on their group's deployments; the owner (or an operator)
	// deletes one.
	"POST " + kv1 + "/monitors":                 {need: permDeploy},
	"GET " + kv1 + "/monitors":                  catalog,
	"GET " + kv1 + "/monitors/{name}":           on(catalog, store.KindMonitor, "name"),
	"GET " + kv1 + "/monitors/{name}/status":    on(catalog, store.KindMonitor, "name"),
	"GET " + kv1 + "/monitors/{name}/alerts":    on(catalog, store.KindMonitor, "name"),
	"GET " + kv1 + "/monitors/{name}/drilldown": on(catalog, store.KindMonitor, "name"),
	"DELETE " + kv1 + "/monitors/{name}":        {need: permDeploy, on: target{store.KindMonitor, "name"}, owner: true},
}

// Routes lists the patterns of every route the handler serves, for the
// role × route matrix test.
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }
