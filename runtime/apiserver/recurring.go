package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/kubeline/kubeline/runtime/schedule"
	"github.com/kubeline/kubeline/runtime/store"
)

type scheduleBody struct {
	Cron           string `json:"cron"`
	IntervalSecond int64s `json:"interval_second"`
	StartTime      string `json:"start_time"`
	EndTime        string `json:"end_time"`
}

type recurringBody struct {
	RecurringRunID           string          `json:"recurring_run_id"`
	DisplayName              string          `json:"display_name"`
	Description              string          `json:"description"`
	ExperimentID             string          `json:"experiment_id"`
	Namespace                string          `json:"namespace"`
	ServiceAccount           string          `json:"service_account"`
	PipelineVersionReference *versionRef     `json:"pipeline_version_reference"`
	PipelineSpec             json.RawMessage `json:"pipeline_spec"`
	RuntimeConfig            map[string]any  `json:"runtime_config"`
	Trigger                  *struct {
		CronSchedule     *scheduleBody `json:"cron_schedule"`
		PeriodicSchedule *scheduleBody `json:"periodic_schedule"`
	} `json:"trigger"`
	Mode           string `json:"mode"`
	NoCatchup      bool   `json:"no_catchup"`
	MaxConcurrency int64s `json:"max_concurrency"`
	Status         string `json:"status"`
	CreatedAt      string `json:"created_at"`
	UpdatedAt      string `json:"updated_at"`
}

func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, badRequest("%s: want an RFC3339 time: %v", field, err)
	}
	return t, nil
}

// trigger reads the request's trigger into the store's form.
func (b *recurringBody) trigger() (store.Trigger, error) {
	var tr store.Trigger
	if b.Trigger == nil {
		return tr, badRequest("recurring_run.trigger is required")
	}
	if c := b.Trigger.CronSchedule; c != nil {
		st, err := parseTime("trigger.cron_schedule.start_time", c.StartTime)
		if err != nil {
			return tr, err
		}
		end, err := parseTime("trigger.cron_schedule.end_time", c.EndTime)
		tr.Cron = &store.CronSchedule{Cron: c.Cron, Start: st, End: end}
		return tr, err
	}
	if p := b.Trigger.PeriodicSchedule; p != nil {
		st, err := parseTime("trigger.periodic_schedule.start_time", p.StartTime)
		if err != nil {
			return tr, err
		}
		end, err := parseTime("trigger.periodic_schedule.end_time", p.EndTime)
		tr.Periodic = &store.PeriodicSchedule{IntervalSecond: int64(p.IntervalSecond), Start: st, End: end}
		return tr, err
	}
	return tr, badRequest("recurring_run.trigger needs cron_schedule or periodic_schedule")
}

// planOf converts a stored trigger for the scheduler.
func planOf(t store.Trigger) schedule.Trigger {
	switch {
	case t.Cron != nil:
		return schedule.Trigger{Cron: t.Cron.Cron, Start: t.Cron.Start, End: t.Cron.End}
	case t.Periodic != nil:
		return schedule.Trigger{IntervalSecond: t.Periodic.IntervalSecond, Start: t.Periodic.Start, End: t.Periodic.End}
	}
	return schedule.Trigger{}
}

