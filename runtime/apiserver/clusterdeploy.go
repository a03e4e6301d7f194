package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kubeline/kubeline/compiler/deploy"
	"github.com/kubeline/kubeline/runtime/kserve"
	"github.com/kubeline/kubeline/runtime/serving"
	"github.com/kubeline/kubeline/runtime/store"
)

// Deployments on registered clusters. `kubeline deploy FILE --cluster C`
// applies the Deployment's KServe InferenceService on cluster C;
// `kubeline deployments import NAME --cluster C --inference-service IS`
// registers one running there. Either way kubeline's inference endpoint
// routes /v1/models/NAME and /v2/models/NAME to the InferenceService's
// URL (serving.StartRemote), so its predictions are recorded and monitored
// like a local deployment's — routing rather than polling logs: it needs
// nothing of the InferenceService (no payload logger configured on
// someone else's service, no log access to its pods), records with the
// same sampling, bounds and latency measure, and is checked by the same
// policy; what it cannot see is traffic sent to the service directly.

// InferenceServices applies and reads InferenceServices on registered
// clusters (runtime/kserve.Client).
type InferenceServices interface {
	Apply(ctx context.Context, cl store.Cluster, isvc map[string]any) (kserve.Status, error)
	Get(ctx context.Context, cl store.Cluster, ns, name string) (kserve.Status, error)
	Delete(ctx context.Context, cl store.Cluster, ns, name string) error
}

// WithInferenceServices lets deployments go to, and be imported from,
// registered clusters.
func (s *Server) WithInferenceServices(c InferenceServices) *Server {
	s.clusters = c
	return s
}

// clusterCallTimeout bounds one call to a cluster's API server.
const clusterCallTimeout = 15 * time.Second

// clusterOf is a registered cluster of group (another group's is missing).
func (s *Server) clusterOf(ctx context.Context, field, name, group string) (store.Cluster, error) {
	if s.clusters == nil {
		return store.Cluster{}, badRequest("%s: this server reaches no clusters", field)
	}
	c, err := s.store.GetCluster(ctx, name)
	if err == nil && s.multiUser && groupOf(c.Group) != groupOf(group) {
		err = fmt.Errorf("cluster %s: %w", name, store.ErrNotFound)
	}
	if isMissing(err) {
		return c, badRequest("%s: cluster %q not found (register it with kubeline clusters add)", field, name)
	}
	return c, err
}

// clusterError is a cluster's refusal as an answer: what was missing is
// the caller's 400, anything else the cluster's fault (502).
func clusterError(field string, err error) error {
	if isMissing(err) {
		return badRequest("%s: %v", field, err)
	}
	return &apiError{http.StatusBadGateway, err.Error()}
}

// deployToCluster applies a kserve Deployment's InferenceService on a
// registered cluster of the deployment's group, with the model version's
// storage URI, and routes the deployment's name to it.
func (s *Server) deployToCluster(r *http.Request, d *deploy.Deployment, clusterName string) (any, error) {
	ctx := r.Context()
	if d.Spec.Target != "kserve" {
		return nil, badRequest("spec.target: --cluster applies a KServe InferenceService: want target kserve, got %q", d.Spec.Target)
	}
	group, err := s.deploymentGroup(r, d.Metadata.Name)
	if err != nil {
		return nil, err
	}
	cl, err := s.clusterOf(ctx, "cluster", clusterName, group)
	if err != nil {
		return nil, err
	}
	st, err := s.applyInferenceService(ctx, cl, group, d)
	if err != nil {
		return nil, err
	}
	cd := &store.ClusterDeployment{Name: d.Metadata.Name, Cluster: cl.Name, Namespace: st.Namespace, InferenceService: st.Name,
		Model: modelRef(s.servedVersion(ctx, group, d)), Group: group}
	if c := callerOf(ctx); c != nil {
		cd.Owner = c.Name
	}
	return s.registerRemote(ctx, cd, st, d)
}

