package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kubeline/kubeline/runtime/admission"
	"github.com/kubeline/kubeline/runtime/store"
)

// poolUsage is what a pool's runs hold and how many wait for it.
type poolUsage struct {
	used   map[string]int64 // node -> GPUs held
	queued int
	groups []string
}

// usage reads every pool's usage from the admission snapshot.
func (s *Server) usage(ctx context.Context) ([]admission.Pool, map[string]*poolUsage, error) {
	st, err := s.snapshot(ctx)
	if err != nil {
		return nil, nil, err
	}
	out := map[string]*poolUsage{}
	for _, p := range st.Pools {
		out[p.Name] = &poolUsage{used: map[string]int64{}}
	}
	for _, a := range st.Running {
		if u := out[a.Pool]; u != nil {
			for n, g := range a.Nodes {
				u.used[n] += g
			}
		}
	}
	for _, q := range st.Queue {
		if u := out[st.Groups[q.Group]]; u != nil {
			u.queued++
		}
	}
	for g, p := range st.Groups {
		if u := out[p]; u != nil {
			u.groups = append(u.groups, g)
		}
	}
	for _, u := range out {
		slices.Sort(u.groups)
	}
	return st.Pools, out, nil
}

func poolJSON(p admission.Pool, u *poolUsage) map[string]any {
	var total, used int64
	nodes := []map[string]any{}
	for _, n := range p.Nodes {
		total += n.GPUs
		used += u.used[n.Name]
		nodes = append(nodes, map[string]any{"name": n.Name, "gpus": n.GPUs, "used_gpus": u.used[n.Name]})
	}
	return map[string]any{"name": p.Name, "gpu_type": p.GPUType, "nodes": nodes, "default": p.Name == admission.DefaultPool,
		"total_gpus": total, "used_gpus": used, "free_gpus": total - used, "queued_runs": u.queued, "groups": nonNil(u.groups)}
}

// poolView is a pool as the caller sees it: which groups use it is for
// operators to know (group names are not shared across groups).
func (s *Server) poolView(r *http.Request, p admission.Pool, u *poolUsage) map[string]any {
	m := poolJSON(p, u)
	if s.groupsOf(r.Context()) != nil {
		delete(m, "groups")
	}
	return m
}

// listPools lists every pool, the default one first, with the cluster's
// GPU count: pools are few, so one page holds them all.
func (s *Server) listPools(r *http.Request) (any, error) {
	history, err := poolHistory(r)
	if err != nil {
		return nil, err
	}
	pools, usage, err := s.usage(r.Context())
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, p := range pools {
		out = append(out, s.poolView(r, p, usage[p.Name]))
	}
	if history > 0 {
		if err := s.withHistory(r.Context(), out, history); err != nil { // poolusage.go
			return nil, err
		}
	}
	var cluster int64
	for _, n := range s.cluster {
		cluster += n.GPUs
	}
	return map[string]any{"pools": out, "total_size": len(out), "cluster_gpus": cluster}, nil
}

func (s *Server) getPool(r *http.Request) (any, error) {
	pools, usage, err := s.usage(r.Context())
	if err != nil {
		return nil, err
	}
	for _, p := range pools {
		if p.Name == r.PathValue("name") {
			return s.poolView(r, p, usage[p.Name]), nil
		}
	}
	return nil, notFoundErr("pool %q: not found", r.PathValue("name"))
}

type poolBody struct {
	Name    string           `json:"name"`
	GPUType string           `json:"gpu_type"`
	Nodes   []store.PoolNode `json:"nodes"`
}

// validatePools checks the stored pools with one replaced or added against
// the cluster; errors about it are named "pool....".
func (s *Server) validatePools(ctx context.Context, p store.GPUPool) (string, error) {
	stored, err := s.store.ListPools(ctx)
	if err != nil {
		return "", err
	}
	var all []admission.Pool
	for _, sp := range stored {
		if sp.Name == p.Name {
			continue
		}
		all = append(all, toPool(sp))
	}
	idx := len(all)
	all = append(all, toPool(p))
	typ := p.GPUType
	if typ == "" {
		typ = admission.TypeOf(s.cluster, all[idx].Nodes)
		all[idx].GPUType = typ
	}
	if err := admission.ValidatePools(s.cluster, all); err != nil {
		// Another pool left empty by ReconcilePools stays allowed.
		var msgs []string
		for _, m := range strings.Split(err.Error(), "\n") {
			if strings.HasSuffix(m, "].nodes: a pool needs at least one node") && !strings.HasPrefix(m, "pools["+strconv.Itoa(idx)+"]") {
				continue
			}
			msgs = append(msgs, strings.ReplaceAll(m, "pools["+strconv.Itoa(idx)+"]", "pool"))
		}
		if len(msgs) > 0 {
			return "", badRequest("%s", strings.Join(msgs, "\n"))
		}
	}
	if typ == "" {
		return "", badRequest("pool.nodes: the nodes hold GPUs of different types: a pool holds one type")
	}
	return typ, nil
}

