package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Experiment groups runs (a kubeline project is an experiment to the KFP API).
type Experiment struct {
	ID, Name, DisplayName, Description, Namespace string
	StorageState                                  string // AVAILABLE or ARCHIVED
	CreatedAt, LastRunCreatedAt                   time.Time
}

// StateEvent is one entry of a run's state history.
type StateEvent struct {
	Time  time.Time `json:"update_time"`
	State string    `json:"state"`
	Error string    `json:"error,omitempty"`
}

// Run is one execution of a pipeline.
type Run struct {
	ID, ExperimentID, DisplayName, Description, Namespace string
	StorageState                                          string
	PipelineID, PipelineVersionID                         string
	// PipelineSpec is set for runs created from an inline spec.
	PipelineSpec, RuntimeConfig, ServiceAccount string
	State                                       string
	StateHistory                                []StateEvent
	Error, RecurringRunID                       string
	// Workflow is the compiled Argo Workflow with its status, as JSON.
	Workflow                           string
	CreatedAt, ScheduledAt, FinishedAt time.Time
	// Listing is what a list shows of the run beyond these fields, as
	// ListRunSummaries returns it (leaving PipelineSpec and Workflow
	// empty); SetRunListings keeps it.
	Listing RunListing
}

var experimentTable = table{
	name:    "experiments",
	columns: "id, name, display_name, description, namespace, storage_state, created_at, last_run_created_at",
	keys: map[string]string{"id": "id", "experiment_id": "id", "name": "name", "display_name": "display_name",
		"description": "description", "namespace": "namespace", "storage_state": "storage_state",
		"created_at": "created_at", "last_run_created_at": "last_run_created_at"},
	times: map[string]bool{"created_at": true, "last_run_created_at": true},
}

var runTable = table{
	name: "runs",
	columns: "id, experiment_id, display_name, description, namespace, storage_state, pipeline_id, pipeline_version_id, " +
		"pipeline_spec, runtime_config, service_account, state, state_history, error, recurring_run_id, workflow, created_at, scheduled_at, finished_at",
	keys: map[string]string{"id": "id", "run_id": "id", "name": "display_name", "display_name": "display_name",
		"description": "description", "experiment_id": "experiment_id", "namespace": "namespace", "storage_state": "storage_state",
		"pipeline_version_id": "pipeline_version_id", "state": "state", "recurring_run_id": "recurring_run_id",
		"created_at": "created_at", "scheduled_at": "scheduled_at", "finished_at": "finished_at"},
	times:   map[string]bool{"created_at": true, "scheduled_at": true, "finished_at": true},
	counts:  "run_counts",
	countBy: runCountColumns,
}

// CreateExperiment stores e; a taken name is ErrConflict.
func (s *Store) CreateExperiment(ctx context.Context, e *Experiment) error {
	if e.ID == "" {
		e.ID = NewID()
	}
	if e.DisplayName == "" {
		e.DisplayName = e.Name
	}
	if e.StorageState == "" {
		e.StorageState = "AVAILABLE"
	}
	e.CreatedAt = now()
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO experiments (id, name, display_name, description, namespace, storage_state, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), e.ID, e.Name, e.DisplayName, e.Description, e.Namespace, e.StorageState, ms(e.CreatedAt))
	return conflict(err, fmt.Sprintf("experiment %q", e.Name))
}

func scanExperiment(row interface{ Scan(...any) error }) (Experiment, error) {
	var e Experiment
	var created, last int64
	err := row.Scan(&e.ID, &e.Name, &e.DisplayName, &e.Description, &e.Namespace, &e.StorageState, &created, &last)
	e.CreatedAt, e.LastRunCreatedAt = fromMS(created), fromMS(last)
	return e, err
}

// GetExperiment returns the experiment with id.
func (s *Store) GetExperiment(ctx context.Context, id string) (Experiment, error) {
	e, err := scanExperiment(s.db.QueryRowContext(ctx, s.q("SELECT "+experimentTable.columns+" FROM experiments WHERE id = ?"), id))
	return e, notFound(err, fmt.Sprintf("experiment %s", id))
}

