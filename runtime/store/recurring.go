package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The modes of a recurring run, as the KFP API names them.
const (
	ModeEnable  = "ENABLE"
	ModeDisable = "DISABLE"
)

// RecurringRun starts runs of a pipeline on a schedule (a KFP recurring run,
// an Argo ScheduledWorkflow's job in KFP itself).
type RecurringRun struct {
	ID, DisplayName, Description, Namespace, ExperimentID string
	PipelineID, PipelineVersionID                         string
	// PipelineSpec is set for recurring runs created from an inline spec.
	PipelineSpec, RuntimeConfig string
	Trigger                     Trigger
	Mode                        string // ENABLE or DISABLE
	NoCatchup                   bool
	// MaxConcurrency caps the runs started by this recurring run that may
	// be unfinished at once; 0 means 1.
	MaxConcurrency int64
	// LastFiredAt is the scheduled time of the newest run started, zero
	// until the first.
	CreatedAt, UpdatedAt, LastFiredAt time.Time
	// LastError says why the firing at LastErrorAt could not start its run
	// ("" when the newest firing started one).
	LastError   string
	LastErrorAt time.Time
}

// Trigger says when a recurring run fires: exactly one of Cron and Periodic.
// It is stored as JSON with the KFP field names.
type Trigger struct {
	Cron     *CronSchedule     `json:"cron_schedule,omitempty"`
	Periodic *PeriodicSchedule `json:"periodic_schedule,omitempty"`
}

// CronSchedule fires at the times a cron expression matches, within
// [Start, End] when they are set.
type CronSchedule struct {
	Cron  string    `json:"cron"`
	Start time.Time `json:"start_time,omitzero"`
	End   time.Time `json:"end_time,omitzero"`
}

// PeriodicSchedule fires every IntervalSecond seconds, within [Start, End]
// when they are set.
type PeriodicSchedule struct {
	IntervalSecond int64     `json:"interval_second"`
	Start          time.Time `json:"start_time,omitzero"`
	End            time.Time `json:"end_time,omitzero"`
}

var recurringTable = table{
	name: "recurring_runs",
	columns: "id, display_name, description, namespace, experiment_id, pipeline_id, pipeline_version_id, pipeline_spec, " +
		"runtime_config, trigger_spec, mode, no_catchup, max_concurrency, created_at, updated_at, last_fired_at, last_error, last_error_at",
	keys: map[string]string{"id": "id", "recurring_run_id": "id", "name": "display_name", "display_name": "display_name",
		"description": "description", "namespace": "namespace", "experiment_id": "experiment_id", "pipeline_id": "pipeline_id",
		"pipeline_version_id": "pipeline_version_id", "mode": "mode", "max_concurrency": "max_concurrency",
		"created_at": "created_at", "updated_at": "updated_at", "last_fired_at": "last_fired_at"},
	times: map[string]bool{"created_at": true, "updated_at": true, "last_fired_at": true},
}

// validate checks what the store itself relies on; the cron syntax is the
// schedule package's to check.
func (t Trigger) validate() error {
	switch {
	case t.Cron == nil && t.Periodic == nil:
		return fmt.Errorf("trigger: %w: one of cron_schedule and periodic_schedule is required", ErrInvalid)
	case t.Cron != nil && t.Periodic != nil:
		return fmt.Errorf("trigger: %w: cron_schedule and periodic_schedule are exclusive", ErrInvalid)
	case t.Cron != nil && t.Cron.Cron == "":
		return fmt.Errorf("trigger.cron_schedule.cron: %w: required", ErrInvalid)
	case t.Periodic != nil && t.Periodic.IntervalSecond <= 0:
		return fmt.Errorf("trigger.periodic_schedule.interval_second: %w: must be positive, not %d", ErrInvalid, t.Periodic.IntervalSecond)
	}
	return nil
}

func validMode(mode string) error {
	if mode != ModeEnable && mode != ModeDisable {
		return fmt.Errorf("mode: %w: %q (want %s or %s)", ErrInvalid, mode, ModeEnable, ModeDisable)
	}
	return nil
}

// CreateRecurringRun stores r. It fills in the id and times; an empty mode
// is ENABLE and a zero max concurrency 1. A trigger without exactly one
// schedule, an unknown mode or a negative max concurrency is ErrInvalid.
func (s *Store) CreateRecurringRun(ctx context.Context, r *RecurringRun) error {
	if r.Mode == "" {
		r.Mode = ModeEnable
	}
	if r.MaxConcurrency == 0 {
		r.MaxConcurrency = 1
	}
	var errs []error
	errs = append(errs, r.Trigger.validate(), validMode(r.Mode))
	if r.MaxConcurrency < 0 {
		errs = append(errs, fmt.Errorf("max_concurrency: %w: must be positive, not %d", ErrInvalid, r.MaxConcurrency))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("recurring run %q: %w", r.DisplayName, err)
	}
	trigger, err := json.Marshal(r.Trigger)
	if err != nil {
		return fmt.Errorf("recurring run %q: trigger: %w", r.DisplayName, err)
	}
	if r.ID == "" {
		r.ID = NewID()
	}
	r.CreatedAt = now()
	r.UpdatedAt = r.CreatedAt
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO recurring_runs (id, display_name, description, namespace, experiment_id,
		pipeline_id, pipeline_version_id, pipeline_spec, runtime_config, trigger_spec, mode, no_catchup, max_concurrency,
		created_at, updated_at, last_fired_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		r.ID, r.DisplayName, r.Description, r.Namespace, r.ExperimentID, r.PipelineID, r.PipelineVersionID, r.PipelineSpec,
		r.RuntimeConfig, string(trigger), r.Mode, r.NoCatchup, r.MaxConcurrency, ms(r.CreatedAt), ms(r.UpdatedAt), ms(r.LastFiredAt))
	return conflict(err, fmt.Sprintf("recurring run %s", r.ID))
}

