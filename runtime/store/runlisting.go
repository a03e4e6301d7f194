package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
)

// RunListing is what a list of runs shows of a run beyond its own columns,
// rendered once by the API server and kept beside the run (run_listings),
// so that a page of runs decodes neither specs nor workflows: Spec is the
// inline pipeline spec as JSON (empty for a run of a pipeline version) and
// Tasks its task details as a JSON array (empty until the run has ended,
// or when nobody rendered them yet).
type RunListing struct {
	Spec, Tasks string
}

// runSummaryTable lists runs without their pipeline spec and workflow, with
// their listing.
var runSummaryTable = func() table {
	t := runTable
	var cols []string
	for _, c := range strings.Split(runTable.columns, ", ") {
		if c != "pipeline_spec" && c != "workflow" {
			cols = append(cols, c)
		}
	}
	t.columns = strings.Join(cols, ", ") + ", (SELECT spec FROM run_listings WHERE run_id = runs.id), " +
		"(SELECT tasks FROM run_listings WHERE run_id = runs.id)"
	return t
}()

func scanRunSummary(row interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var hist string
	var created, scheduled, finished int64
	var spec, tasks sql.NullString
	err := row.Scan(&r.ID, &r.ExperimentID, &r.DisplayName, &r.Description, &r.Namespace, &r.StorageState, &r.PipelineID,
		&r.PipelineVersionID, &r.RuntimeConfig, &r.ServiceAccount, &r.State, &hist, &r.Error,
		&r.RecurringRunID, &created, &scheduled, &finished, &spec, &tasks)
	if err == nil {
		err = json.Unmarshal([]byte(hist), &r.StateHistory)
	}
	r.CreatedAt, r.ScheduledAt, r.FinishedAt = fromMS(created), fromMS(scheduled), fromMS(finished)
	r.Listing = RunListing{Spec: spec.String, Tasks: tasks.String}
	return r, err
}

// ListRunSummaries is ListRuns without each run's PipelineSpec and
// Workflow, and with its Listing: what a page of the runs list needs.
func (s *Store) ListRunSummaries(ctx context.Context, namespace, experimentID string, opts ListOptions) ([]Run, Page, error) {
	return s.listRuns(ctx, runSummaryTable, scanRunSummary, namespace, experimentID, opts)
}

// SetRunListings keeps what a list shows of each run given: the parts of
// a listing that are set replace those kept; an empty part keeps what is
// there. UpdateRun drops the task details when the workflow changes.
func (s *Store) SetRunListings(ctx context.Context, ls map[string]RunListing) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO run_listings (run_id, spec, tasks) VALUES (?, ?, ?)
			ON CONFLICT (run_id) DO UPDATE SET
			spec = CASE WHEN excluded.spec <> '' THEN excluded.spec ELSE run_listings.spec END,
			tasks = CASE WHEN excluded.tasks <> '' THEN excluded.tasks ELSE run_listings.tasks END`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for id, l := range ls {
			if _, err := stmt.ExecContext(ctx, id, l.Spec, l.Tasks); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("keep the listings of %d runs: %w", len(ls), err)
	}
	return nil
}

// RunsByID returns the runs with the given ids, whole (spec and workflow
// included), in no particular order; ids that do not exist are left out.
func (s *Store) RunsByID(ctx context.Context, ids []string) ([]Run, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+runTable.columns+" FROM runs WHERE id IN (?"+strings.Repeat(", ?", len(ids)-1)+")"), args...)
	if err != nil {
		return nil, fmt.Errorf("runs by id: %w", err)
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

// EndedRunsWithoutListing returns up to limit ids, in order, of runs in a
// final state (SUCCEEDED, FAILED, CANCELED, SKIPPED) with no task details
// kept, after the id after ("" to start).
func (s *Store) EndedRunsWithoutListing(ctx context.Context, after string, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id FROM runs WHERE id > ? AND state IN (?, ?, ?, ?)
		AND NOT EXISTS (SELECT 1 FROM run_listings WHERE run_id = runs.id AND tasks <> '') ORDER BY id LIMIT ?`),
		after, "SUCCEEDED", "FAILED", "CANCELED", "SKIPPED", limit)
	if err != nil {
		return nil, fmt.Errorf("runs without a listing: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
