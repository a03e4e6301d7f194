package apiserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kubeline/kubeline/compiler/deploy"
	"github.com/kubeline/kubeline/compiler/spec"
	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/lineage"
	"github.com/kubeline/kubeline/runtime/serving"
	"github.com/kubeline/kubeline/runtime/store"
)

// Serving runs local deployments (runtime/serving.Manager).
type Serving interface {
	Start(ctx context.Context, s serving.Spec) (serving.Status, error)
	Stop(name string) error
	List() []serving.Status
	Get(name string) (serving.Status, error)
	Routes(handle func(pattern string, h http.HandlerFunc))
	StartRemote(name, model string, r serving.Remote) (serving.Status, error)
	Traffic(name string, now time.Time, span, step time.Duration) ([]serving.TrafficPoint, error)
}

// Materializer fetches a version's content to a local directory
// (runtime/versioning.Versioner).
type Materializer interface {
	Materialize(ctx context.Context, av store.ArtifactVersion, dir string) (string, error)
}

// WithServing turns on the model catalog's deployments: local ones run by
// srv with their models fetched under dir.
func (s *Server) WithServing(srv Serving, models Materializer, dir string) *Server {
	s.serving, s.materializer, s.servingDir = srv, models, dir
	return s
}

// deployRoutes adds publishing, the catalog, deployments and the inference
// endpoint (raw: its answers are the predictor's).
func (s *Server) deployRoutes(h func(string, func(*http.Request) (any, error)), raw func(string, http.HandlerFunc)) {
	h("POST "+kv1+"/models/{name}/versions/{action}", s.publishModel)
	h("GET "+kv1+"/catalog", s.catalog)
	if s.serving == nil {
		return
	}
	h("POST "+kv1+"/deployments", s.createDeployment)
	h("POST "+kv1+"/deployments:import", s.importDeployment)
	h("GET "+kv1+"/deployments", s.listDeployments)
	h("GET "+kv1+"/deployments/{name}", func(r *http.Request) (any, error) { return s.getDeployment(r.Context(), r.PathValue("name")) })
	h("POST "+kv1+"/deployments/{action}", s.deploymentAction)
	h("GET "+kv1+"/deployments/{name}/traffic", s.deploymentTraffic)
	s.serving.Routes(func(pattern string, f http.HandlerFunc) {
		if !strings.HasPrefix(pattern, "POST ") {
			raw(pattern, f)
			return
		}
		raw(pattern, func(w http.ResponseWriter, r *http.Request) { // a request served changes the deployment's traffic
			f(w, r)
			s.requestServed(servedName(r)) // changes.go
		})
	})
}

// publishModel is POST /models/NAME/versions/vN:publish: an ML Engineer
// puts the version in the model catalog.
func (s *Server) publishModel(r *http.Request) (any, error) {
	ref, verb, ok := strings.Cut(r.PathValue("action"), ":")
	if !ok || verb != "publish" {
		return nil, notFoundErr("want POST %s/models/NAME/versions/vN:publish", kv1)
	}
	_, name, n, _, err := artifact.ParseVersionURI("model://" + r.PathValue("name") + "@" + ref)
	if err != nil || n == 0 {
		return nil, badRequest("version: want vN, got %q", ref)
	}
	by := "local"
	if c := callerOf(r.Context()); c != nil {
		by = c.Name
	}
	e, err := s.store.PublishModel(r.Context(), name, n, by)
	if err != nil {
		return nil, err
	}
	return s.catalogEntryJSON(r.Context(), e)
}

// catalogEntryJSON is a catalog entry with the version's metrics and the
// dataset versions it came from.
func (s *Server) catalogEntryJSON(ctx context.Context, e store.CatalogEntry) (map[string]any, error) {
	v, err := s.store.GetArtifactVersion(ctx, "model", e.Name, e.Version)
	if err != nil {
		return nil, err
	}
	out := artifactVersionJSON(v)
	out["published_by"], out["published_at"] = e.PublishedBy, e.PublishedAt
	run, err := s.producerRun(ctx, v)
	if err != nil {
		return nil, err
	}
	if run != "" {
		ms, err := s.store.RunMetrics(ctx, run)
		if err != nil {
			return nil, err
		}
		out["metrics"] = metricsJSON(ms)
	}
	g, err := s.lineageOf(ctx, lineage.Version{Kind: lineage.KindModel, Name: e.Name, Version: e.Version}, true)
	if err != nil {
		return nil, err
	}
	datasets := []string{}
	for _, n := range g.Of(lineage.KindDataset) {
		datasets = append(datasets, strings.TrimPrefix(n.ID, "dataset:"))
	}
	out["lineage"] = map[string]any{"datasets": datasets, "runs": len(g.Runs())}
	return out, nil
}