// ReconcilePools fits the stored pools to the server's cluster (its --gpus
// may have changed since they were made; admission.ReconcilePools) and
// stores the changed ones. It returns what changed, a sentence each, for
// the server to say at start.
func (s *Server) ReconcilePools(ctx context.Context) ([]string, error) {
	stored, err := s.store.ListPools(ctx)
	if err != nil {
		return nil, err
	}
	var pools []admission.Pool
	types := map[string]string{}
	for _, p := range stored {
		pools = append(pools, toPool(p))
		types[p.Name] = p.GPUType
	}
	changed, notes := admission.ReconcilePools(s.cluster, pools)
	for _, p := range changed {
		sp := store.GPUPool{Name: p.Name, GPUType: types[p.Name], Nodes: []store.PoolNode{}}
		for _, n := range p.Nodes {
			sp.Nodes = append(sp.Nodes, store.PoolNode{Name: n.Name, GPUs: n.GPUs})
		}
		if err := s.store.UpdatePool(ctx, sp); err != nil {
			return nil, fmt.Errorf("reconcile pool %s with the cluster: %w", p.Name, err)
		}
	}
	return notes, nil
}

func toPool(p store.GPUPool) admission.Pool {
	ap := admission.Pool{Name: p.Name, GPUType: p.GPUType}
	for _, n := range p.Nodes {
		ap.Nodes = append(ap.Nodes, admission.Node{Name: n.Name, GPUs: n.GPUs})
	}
	return ap
}

func (s *Server) createPool(r *http.Request) (any, error) {
	var b poolBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	if err := validName("pool.name", b.Name); err != nil {
		return nil, err
	}
	p := store.GPUPool{Name: b.Name, GPUType: b.GPUType, Nodes: b.Nodes}
	typ, err := s.validatePools(r.Context(), p)
	if err != nil {
		return nil, err
	}
	p.GPUType = typ
	if err := s.store.CreatePool(r.Context(), &p); err != nil {
		return nil, err
	}
	s.poolChanged(p.Name) // changes.go
	r.SetPathValue("name", p.Name)
	return s.getPool(r)
}

func (s *Server) updatePool(r *http.Request) (any, error) {
	var b poolBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	if name == admission.DefaultPool {
		return nil, badRequest("pool %q holds every GPU no other pool was given: change the other pools instead", name)
	}
	if b.Name != "" && b.Name != name {
		return nil, badRequest("pool.name: a pool cannot be renamed")
	}
	p := store.GPUPool{Name: name, GPUType: b.GPUType, Nodes: b.Nodes}
	typ, err := s.validatePools(r.Context(), p)
	if err != nil {
		return nil, err
	}
	p.GPUType = typ
	if err := s.store.UpdatePool(r.Context(), p); err != nil {
		return nil, err
	}
	s.poolChanged(name)
	if err := s.Admit(s.ctx); err != nil {
		return nil, err
	}
	return s.getPool(r)
}

func (s *Server) deletePool(r *http.Request) (any, error) {
	name := r.PathValue("name")
	if name == admission.DefaultPool {
		return nil, badRequest("pool %q cannot be deleted: it holds every GPU no other pool was given", name)
	}
	_, usage, err := s.usage(r.Context())
	if err != nil {
		return nil, err
	}
	u, ok := usage[name]
	if !ok {
		return nil, notFoundErr("pool %q: not found", name)
	}
	if len(u.groups) > 0 {
		return nil, &apiError{http.StatusConflict, "pool " + name + " is used by groups " + strings.Join(u.groups, ", ") + ": give them another pool first"}
	}
	for _, g := range u.used {
		if g > 0 {
			return nil, &apiError{http.StatusConflict, "pool " + name + " has runs holding its GPUs: wait for them or stop them"}
		}
	}
	if err := s.store.DeletePool(r.Context(), name); err != nil {
		return nil, err
	}
	s.poolChanged(name)
	return map[string]any{}, s.Admit(s.ctx)
}
