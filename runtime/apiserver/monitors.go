package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/kubeline/kubeline/compiler/deploy"
	"github.com/kubeline/kubeline/compiler/spec"
	"github.com/kubeline/kubeline/runtime/recorder"
	"github.com/kubeline/kubeline/runtime/store"
)

// Recording is the endpoint's prediction recorder (runtime/recorder):
// each deployment's sample rate, its counters, and Flush to wait for what
// is queued.
type Recording interface {
	SetRate(deployment string, rate float64)
	Stats() recorder.Stats
	Flush(ctx context.Context) error
}

// monitoring is the state of the monitors' evaluation (monitoreval.go).
type monitoring struct {
	rec Recording
	// due holds the deployments with new predictions; wake signals it.
	mu   sync.Mutex
	due  map[string]bool
	wake chan struct{}
	// baselines caches each monitor's baseline by what it was read from.
	baselines sync.Map // monitor name -> cachedBaseline
}

// WithMonitoring turns on monitors over the predictions rec records.
func (s *Server) WithMonitoring(rec Recording) *Server {
	s.mon = &monitoring{rec: rec, due: map[string]bool{}, wake: make(chan struct{}, 1)}
	_ = s.tel.reg.Register(recordingCollector{rec}) // once: a second recorder is not exported
	return s
}

// monitorRoutes adds the monitors' routes (the drilldown raw: it answers
// SVG too).
func (s *Server) monitorRoutes(h func(string, func(*http.Request) (any, error)), raw func(string, http.HandlerFunc)) {
	if s.mon == nil {
		return
	}
	h("POST "+kv1+"/monitors", s.createMonitor)
	h("GET "+kv1+"/monitors", s.listMonitors)
	h("GET "+kv1+"/monitors/{name}", func(r *http.Request) (any, error) { return s.getMonitor(r.Context(), r.PathValue("name")) })
	h("GET "+kv1+"/monitors/{name}/status", func(r *http.Request) (any, error) { return s.monitorStatus(r.Context(), r.PathValue("name")) })
	h("GET "+kv1+"/monitors/{name}/alerts", s.monitorAlerts)
	h("DELETE "+kv1+"/monitors/{name}", s.deleteMonitor)
	raw("GET "+kv1+"/monitors/{name}/drilldown", s.drilldown)
}

// createMonitor stores a Monitor document (YAML or JSON) in the group of
// its deployment, which the caller must see; its retraining action needs
// a pipeline of that group and a caller who may run and publish.
func (s *Server) createMonitor(r *http.Request) (any, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyError(r, err)
	}
	m, err := decodeMonitor(body)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	group, err := s.deploymentGroupOf(ctx, m.Spec.Deployment)
	if isMissing(err) {
		return nil, badRequest("spec.deployment: deployment %q not found", m.Spec.Deployment)
	}
	if err != nil {
		return nil, err
	}
	if err := s.checkRetrain(ctx, m, group); err != nil {
		return nil, err
	}
	specJSON, _ := json.Marshal(m)
	last, err := s.store.LastPrediction(ctx)
	if err != nil {
		return nil, err
	}
	rec := &store.Monitor{Name: m.Metadata.Name, Deployment: m.Spec.Deployment, Spec: string(specJSON), LastSeq: last, Group: group}
	if c := callerOf(ctx); c != nil {
		rec.Owner = c.Name
	}
	if err := s.store.CreateMonitor(ctx, rec); err != nil {
		return nil, err
	}
	s.syncRate(ctx, m.Spec.Deployment)
	return s.monitorJSON(*rec)
}

// decodeMonitor reads and validates a Monitor document.
func decodeMonitor(body []byte) (*deploy.Monitor, error) {
	docs, err := spec.Parse(body)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	if docs[0].Kind != spec.KindMonitor {
		return nil, badRequest("want a kind: Monitor document, got %q", docs[0].Kind)
	}
	m, err := deploy.DecodeMonitor(docs[0].Node)
	if err == nil {
		err = m.Validate()
	}
	if err != nil {
		return nil, badRequest("%v", err)
	}
	return m, nil
}

// checkRetrain: a retraining action runs a pipeline of the monitor's
// group as the monitor's owner, then publishes and deploys: on a
// multi-user server its creator needs the roles that do each by hand.
func (s *Server) checkRetrain(ctx context.Context, m *deploy.Monitor, group string) error {
	if m.Spec.Action == nil || m.Spec.Action.Retrain == nil {
		return nil
	}
	if c := callerOf(ctx); s.multiUser && c != nil && !(c.can(permDevelop) && c.can(permPublish)) {
		return forbidden("spec.action.retrain: user %q (roles %v) may not retrain: it runs a pipeline and publishes the model version it makes, which needs the develop and publish permissions (an ML Engineer and Production Engineer, or an operator)", c.Name, c.Roles)
	}
	if _, err := s.store.GetPipelineByName(ctx, nsOf(group), m.Spec.Action.Retrain.Pipeline); isMissing(err) {
		return badRequest("spec.action.retrain.pipeline: pipeline %q not found in group %s", m.Spec.Action.Retrain.Pipeline, groupOf(group))
	} else if err != nil {
		return err
	}
	return nil
}

// nsOf is the namespace a group's pipelines have: "" for the default
// group on a single-user server.
func nsOf(group string) string {
	if group == store.DefaultGroup {
		return ""
	}
	return group
}