// ListExperiments returns one page of experiments.
func (s *Store) ListExperiments(ctx context.Context, namespace string, opts ListOptions) ([]Experiment, Page, error) {
	var out []Experiment
	where, args := nsWhere(namespace)
	page, err := s.list(ctx, experimentTable, opts, where, args, func(r rowScanner) (string, any, error) {
		e, err := scanExperiment(r)
		out = append(out, e)
		return e.ID, sortValue(opts.SortBy, map[string]any{"id": e.ID, "experiment_id": e.ID, "name": e.Name, "display_name": e.DisplayName,
			"description": e.Description, "namespace": e.Namespace, "storage_state": e.StorageState,
			"created_at": ms(e.CreatedAt), "last_run_created_at": ms(e.LastRunCreatedAt)}), err
	})
	return out, page, err
}

// SetExperimentStorage archives (ARCHIVED) or restores (AVAILABLE) an
// experiment; archiving archives its runs too, as KFP does.
func (s *Store) SetExperimentStorage(ctx context.Context, id, state string) error {
	if _, err := s.GetExperiment(ctx, id); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("UPDATE experiments SET storage_state = ? WHERE id = ?"), state, id); err != nil {
			return err
		}
		if state == "ARCHIVED" {
			_, err := tx.ExecContext(ctx, s.q("UPDATE runs SET storage_state = ? WHERE experiment_id = ?"), state, id)
			return err
		}
		return nil
	})
}

// CreateRun stores a run in its first state.
func (s *Store) CreateRun(ctx context.Context, r *Run) error {
	if r.ID == "" {
		r.ID = NewID()
	}
	if r.StorageState == "" {
		r.StorageState = "AVAILABLE"
	}
	if r.State == "" {
		r.State = "PENDING"
	}
	r.CreatedAt = now()
	if r.ScheduledAt.IsZero() {
		r.ScheduledAt = r.CreatedAt
	}
	r.StateHistory = []StateEvent{{Time: r.CreatedAt, State: r.State}}
	hist, _ := json.Marshal(r.StateHistory)
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO runs (id, experiment_id, display_name, description, namespace, storage_state,
			pipeline_id, pipeline_version_id, pipeline_spec, runtime_config, service_account, state, state_history, error,
			recurring_run_id, workflow, created_at, scheduled_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			r.ID, r.ExperimentID, r.DisplayName, r.Description, r.Namespace, r.StorageState, r.PipelineID, r.PipelineVersionID,
			r.PipelineSpec, r.RuntimeConfig, r.ServiceAccount, r.State, string(hist), r.Error, r.RecurringRunID, r.Workflow,
			ms(r.CreatedAt), ms(r.ScheduledAt), ms(r.FinishedAt))
		if err != nil {
			return conflict(err, fmt.Sprintf("run %s", r.ID))
		}
		if r.ExperimentID != "" {
			_, err = tx.ExecContext(ctx, s.q("UPDATE experiments SET last_run_created_at = ? WHERE id = ?"), ms(r.CreatedAt), r.ExperimentID)
		}
		return err
	})
}

func scanRun(row interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var hist string
	var created, scheduled, finished int64
	err := row.Scan(&r.ID, &r.ExperimentID, &r.DisplayName, &r.Description, &r.Namespace, &r.StorageState, &r.PipelineID,
		&r.PipelineVersionID, &r.PipelineSpec, &r.RuntimeConfig, &r.ServiceAccount, &r.State, &hist, &r.Error,
		&r.RecurringRunID, &r.Workflow, &created, &scheduled, &finished)
	if err == nil {
		err = json.Unmarshal([]byte(hist), &r.StateHistory)
	}
	r.CreatedAt, r.ScheduledAt, r.FinishedAt = fromMS(created), fromMS(scheduled), fromMS(finished)
	return r, err
}

// GetRun returns the run with id.
func (s *Store) GetRun(ctx context.Context, id string) (Run, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, s.q("SELECT "+runTable.columns+" FROM runs WHERE id = ?"), id))
	return r, notFound(err, fmt.Sprintf("run %s", id))
}

