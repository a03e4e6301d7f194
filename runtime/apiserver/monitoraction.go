package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kubeline/kubeline/compiler/deploy"
	"github.com/kubeline/kubeline/runtime/store"
)

// actionState is a monitor's retraining action as stored and shown.
type actionState struct {
	State   string    `json:"state"` // running, deployed, rejected, failed
	Window  int       `json:"window"`
	RunID   string    `json:"run_id,omitempty"`
	Model   string    `json:"model,omitempty"`
	Metric  *float64  `json:"metric,omitempty"`
	Message string    `json:"message,omitempty"`
	At      time.Time `json:"at"`
}

// startAction runs a monitor's retraining pipeline once an alert is
// raised in window idx, unless one is still running. The run goes through
// the normal path (compile, versions, admission) as the monitor's owner
// in its group; follow watches it to the end.
func (s *Server) startAction(ctx context.Context, m store.Monitor, d *deploy.Monitor, idx int) {
	if d.Spec.Action == nil || d.Spec.Action.Retrain == nil {
		return
	}
	var prev actionState
	_ = json.Unmarshal([]byte(m.Action), &prev)
	if prev.State == "running" {
		return
	}
	st := actionState{State: "running", Window: idx, At: time.Now().UTC()}
	runID, err := s.retrainRun(ctx, m, d.Spec.Action.Retrain, idx)
	if err != nil {
		st.State, st.Message = "failed", "start the retraining run: "+err.Error()
		s.setAction(ctx, m.Name, st)
		return
	}
	st.RunID = runID
	s.setAction(ctx, m.Name, st)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.followRetrain(s.ctx, m, d, st)
	}()
}

func (s *Server) setAction(ctx context.Context, name string, st actionState) {
	b, _ := json.Marshal(st)
	if err := s.retryStore("monitor "+name, func() error { return s.store.SetMonitorAction(ctx, name, string(b)) }); err != nil {
		s.tel.log.Warn("monitor: record the action", "monitor", name, "err", err)
	}
}

// retrainRun creates the retraining run: the pipeline's latest version
// (or the named one) of the monitor's group, as the monitor's owner.
func (s *Server) retrainRun(ctx context.Context, m store.Monitor, rt *deploy.Retrain, idx int) (string, error) {
	p, err := s.store.GetPipelineByName(ctx, nsOf(m.Group), rt.Pipeline)
	if err != nil {
		return "", fmt.Errorf("pipeline %q of group %s: %w", rt.Pipeline, groupOf(m.Group), err)
	}
	ref := &versionRef{PipelineID: p.ID}
	if rt.Version != "" {
		vs, _, err := s.store.ListVersions(ctx, p.ID, store.ListOptions{PageSize: 1000})
		if err != nil {
			return "", err
		}
		for _, v := range vs {
			if v.Name == rt.Version || v.DisplayName == rt.Version {
				ref.PipelineVersionID = v.ID
			}
		}
		if ref.PipelineVersionID == "" {
			return "", fmt.Errorf("pipeline %q has no version %q", rt.Pipeline, rt.Version)
		}
	}
	b := runBody{DisplayName: fmt.Sprintf("retrain-%s-w%d", m.Name, idx), PipelineVersionReference: ref}
	b.RuntimeConfig = &struct {
		Parameters   map[string]any `json:"parameters"`
		PipelineRoot string         `json:"pipeline_root"`
	}{Parameters: map[string]any{}}
	for k, v := range rt.Parameters {
		b.RuntimeConfig.Parameters[k] = v
	}
	if s.multiUser {
		u, err := s.store.GetUser(ctx, m.Owner)
		if err != nil {
			return "", fmt.Errorf("the monitor's owner %q: %w", m.Owner, err)
		}
		ctx = context.WithValue(ctx, callerKey, &caller{u})
	}
	v, err := s.createRunFrom(ctx, b, time.Time{})
	if err != nil {
		return "", err
	}
	id, _ := v.(map[string]any)["run_id"].(string)
	if id == "" {
		return "", errors.New("the run has no id")
	}
	return id, nil
}