func (s *Server) catalog(r *http.Request) (any, error) {
	es, err := s.store.Catalog(r.Context(), s.groupsOf(r.Context()))
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, e := range es {
		j, err := s.catalogEntryJSON(r.Context(), e)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return map[string]any{"models": out, "total_size": len(out)}, nil
}

// catalogVersion resolves NAME@vN of a Deployment field to a published
// version of the deployment's group (another group's is missing).
func (s *Server) catalogVersion(ctx context.Context, group, field, ref string) (store.ArtifactVersion, error) {
	name, n, _ := deploy.ParseModel(ref)
	v, err := s.store.GetArtifactVersion(ctx, "model", name, n)
	if err == nil && s.multiUser && groupOf(v.Group) != groupOf(group) {
		err = store.MissingVersion("model", name, n)
	}
	if errors.Is(err, store.ErrNotFound) {
		return v, badRequest("%s: %v", field, err)
	}
	if err != nil {
		return v, err
	}
	if _, err := s.store.CatalogEntryOf(ctx, name, v.Version); errors.Is(err, store.ErrNotFound) {
		return v, badRequest("%s: model %s@v%d is not in the catalog: an ML Engineer publishes it (kubeline models publish %s@v%d)", field, name, v.Version, name, v.Version)
	} else if err != nil {
		return v, err
	}
	return v, nil
}

// createDeployment deploys a Deployment document (the request body, YAML
// or JSON) of target local.
func (s *Server) createDeployment(r *http.Request) (any, error) {
	body, err := io.ReadAll(r.Body) // under the route's limit
	if err != nil {
		return nil, bodyError(r, err)
	}
	docs, err := spec.Parse(body)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	if docs[0].Kind != spec.KindDeployment {
		return nil, badRequest("want a kind: Deployment document, got %q", docs[0].Kind)
	}
	d, err := deploy.Decode(docs[0].Node)
	if err == nil {
		err = d.Validate()
	}
	if err != nil {
		return nil, badRequest("%v", err)
	}
	if c := r.URL.Query().Get("cluster"); c != "" {
		return s.deployToCluster(r, d, c)
	}
	if d.Spec.Target == "kserve" {
		return nil, badRequest("spec.target: kserve deployments go to a registered cluster (kubeline deploy FILE --cluster NAME, ?cluster=NAME), or run their compiled workflow (kubeline compile FILE) through Argo; this server serves target local itself")
	}
	group, err := s.deploymentGroup(r, d.Metadata.Name)
	if err != nil {
		return nil, err
	}
	sp, err := s.servingSpec(r.Context(), group, d)
	if err != nil {
		return nil, err
	}
	st, err := s.serving.Start(s.ctx, sp)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	s.deployDocs.Store(d.Metadata.Name, d)
	if s.mon != nil {
		defer s.syncRate(r.Context(), d.Metadata.Name)
	}
	if s.multiUser {
		if _, err := s.store.Own(r.Context(), store.Ownership{Kind: store.KindDeployment, ID: d.Metadata.Name, Group: group, Owner: callerOf(r.Context()).Name}); err != nil {
			_ = s.serving.Stop(d.Metadata.Name)
			return nil, err
		}
	}
	s.changed("deployment", d.Metadata.Name, group) // changes.go
	return st, nil
}

// deploymentGroup is the group a new deployment of name goes to: a running
// one of that name is replaced only by its owner or an operator (another
// group's is a name in use); else the requested group (?group=) or the
// caller's first.
func (s *Server) deploymentGroup(r *http.Request, name string) (string, error) {
	ctx := r.Context()
	if !s.multiUser {
		return "", nil
	}
	res, err := s.resourceOf(ctx, store.KindDeployment, name)
	switch {
	case isMissing(err):
		if err := s.store.Disown(ctx, store.KindDeployment, name); err != nil { // one a previous server ran
			return "", err
		}
		return s.groupFor(ctx, "group", r.URL.Query().Get("group"))
	case err != nil:
		return "", err
	case !s.seesGroup(ctx, res.group):
		return "", fmt.Errorf("deployment %q: %w", name, store.ErrTaken)
	case !callerOf(ctx).manages(res):
		return "", forbidden("only the owner of deployment %s or an operator may replace it (owner: %s)", name, res.owner)
	}
	return res.group, nil
}

// listDeployments lists the deployments of the caller's groups.
func (s *Server) listDeployments(r *http.Request) (any, error) {
	all := s.serving.List()
	groups := s.groupsOf(r.Context())
	if groups == nil {
		return map[string]any{"deployments": all}, nil
	}
	held, err := s.store.Held(r.Context(), store.KindDeployment, groups)
	if err != nil {
		return nil, err
	}
	out := []serving.Status{}
	for _, d := range all {
		if _, ok := held[d.Name]; ok {
			out = append(out, d)
		}
	}
	return map[string]any{"deployments": out}, nil
}

func (s *Server) servingSpec(ctx context.Context, group string, d *deploy.Deployment) (serving.Spec, error) {
	dir := filepath.Join(s.servingDir, d.Metadata.Name)
	revision := func(field, ref string) (serving.Revision, error) {
		v, err := s.catalogVersion(ctx, group, field, ref)
		if err != nil {
			return serving.Revision{}, err
		}
		modelDir, err := s.materializer.Materialize(ctx, v, filepath.Join(s.servingDir, "models"))
		if err != nil {
			return serving.Revision{}, err
		}
		rev := serving.Revision{Model: fmt.Sprintf("%s@v%d", v.Name, v.Version), ModelDir: modelDir, Predictor: process(d.Spec.Predictor)}
		if t := d.Spec.Transformer; t != nil {
			p := process(*t)
			rev.Transformer = &p
		}
		return rev, nil
	}
	sp := serving.Spec{Name: d.Metadata.Name, WorkDir: dir}
	var err error
	if sp.Stable, err = revision("spec.model", d.Spec.Model); err != nil {
		return sp, err
	}
	if c := d.Spec.Canary; c != nil {
		rev, err := revision("spec.canary.model", c.Model)
		if err != nil {
			return sp, err
		}
		sp.Canary, sp.CanaryPercent = &rev, c.TrafficPercent
	}
	return sp, nil
}

func process(c deploy.Component) serving.Process {
	p := serving.Process{Command: append(append([]string{}, c.Command...), c.Args...)}
	if c.Protocol != "" {
		p.Env = append(p.Env, "PROTOCOL="+c.Protocol)
	}
	for _, e := range c.Env {
		p.Env = append(p.Env, e.Name+"="+e.Value)
	}
	return p
}

// deploymentView is a deployment as GET shows it: its status and the spec
// of the Deployment it was made from (what the console's edit form fills
// in); an imported one has none.
type deploymentView struct {
	serving.Status
	Spec *deploy.Spec `json:"spec,omitempty"`
}

func (s *Server) getDeployment(ctx context.Context, name string) (any, error) {
	st, err := s.serving.Get(name)
	if errors.Is(err, serving.ErrNotFound) {
		return nil, notFoundErr("deployment %s not found", name)
	}
	if err != nil {
		return nil, err
	}
	var sp *deploy.Spec
	if d, ok := s.deployDocs.Load(name); ok {
		sp = &d.(*deploy.Deployment).Spec
	}
	if st.Cluster != "" {
		m := s.refreshRemote(ctx, st)
		if sp != nil {
			m["spec"] = sp
		}
		return m, nil
	}
	return deploymentView{Status: st, Spec: sp}, nil
}

// deploymentAction is POST /deployments/NAME:stop.
func (s *Server) deploymentAction(r *http.Request) (any, error) {
	name, verb, _ := strings.Cut(r.PathValue("action"), ":")
	if verb != "stop" {
		return nil, notFoundErr("want POST %s/deployments/NAME:stop", kv1)
	}
	if cd, err := s.store.GetClusterDeployment(r.Context(), name); err == nil {
		if err := s.stopClusterDeployment(r.Context(), cd); err != nil {
			return nil, err
		}
		if s.mon != nil {
			s.syncRate(r.Context(), name)
		}
		return map[string]any{"name": name, "state": "Stopped"}, nil
	}
	if err := s.serving.Stop(name); errors.Is(err, serving.ErrNotFound) {
		return nil, notFoundErr("deployment %s not found", name)
	} else if err != nil {
		return nil, err
	}
	s.deploymentChanged(r.Context(), name) // before Disown: its group is known until then
	if err := s.store.Disown(r.Context(), store.KindDeployment, name); err != nil {
		return nil, err
	}
	s.deployDocs.Delete(name)
	if s.mon != nil {
		s.syncRate(r.Context(), name)
	}
	return map[string]any{"name": name, "state": "Stopped"}, nil
}

// deploymentTraffic serves a deployment's requests through the inference
// endpoint over the last ?seconds=N (default 300, at most the 600 kept) in
// points of ?step=S seconds (default 5): requests, errors, mean and
// largest latency — the console's live chart.
func (s *Server) deploymentTraffic(r *http.Request) (any, error) {
	span, err := intParam(r, "seconds", 300, 1, int(serving.TrafficWindow/time.Second))
	if err != nil {
		return nil, err
	}
	step, err := intParam(r, "step", 5, 1, 600)
	if err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	pts, err := s.serving.Traffic(name, time.Now(), time.Duration(span)*time.Second, time.Duration(step)*time.Second)
	if errors.Is(err, serving.ErrNotFound) {
		return nil, notFoundErr("deployment %s not found", name)
	}
	if err != nil {
		return nil, err
	}
	points := []map[string]any{}
	for _, p := range pts {
		points = append(points, map[string]any{"at": timestamp(p.At), "requests": p.Requests, "errors": p.Errors,
			"latency_mean_ms": p.LatencyMeanMS, "latency_max_ms": p.LatencyMaxMS})
	}
	return map[string]any{"deployment": name, "seconds": span, "step_seconds": step, "points": points}, nil
}

// intParam reads an integer query parameter within [lo, hi]; def when absent.
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("%s: want %d to %d, got %q", name, lo, hi, v)
	}
	return n, nil
}