func scanRecurringRun(row interface{ Scan(...any) error }) (RecurringRun, error) {
	var r RecurringRun
	var trigger string
	var created, updated, fired, errAt int64
	err := row.Scan(&r.ID, &r.DisplayName, &r.Description, &r.Namespace, &r.ExperimentID, &r.PipelineID,
		&r.PipelineVersionID, &r.PipelineSpec, &r.RuntimeConfig, &trigger, &r.Mode, &r.NoCatchup, &r.MaxConcurrency,
		&created, &updated, &fired, &r.LastError, &errAt)
	if err == nil {
		if err = json.Unmarshal([]byte(trigger), &r.Trigger); err != nil {
			err = fmt.Errorf("recurring run %s: trigger_spec: %w", r.ID, err)
		}
	}
	r.CreatedAt, r.UpdatedAt, r.LastFiredAt, r.LastErrorAt = fromMS(created), fromMS(updated), fromMS(fired), fromMS(errAt)
	return r, err
}

// GetRecurringRun returns the recurring run with id.
func (s *Store) GetRecurringRun(ctx context.Context, id string) (RecurringRun, error) {
	r, err := scanRecurringRun(s.db.QueryRowContext(ctx, s.q("SELECT "+recurringTable.columns+" FROM recurring_runs WHERE id = ?"), id))
	return r, notFound(err, fmt.Sprintf("recurring run %s", id))
}

// ListRecurringRuns returns one page of recurring runs, of one experiment
// when experimentID is set.
func (s *Store) ListRecurringRuns(ctx context.Context, namespace, experimentID string, opts ListOptions) ([]RecurringRun, Page, error) {
	var out []RecurringRun
	where, args := nsWhere(namespace)
	if experimentID != "" {
		where, args = append(where, "experiment_id = ?"), append(args, experimentID)
	}
	page, err := s.list(ctx, recurringTable, opts, where, args, func(rows rowScanner) (string, any, error) {
		r, err := scanRecurringRun(rows)
		out = append(out, r)
		return r.ID, sortValue(opts.SortBy, map[string]any{"id": r.ID, "recurring_run_id": r.ID, "name": r.DisplayName,
			"display_name": r.DisplayName, "description": r.Description, "namespace": r.Namespace,
			"experiment_id": r.ExperimentID, "pipeline_id": r.PipelineID, "pipeline_version_id": r.PipelineVersionID,
			"mode": r.Mode, "max_concurrency": r.MaxConcurrency, "created_at": ms(r.CreatedAt),
			"updated_at": ms(r.UpdatedAt), "last_fired_at": ms(r.LastFiredAt)}), err
	})
	return out, page, err
}

// SetRecurringRunMode enables (ENABLE) or disables (DISABLE) a recurring
// run. It leaves LastFiredAt as it is: whether the time spent disabled is
// caught up is the scheduler's decision.
func (s *Store) SetRecurringRunMode(ctx context.Context, id, mode string) error {
	if err := validMode(mode); err != nil {
		return fmt.Errorf("recurring run %s: %w", id, err)
	}
	return s.execOne(ctx, "recurring run "+id, "UPDATE recurring_runs SET mode = ?, updated_at = ? WHERE id = ?", mode, ms(now()), id)
}

// DeleteRecurringRun deletes a recurring run; the runs it started stay.
func (s *Store) DeleteRecurringRun(ctx context.Context, id string) error {
	return s.execOne(ctx, "recurring run "+id, "DELETE FROM recurring_runs WHERE id = ?", id)
}

// MarkFired records that a recurring run fired for the scheduled time at.
// LastFiredAt only moves forward: when it is already at or past at (another
// server fired it first) the result is ErrConflict, so a scheduler that
// marks before it starts runs starts each scheduled time once.
func (s *Store) MarkFired(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("recurring run %s: fired at: %w: zero time", id, ErrInvalid)
	}
	res, err := s.db.ExecContext(ctx, s.q("UPDATE recurring_runs SET last_fired_at = ? WHERE id = ? AND last_fired_at < ?"),
		ms(at), id, ms(at))
	if err != nil {
		return fmt.Errorf("recurring run %s: mark fired: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	r, err := s.GetRecurringRun(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("recurring run %s: fired at %s already, not before %s: %w",
		id, r.LastFiredAt.Format(time.RFC3339Nano), at.UTC().Format(time.RFC3339Nano), ErrConflict)
}

// SetFiringResult records how the firing scheduled at at went: errMsg says
// why it started no run, "" that it started one (clearing an earlier
// error).
func (s *Store) SetFiringResult(ctx context.Context, id string, at time.Time, errMsg string) error {
	errAt := int64(0)
	if errMsg != "" {
		errAt = ms(at)
	}
	return s.execOne(ctx, "recurring run "+id, "UPDATE recurring_runs SET last_error = ?, last_error_at = ? WHERE id = ?",
		errMsg, errAt, id)
}

// EnabledRecurringRuns lists the enabled recurring runs, oldest first, for
// the scheduler.
func (s *Store) EnabledRecurringRuns(ctx context.Context) ([]RecurringRun, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+recurringTable.columns+" FROM recurring_runs WHERE mode = ? ORDER BY created_at, id"),
		ModeEnable)
	if err != nil {
		return nil, fmt.Errorf("enabled recurring runs: %w", err)
	}
	defer rows.Close()
	var out []RecurringRun
	for rows.Next() {
		r, err := scanRecurringRun(rows)
		if err != nil {
			return nil, fmt.Errorf("enabled recurring runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