func (s *Server) createRecurringRun(r *http.Request) (any, error) {
	var b recurringBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	if b.DisplayName == "" {
		return nil, badRequest("recurring_run.display_name is required")
	}
	if err := checkName("recurring_run.display_name", b.DisplayName); err != nil {
		return nil, err
	}
	if err := maxConcurrency(int64(b.MaxConcurrency)); err != nil {
		return nil, err
	}
	tr, err := b.trigger()
	if err != nil {
		return nil, err
	}
	if err := schedule.Validate(planOf(tr)); err != nil {
		return nil, badRequest("recurring_run.trigger: %v", err)
	}
	ns, err := s.createIn(r.Context(), b.ExperimentID, "recurring_run.namespace", b.Namespace)
	if err != nil {
		return nil, err
	}
	rr := &store.RecurringRun{DisplayName: b.DisplayName, Description: b.Description, ExperimentID: b.ExperimentID,
		Namespace: ns, Trigger: tr, Mode: b.Mode, NoCatchup: b.NoCatchup, MaxConcurrency: int64(b.MaxConcurrency)}
	rb := runBody{PipelineVersionReference: b.PipelineVersionReference, PipelineSpec: b.PipelineSpec}
	probe := store.Run{Namespace: ns}
	spec, err := s.runSpec(r.Context(), &rb, &probe)
	if err != nil {
		return nil, err
	}
	// The spec and parameters must make a run now, not fail at each firing.
	params, _ := b.RuntimeConfig["parameters"].(map[string]any)
	if _, err := s.compileRun(r.Context(), "recurring_run", ns, spec, params); err != nil {
		return nil, err
	}
	rr.PipelineID, rr.PipelineVersionID, rr.PipelineSpec = probe.PipelineID, probe.PipelineVersionID, probe.PipelineSpec
	if b.PipelineVersionReference != nil && b.PipelineVersionReference.PipelineVersionID == "" {
		rr.PipelineVersionID = "" // only the pipeline: each run takes its latest version
	}
	if b.RuntimeConfig != nil {
		rc, _ := json.Marshal(b.RuntimeConfig)
		rr.RuntimeConfig = string(rc)
	}
	if err := s.store.CreateRecurringRun(r.Context(), rr); err != nil {
		return nil, err
	}
	return recurringJSON(*rr), nil
}

func timeOrEmpty(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return timestamp(t)
}

func recurringJSON(rr store.RecurringRun) map[string]any {
	status := "ENABLED"
	if rr.Mode == store.ModeDisable {
		status = "DISABLED"
	}
	m := map[string]any{"recurring_run_id": rr.ID, "display_name": rr.DisplayName, "mode": rr.Mode, "status": status,
		"max_concurrency": strconv.FormatInt(rr.MaxConcurrency, 10), "created_at": timestamp(rr.CreatedAt),
		"updated_at": timestamp(rr.UpdatedAt)}
	for k, v := range map[string]string{"description": rr.Description, "experiment_id": rr.ExperimentID, "namespace": rr.Namespace} {
		if v != "" {
			m[k] = v
		}
	}
	if rr.NoCatchup {
		m["no_catchup"] = true
	}
	trigger := map[string]any{}
	if c := rr.Trigger.Cron; c != nil {
		cs := map[string]any{"cron": c.Cron}
		if v := timeOrEmpty(c.Start); v != nil {
			cs["start_time"] = v
		}
		if v := timeOrEmpty(c.End); v != nil {
			cs["end_time"] = v
		}
		trigger["cron_schedule"] = cs
	}
	if p := rr.Trigger.Periodic; p != nil {
		ps := map[string]any{"interval_second": strconv.FormatInt(p.IntervalSecond, 10)}
		if v := timeOrEmpty(p.Start); v != nil {
			ps["start_time"] = v
		}
		if v := timeOrEmpty(p.End); v != nil {
			ps["end_time"] = v
		}
		trigger["periodic_schedule"] = ps
	}
	m["trigger"] = trigger
	if rr.PipelineID != "" {
		ref := map[string]any{"pipeline_id": rr.PipelineID}
		if rr.PipelineVersionID != "" {
			ref["pipeline_version_id"] = rr.PipelineVersionID
		}
		m["pipeline_version_reference"] = ref
	} else if spec, err := specJSON(rr.PipelineSpec); err == nil {
		m["pipeline_spec"] = spec
	}
	if rr.RuntimeConfig != "" {
		var rc any
		if json.Unmarshal([]byte(rr.RuntimeConfig), &rc) == nil {
			m["runtime_config"] = rc
		}
	}
	if rr.LastError != "" {
		m["error"] = map[string]any{"code": 9, "message": fmt.Sprintf("the run scheduled at %s was not started: %s", timestamp(rr.LastErrorAt), rr.LastError)}
	}
	return m
}

func (s *Server) getRecurringRun(r *http.Request) (any, error) {
	rr, err := s.store.GetRecurringRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return recurringJSON(rr), nil
}