// ListRuns returns one page of runs, of one experiment when experimentID is set.
func (s *Store) ListRuns(ctx context.Context, namespace, experimentID string, opts ListOptions) ([]Run, Page, error) {
	return s.listRuns(ctx, runTable, scanRun, namespace, experimentID, opts)
}

// listRuns returns one page of runs of table t, each read by scan; of one
// experiment when experimentID is set.
func (s *Store) listRuns(ctx context.Context, t table, scan func(interface{ Scan(...any) error }) (Run, error), namespace, experimentID string, opts ListOptions) ([]Run, Page, error) {
	var out []Run
	where, args := nsWhere(namespace)
	if experimentID != "" {
		where, args = append(where, "experiment_id = ?"), append(args, experimentID)
	}
	page, err := s.list(ctx, t, opts, where, args, func(rows rowScanner) (string, any, error) {
		r, err := scan(rows)
		out = append(out, r)
		return r.ID, sortValue(opts.SortBy, map[string]any{"id": r.ID, "run_id": r.ID, "name": r.DisplayName, "display_name": r.DisplayName,
			"description": r.Description, "experiment_id": r.ExperimentID, "namespace": r.Namespace, "storage_state": r.StorageState,
			"pipeline_version_id": r.PipelineVersionID, "state": r.State, "recurring_run_id": r.RecurringRunID,
			"created_at": ms(r.CreatedAt), "scheduled_at": ms(r.ScheduledAt), "finished_at": ms(r.FinishedAt)}), err
	})
	return out, page, err
}

// UpdateRun records a run's progress: its state (appended to the history
// when it changes), error, workflow, and finish time once finished. A new
// workflow drops the task details kept in the run's listing.
func (s *Store) UpdateRun(ctx context.Context, id, state, errMsg, workflow string, finished time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		r, err := scanRun(tx.QueryRowContext(ctx, s.q("SELECT "+runTable.columns+" FROM runs WHERE id = ?"), id))
		if err = notFound(err, fmt.Sprintf("run %s", id)); err != nil {
			return err
		}
		if state != r.State {
			r.StateHistory = append(r.StateHistory, StateEvent{Time: now(), State: state, Error: errMsg})
		}
		hist, _ := json.Marshal(r.StateHistory)
		if workflow == "" {
			workflow = r.Workflow
		}
		_, err = tx.ExecContext(ctx, s.q("UPDATE runs SET state = ?, error = ?, workflow = ?, state_history = ?, finished_at = ? WHERE id = ?"),
			state, errMsg, workflow, string(hist), ms(finished), id)
		if err == nil && workflow != r.Workflow {
			// The task details kept for lists were the old workflow's.
			_, err = tx.ExecContext(ctx, s.q("UPDATE run_listings SET tasks = '' WHERE run_id = ? AND tasks <> ''"), id)
		}
		return err
	})
}

// SetRunStorage archives or restores a run.
func (s *Store) SetRunStorage(ctx context.Context, id, state string) error {
	return s.execOne(ctx, "run "+id, "UPDATE runs SET storage_state = ? WHERE id = ?", state, id)
}

// DeleteRun deletes a run.
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	return s.execOne(ctx, "run "+id, "DELETE FROM runs WHERE id = ?", id)
}

// UnfinishedRuns lists the runs in a state that is not final, for a server
// that starts to resume or end them.
func (s *Store) UnfinishedRuns(ctx context.Context) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+runTable.columns+" FROM runs WHERE state IN (?, ?, ?) ORDER BY created_at, id"),
		"PENDING", "RUNNING", "CANCELING")
	if err != nil {
		return nil, fmt.Errorf("unfinished runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteExperiment deletes an experiment; its runs keep their experiment id,
// as in KFP, and no longer list under it.
func (s *Store) DeleteExperiment(ctx context.Context, id string) error {
	return s.execOne(ctx, "experiment "+id, "DELETE FROM experiments WHERE id = ?", id)
}