// applyInferenceService renders and applies d's InferenceService.
func (s *Server) applyInferenceService(ctx context.Context, cl store.Cluster, group string, d *deploy.Deployment) (kserve.Status, error) {
	field, ref := "spec.model", d.Spec.Model
	if d.Spec.Canary != nil {
		field, ref = "spec.canary.model", d.Spec.Canary.Model
	}
	v, err := s.catalogVersion(ctx, group, field, ref)
	if err != nil {
		return kserve.Status{}, err
	}
	if strings.HasPrefix(v.URI, "file://") || v.URI == "" {
		return kserve.Status{}, badRequest("%s: model %s@v%d is in a local directory (%s), which cluster %s cannot read: run the server with an S3 artifact store", field, v.Name, v.Version, v.URI, cl.Name)
	}
	uri := v.URI
	if rest, ok := strings.CutPrefix(uri, "minio://"); ok {
		uri = "s3://" + rest // what KServe's storage initializer reads (as launch --resolve-version writes)
	}
	isvc := d.InferenceService(uri)
	cctx, cancel := context.WithTimeout(ctx, clusterCallTimeout)
	defer cancel()
	st, err := s.clusters.Apply(cctx, cl, isvc)
	if err != nil {
		return st, clusterError("cluster", err)
	}
	return st, nil
}

// servedVersion is the model version a Deployment serves (its canary's when
// it has one), as the catalog holds it.
func (s *Server) servedVersion(ctx context.Context, group string, d *deploy.Deployment) store.ArtifactVersion {
	ref := d.Spec.Model
	if d.Spec.Canary != nil {
		ref = d.Spec.Canary.Model
	}
	v, _ := s.catalogVersion(ctx, group, "spec.model", ref)
	return v
}

func modelRef(v store.ArtifactVersion) string {
	if v.Name == "" {
		return ""
	}
	return fmt.Sprintf("%s@v%d", v.Name, v.Version)
}

// registerRemote records a cluster deployment and routes its name to it.
func (s *Server) registerRemote(ctx context.Context, cd *store.ClusterDeployment, st kserve.Status, d *deploy.Deployment) (any, error) {
	if err := s.store.PutClusterDeployment(ctx, cd); err != nil {
		return nil, err
	}
	out, err := s.serving.StartRemote(cd.Name, cd.Model, serving.Remote{Cluster: cd.Cluster, Namespace: cd.Namespace,
		InferenceService: cd.InferenceService, URL: st.URL, Imported: cd.Imported})
	if err != nil {
		return nil, badRequest("%v", err)
	}
	if d != nil {
		s.deployDocs.Store(cd.Name, d)
	}
	if s.mon != nil {
		s.syncRate(ctx, cd.Name)
	}
	return remoteJSON(out, st), nil
}

func remoteJSON(out serving.Status, st kserve.Status) map[string]any {
	state := "NotReady"
	if st.Ready {
		state = "Ready"
	}
	j := map[string]any{"name": out.Name, "state": state, "model": out.Model, "cluster": out.Cluster, "namespace": out.Namespace,
		"inference_service": out.InferenceService, "imported": out.Imported, "remote_url": st.URL, "url": out.URL,
		"started_at": out.StartedAt, "requests": out.Requests}
	if st.Message != "" {
		j["message"] = st.Message
	}
	return j
}

type importBody struct {
	Name             string `json:"name"`
	Cluster          string `json:"cluster"`
	InferenceService string `json:"inference_service"`
	Namespace        string `json:"namespace"`
	Model            string `json:"model"`
}

// importDeployment is POST /deployments:import: register an
// InferenceService running on a registered cluster under a deployment
// name, for monitoring; kubeline routes to it but does not manage it.
func (s *Server) importDeployment(r *http.Request) (any, error) {
	var b importBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	var errs []string
	if err := checkName("name", b.Name); err != nil || b.Name == "" {
		errs = append(errs, fmt.Sprintf("name: want a deployment name, got %q", b.Name))
	}
	if b.Cluster == "" {
		errs = append(errs, "cluster: required")
	}
	if b.InferenceService == "" {
		errs = append(errs, "inference_service: required")
	}
	if b.Model != "" {
		if _, n, ok := deploy.ParseModel(b.Model); !ok || n == 0 {
			errs = append(errs, fmt.Sprintf("model: want NAME@vN, got %q", b.Model))
		}
	}
	if len(errs) > 0 {
		return nil, badRequest("%s", strings.Join(errs, "; "))
	}
	ctx := r.Context()
	group, err := s.deploymentGroup(r, b.Name)
	if err != nil {
		return nil, err
	}
	cl, err := s.clusterOf(ctx, "cluster", b.Cluster, group)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, clusterCallTimeout)
	defer cancel()
	st, err := s.clusters.Get(cctx, cl, b.Namespace, b.InferenceService)
	if err != nil {
		return nil, clusterError("inference_service", err)
	}
	model := b.Model
	if model == "" {
		model = st.Model
	}
	cd := &store.ClusterDeployment{Name: b.Name, Cluster: cl.Name, Namespace: st.Namespace, InferenceService: st.Name, Model: model,
		Imported: true, Group: group}
	if c := callerOf(ctx); c != nil {
		cd.Owner = c.Name
	}
	return s.registerRemote(ctx, cd, st, nil)
}

