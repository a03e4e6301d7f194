package apiserver

import (
	"net/http"
	"path/filepath"

	"github.com/kubeline/kubeline/runtime/store"
)

// ClusterCheck checks a cluster registration before it is stored: that
// the kubeconfig (a file of the server's machine; "" for the default),
// its context and namespace give a cluster's config. Its error says what
// is wrong.
type ClusterCheck func(kubeconfig, context, namespace string) error

// WithClusters serves the registered clusters (runs and deployments sent
// with --cluster NAME), checking registrations with check.
func (s *Server) WithClusters(check ClusterCheck) *Server {
	s.clusterCheck = check
	return s
}

// clusterRoutes adds /apis/kubeline/v1/clusters: list, add, get, remove.
func (s *Server) clusterRoutes(h func(string, func(*http.Request) (any, error))) {
	h("GET "+kv1+"/clusters", s.listClusters)
	h("POST "+kv1+"/clusters", s.addCluster)
	h("GET "+kv1+"/clusters/{name}", s.getCluster)
	h("DELETE "+kv1+"/clusters/{name}", s.removeCluster)
}

func clusterJSON(c store.Cluster) map[string]any {
	return map[string]any{"name": c.Name, "kubeconfig": c.Kubeconfig, "context": c.Context, "namespace": c.Namespace,
		"group": c.Group, "owner": c.Owner, "created_at": timestamp(c.CreatedAt)}
}

// listClusters lists the clusters of the caller's groups.
func (s *Server) listClusters(r *http.Request) (any, error) {
	cs, err := s.store.ListClusters(r.Context())
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, c := range cs {
		if s.seesGroup(r.Context(), c.Group) {
			out = append(out, clusterJSON(c))
		}
	}
	return map[string]any{"clusters": out, "total_size": len(out)}, nil
}

func (s *Server) getCluster(r *http.Request) (any, error) {
	c, err := s.store.GetCluster(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return clusterJSON(c), nil
}

type clusterBody struct {
	Name       string `json:"name"`
	Kubeconfig string `json:"kubeconfig"`
	Context    string `json:"context"`
	Namespace  string `json:"namespace"`
	Group      string `json:"group"`
}

// addCluster registers a cluster for the requested group (the caller's
// first when none), owned by the caller. The kubeconfig is a file of the
// server's machine, so on a multi-user server only operators register
// clusters (policies.go).
func (s *Server) addCluster(r *http.Request) (any, error) {
	var b clusterBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	if err := validName("cluster.name", b.Name); err != nil {
		return nil, err
	}
	if b.Kubeconfig != "" && !filepath.IsAbs(b.Kubeconfig) {
		return nil, badRequest("cluster.kubeconfig: %q: give an absolute path (a file of the server's machine)", b.Kubeconfig)
	}
	if s.clusterCheck == nil {
		return nil, badRequest("this server registers no clusters")
	}
	if err := s.clusterCheck(b.Kubeconfig, b.Context, b.Namespace); err != nil {
		return nil, badRequest("cluster %s: %v", b.Name, err)
	}
	group, err := s.groupFor(r.Context(), "cluster.group", b.Group)
	if err != nil {
		return nil, err
	}
	c := store.Cluster{Name: b.Name, Kubeconfig: b.Kubeconfig, Context: b.Context, Namespace: b.Namespace, Group: group}
	if caller := callerOf(r.Context()); caller != nil {
		c.Owner = caller.Name
	}
	if err := s.store.AddCluster(r.Context(), &c); err != nil {
		return nil, err
	}
	got, err := s.store.GetCluster(r.Context(), c.Name)
	if err != nil {
		return nil, err
	}
	return clusterJSON(got), nil
}

func (s *Server) removeCluster(r *http.Request) (any, error) {
	if err := s.store.RemoveCluster(r.Context(), r.PathValue("name")); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}