// deploymentGroupOf is the group of a running deployment the caller
// sees (store.ErrNotFound otherwise): its holding, else the default group
// (a single-user server holds none).
func (s *Server) deploymentGroupOf(ctx context.Context, name string) (string, error) {
	o, err := s.store.Holding(ctx, store.KindDeployment, name)
	switch {
	case isMissing(err) && !s.multiUser && s.deployed(name):
		return store.DefaultGroup, nil
	case err != nil:
		return "", err
	case !s.deployed(name) && !s.clusterDeployed(ctx, name):
		return "", hidden(store.KindDeployment, name)
	case !s.seesGroup(ctx, o.Group):
		return "", hidden(store.KindDeployment, name)
	}
	return o.Group, nil
}

func (s *Server) monitorJSON(m store.Monitor) (map[string]any, error) {
	var doc any
	if err := json.Unmarshal([]byte(m.Spec), &doc); err != nil {
		return nil, fmt.Errorf("monitor %s: stored spec: %w", m.Name, err)
	}
	var action any
	_ = json.Unmarshal([]byte(m.Action), &action)
	return map[string]any{"name": m.Name, "deployment": m.Deployment, "group": m.Group, "owner": m.Owner, "created_at": m.CreatedAt,
		"windows": m.Windows, "monitor": doc, "action": action}, nil
}

func (s *Server) getMonitor(ctx context.Context, name string) (any, error) {
	m, err := s.store.GetMonitor(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.monitorJSON(m)
}

// listMonitors lists the monitors of the caller's groups, each with its
// active alerts.
func (s *Server) listMonitors(r *http.Request) (any, error) {
	ms, err := s.store.ListMonitors(r.Context(), s.groupsOf(r.Context()), r.URL.Query().Get("deployment"))
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, m := range ms {
		j, err := s.monitorJSON(m)
		if err != nil {
			return nil, err
		}
		as, err := s.store.Alerts(r.Context(), m.Name)
		if err != nil {
			return nil, err
		}
		active := 0
		for _, a := range as {
			if a.ClearedWindow == 0 {
				active++
			}
		}
		j["active_alerts"] = active
		delete(j, "monitor")
		out = append(out, j)
	}
	return map[string]any{"monitors": out, "total_size": len(out)}, nil
}

func (s *Server) deleteMonitor(r *http.Request) (any, error) {
	name := r.PathValue("name")
	m, err := s.store.GetMonitor(r.Context(), name)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteMonitor(r.Context(), name); err != nil {
		return nil, err
	}
	s.mon.baselines.Delete(name)
	s.syncRate(r.Context(), m.Deployment)
	return map[string]any{}, nil
}

// monitorAlerts is every alert of a monitor, raised and cleared.
func (s *Server) monitorAlerts(r *http.Request) (any, error) {
	as, err := s.store.Alerts(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, a := range as {
		out = append(out, alertJSON(a))
	}
	return map[string]any{"alerts": out}, nil
}

func alertJSON(a store.Alert) map[string]any {
	j := map[string]any{"metric": a.Metric, "feature": a.Feature, "raised_window": a.RaisedWindow, "raised_at": a.RaisedAt,
		"value": a.Value, "limit": a.Limit, "active": a.ClearedWindow == 0}
	if a.ClearedWindow != 0 {
		j["cleared_window"], j["cleared_at"], j["cleared_value"] = a.ClearedWindow, a.ClearedAt, a.ClearedValue
	}
	return j
}

// syncRate sets a deployment's sample rate: the largest of its monitors'
// (of the group that holds the deployment now), 0 without any.
func (s *Server) syncRate(ctx context.Context, deployment string) {
	ms, err := s.store.ListMonitors(ctx, nil, deployment)
	if err != nil {
		s.tel.log.Warn("monitors: sample rate", "deployment", deployment, "err", err)
		return
	}
	group := s.holderOf(ctx, deployment)
	rate := 0.0
	for _, m := range ms {
		sp, err := monitorSpec(m)
		if err == nil && groupOf(m.Group) == group {
			rate = max(rate, sp.Spec.Rate())
		}
	}
	s.mon.rec.SetRate(deployment, rate)
}

// holderOf is the group holding a deployment now ("" when none does and
// it does not run).
func (s *Server) holderOf(ctx context.Context, deployment string) string {
	o, err := s.store.Holding(ctx, store.KindDeployment, deployment)
	switch {
	case err == nil && (s.deployed(deployment) || s.clusterDeployed(ctx, deployment)):
		return groupOf(o.Group)
	case isMissing(err) && s.deployed(deployment):
		return store.DefaultGroup
	}
	return ""
}

func monitorSpec(m store.Monitor) (*deploy.Monitor, error) {
	var d deploy.Monitor
	if err := json.Unmarshal([]byte(m.Spec), &d); err != nil {
		return nil, fmt.Errorf("monitor %s: stored spec: %w", m.Name, err)
	}
	return &d, nil
}

// SyncRates sets every monitored deployment's sample rate (at start).
func (s *Server) SyncRates(ctx context.Context) error {
	if s.mon == nil {
		return nil
	}
	ms, err := s.store.ListMonitors(ctx, nil, "")
	if err != nil {
		return err
	}
	for _, m := range ms {
		s.syncRate(ctx, m.Deployment)
	}
	return nil
}

var errNoBaseline = errors.New("no baseline")