// clusterDeployed reports whether a cluster deployment of that name is
// registered.
func (s *Server) clusterDeployed(ctx context.Context, name string) bool {
	_, err := s.store.GetClusterDeployment(ctx, name)
	return err == nil
}

// stopClusterDeployment deletes the InferenceService kubeline applied (an
// imported one is left running: only forgotten) and forgets it.
func (s *Server) stopClusterDeployment(ctx context.Context, cd store.ClusterDeployment) error {
	if !cd.Imported && s.clusters != nil {
		cl, err := s.store.GetCluster(ctx, cd.Cluster)
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, clusterCallTimeout)
			err = s.clusters.Delete(cctx, cl, cd.Namespace, cd.InferenceService)
			cancel()
		}
		if err != nil && !isMissing(err) {
			return clusterError("cluster", err)
		}
	}
	_ = s.serving.Stop(cd.Name)
	s.deployDocs.Delete(cd.Name)
	return s.store.RemoveClusterDeployment(ctx, cd.Name)
}

// refreshRemote reads a cluster deployment's InferenceService now.
func (s *Server) refreshRemote(ctx context.Context, st serving.Status) map[string]any {
	ks := kserve.Status{URL: st.RemoteURL}
	cl, err := s.store.GetCluster(ctx, st.Cluster)
	if err == nil && s.clusters != nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ks, err = s.clusters.Get(cctx, cl, st.Namespace, st.InferenceService)
		cancel()
	}
	out := remoteJSON(st, ks)
	if err != nil {
		out["state"], out["message"] = "Unknown", err.Error()
	} else if ks.URL != st.RemoteURL { // KServe set (or changed) its URL: route there
		if _, err := s.serving.StartRemote(st.Name, st.Model, serving.Remote{Cluster: st.Cluster, Namespace: st.Namespace,
			InferenceService: st.InferenceService, URL: ks.URL, Imported: st.Imported}); err != nil {
			out["message"] = err.Error()
		}
	}
	return out
}

// RestoreClusterDeployments routes the cluster deployments a previous
// server registered (at start; their InferenceServices kept running).
func (s *Server) RestoreClusterDeployments(ctx context.Context) error {
	if s.serving == nil {
		return nil
	}
	ds, err := s.store.ClusterDeployments(ctx)
	if err != nil {
		return err
	}
	for _, cd := range ds {
		url := ""
		if cl, err := s.store.GetCluster(ctx, cd.Cluster); err == nil && s.clusters != nil {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if st, err := s.clusters.Get(cctx, cl, cd.Namespace, cd.InferenceService); err == nil {
				url = st.URL
			}
			cancel()
		}
		if _, err := s.serving.StartRemote(cd.Name, cd.Model, serving.Remote{Cluster: cd.Cluster, Namespace: cd.Namespace,
			InferenceService: cd.InferenceService, URL: url, Imported: cd.Imported}); err != nil {
			s.tel.log.Warn("cluster deployment not routed", "deployment", cd.Name, "err", err)
		}
	}
	return nil
}

// redeployCluster is the retraining action's redeploy of a cluster
// deployment: its InferenceService again, with the canary.
func (s *Server) redeployCluster(ctx context.Context, m store.Monitor, model string, percent int) error {
	cd, err := s.store.GetClusterDeployment(ctx, m.Deployment)
	if err != nil {
		return fmt.Errorf("deployment %s is not running", m.Deployment)
	}
	v, ok := s.deployDocs.Load(m.Deployment)
	if cd.Imported || !ok {
		return errors.New("kubeline has no Deployment document for it (imported, or deployed before this server started): deploy the canary yourself")
	}
	doc := *v.(*deploy.Deployment)
	doc.Spec.Canary = &deploy.Canary{Model: model, TrafficPercent: percent}
	cl, err := s.store.GetCluster(ctx, cd.Cluster)
	if err != nil {
		return err
	}
	st, err := s.applyInferenceService(ctx, cl, m.Group, &doc)
	if err != nil {
		return err
	}
	cd.Model = model
	if _, err := s.registerRemote(ctx, &cd, st, &doc); err != nil {
		return err
	}
	s.mon.baselines.Delete(m.Name)
	return nil
}