// followRetrain waits for the retraining run; when it succeeded and made
// a model version that passes the metric, it publishes the version and
// redeploys it as the deployment's canary.
func (s *Server) followRetrain(ctx context.Context, m store.Monitor, d *deploy.Monitor, st actionState) {
	rt := d.Spec.Action.Retrain
	run, err := s.waitRun(ctx, st.RunID)
	if err != nil {
		st.State, st.Message = "failed", err.Error()
		s.setAction(ctx, m.Name, st)
		return
	}
	if run.State != "SUCCEEDED" {
		st.State, st.Message = "failed", fmt.Sprintf("the retraining run ended %s: %s", run.State, run.Error)
		s.setAction(ctx, m.Name, st)
		return
	}
	st.State, st.Message = "failed", ""
	model, value, err := s.retrainedModel(ctx, m, rt, run.ID)
	switch {
	case err != nil:
		st.Message = err.Error()
	case !rt.Metric.Passes(value):
		st.State, st.Model, st.Metric = "rejected", model, &value
		st.Message = fmt.Sprintf("%s = %g does not pass %s", rt.Metric.Name, value, describeCheck(rt.Metric))
	default:
		st.Model, st.Metric = model, &value
		if err := s.redeployCanary(ctx, m, model, rt.CanaryPercent); err != nil {
			st.Message = "redeploy: " + err.Error()
		} else {
			st.State = "deployed"
			st.Message = fmt.Sprintf("%s = %g passes %s: %s serves %d%% of %s as canary", rt.Metric.Name, value, describeCheck(rt.Metric), model, rt.CanaryPercent, m.Deployment)
		}
	}
	st.At = time.Now().UTC()
	s.setAction(ctx, m.Name, st)
}

func describeCheck(c deploy.MetricCheck) string {
	if c.Min != nil {
		return fmt.Sprintf("min %g", *c.Min)
	}
	return fmt.Sprintf("max %g", *c.Max)
}

// waitRun polls a run until it has ended.
func (s *Server) waitRun(ctx context.Context, id string) (store.Run, error) {
	for {
		run, err := s.store.GetRun(ctx, id)
		if err != nil {
			return run, err
		}
		switch run.State {
		case "SUCCEEDED", "FAILED", "CANCELED", "SKIPPED":
			return run, nil
		}
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// retrainedModel is the model version the run made (the newest, of the
// action's model or the deployment's) and the run's value of the metric.
func (s *Server) retrainedModel(ctx context.Context, m store.Monitor, rt *deploy.Retrain, runID string) (string, float64, error) {
	name := rt.Model
	if name == "" {
		name, _, _ = deploy.ParseModel(s.servedModel(ctx, m.Deployment))
	}
	vs, err := s.store.ListArtifactVersions(ctx, "model", name)
	if err != nil {
		return "", 0, err
	}
	n := 0
	for _, v := range vs {
		if v.RunID == runID && v.Version > n {
			n = v.Version
		}
	}
	if n == 0 {
		return "", 0, fmt.Errorf("the retraining run %s made no new version of model %s (content identical to an existing version is that version)", runID, name)
	}
	ms, err := s.store.RunMetrics(ctx, runID)
	if err != nil {
		return "", 0, err
	}
	for _, mt := range ms {
		if mt.Name == rt.Metric.Name {
			return fmt.Sprintf("%s@v%d", name, n), mt.Value, nil
		}
	}
	return "", 0, fmt.Errorf("the retraining run %s reported no metric %q", runID, rt.Metric.Name)
}

// redeployCanary publishes the model version (by the monitor) and
// redeploys the deployment with it as canary, through the deployment path
// (catalog check in the group, materialize, start).
func (s *Server) redeployCanary(ctx context.Context, m store.Monitor, model string, percent int) error {
	name, n, _ := deploy.ParseModel(model)
	if _, err := s.store.CatalogEntryOf(ctx, name, n); isMissing(err) {
		if _, err := s.store.PublishModel(ctx, name, n, "monitor/"+m.Name); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	v, ok := s.deployDocs.Load(m.Deployment)
	if !ok {
		return s.redeployCluster(ctx, m, model, percent)
	}
	doc := *v.(*deploy.Deployment)
	doc.Spec.Canary = &deploy.Canary{Model: model, TrafficPercent: percent}
	sp, err := s.servingSpec(ctx, m.Group, &doc)
	if err != nil {
		return err
	}
	if _, err := s.serving.Start(s.ctx, sp); err != nil {
		return err
	}
	s.deployDocs.Store(m.Deployment, &doc)
	s.mon.baselines.Delete(m.Name)
	return nil
}