func (s *Server) listRecurringRuns(r *http.Request) (any, error) {
	opts, err := listOptions(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	rrs, page, err := s.store.ListRecurringRuns(r.Context(), q.Get("namespace"), q.Get("experiment_id"), s.visible(r.Context(), opts))
	return listed("recurringRuns", rrs, page, err, recurringJSON) // KFP's key is camelCase here
}

func (s *Server) deleteRecurringRun(r *http.Request) (any, error) {
	return map[string]any{}, s.store.DeleteRecurringRun(r.Context(), r.PathValue("id"))
}

// recurringAction serves POST /recurringruns/{id}:enable and :disable.
func (s *Server) recurringAction(r *http.Request) (any, error) {
	id, action, err := idAction(r.PathValue("action"))
	if err != nil {
		return nil, err
	}
	switch action {
	case "enable":
		return map[string]any{}, s.store.SetRecurringRunMode(r.Context(), id, store.ModeEnable)
	case "disable":
		return map[string]any{}, s.store.SetRecurringRunMode(r.Context(), id, store.ModeDisable)
	}
	return nil, notFoundErr("no such recurring run action %q", action)
}

// Schedule fires due recurring runs every tick until ctx ends.
func (s *Server) Schedule(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.fire(ctx, now.UTC())
		}
	}
}

// fire starts the runs that are due at now, within max_concurrency. Each
// fire time is claimed in the store first, so it starts exactly once.
func (s *Server) fire(ctx context.Context, now time.Time) {
	rrs, err := s.store.EnabledRecurringRuns(ctx)
	if err != nil {
		return
	}
	for _, rr := range rrs {
		due, err := schedule.Due(planOf(rr.Trigger), rr.CreatedAt, rr.LastFiredAt, now, rr.NoCatchup)
		if err != nil || len(due) == 0 {
			continue
		}
		f, _ := store.ParseFilter(fmt.Sprintf(`{"predicates":[{"operation":"EQUALS","key":"recurring_run_id","string_value":%q},`+
			`{"operation":"IN","key":"state","string_values":{"values":["PENDING","RUNNING","CANCELING"]}}]}`, rr.ID))
		_, page, err := s.store.ListRuns(ctx, "", "", store.ListOptions{PageSize: 1, Filter: f})
		if err != nil {
			continue
		}
		for _, at := range schedule.Admit(int64(page.TotalSize), rr.MaxConcurrency, due) {
			if err := s.store.MarkFired(ctx, rr.ID, at); err != nil {
				if errors.Is(err, store.ErrConflict) {
					continue // another server took it
				}
				break
			}
			s.fireOne(ctx, rr, at)
		}
	}
}

// fireOne creates and starts one run of a recurring run, scheduled at at.
func (s *Server) fireOne(ctx context.Context, rr store.RecurringRun, at time.Time) {
	b := runBody{DisplayName: fmt.Sprintf("%s-%s", rr.DisplayName, at.Format("20060102150405")),
		ExperimentID: rr.ExperimentID, RecurringRunID: rr.ID}
	if rr.PipelineID != "" {
		b.PipelineVersionReference = &versionRef{rr.PipelineID, rr.PipelineVersionID}
	} else {
		b.storedSpec = rr.PipelineSpec
	}
	if rr.RuntimeConfig != "" {
		_ = json.Unmarshal([]byte(rr.RuntimeConfig), &b.RuntimeConfig)
	}
	_, err := s.createRunFrom(ctx, b, at)
	msg := ""
	if err != nil {
		// The scheduled time stays claimed: the next one of the trigger
		// tries again. The failure shows on the recurring run and here.
		msg = err.Error()
		s.tel.log.Warn("recurring run: a firing started no run", "recurring_run_id", rr.ID, "scheduled_at", at, "err", err)
	}
	if msg != "" || rr.LastError != "" {
		if err := s.store.SetFiringResult(ctx, rr.ID, at, msg); err != nil {
			s.tel.log.Warn("recurring run: record firing", "recurring_run_id", rr.ID, "err", err)
		}
	}
}
