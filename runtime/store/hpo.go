package store

import (
	"context"
	"fmt"
	"time"
)

// HPOExperiment is a run that executes an HPO experiment (kind: Experiment
// compiled into one workflow): the console lists them apart from other
// runs. The run itself keeps its group, state and workflow.
type HPOExperiment struct {
	RunID, Name, DisplayName, Namespace, State string
	CreatedAt, FinishedAt                      time.Time
}

// MarkHPOExperiment records that run runID executes the experiment name.
func (s *Store) MarkHPOExperiment(ctx context.Context, runID, name string) error {
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO hpo_experiments (run_id, name, created_at) VALUES (?, ?, ?)"), runID, name, ms(now()))
	return conflict(err, fmt.Sprintf("record run %s as HPO experiment %s", runID, name))
}

// HPOExperimentOf returns the experiment name of an HPO experiment's run;
// ErrNotFound when the run is not one.
func (s *Store) HPOExperimentOf(ctx context.Context, runID string) (string, error) {
	var name string
	err := s.db.QueryRowContext(ctx, s.q("SELECT name FROM hpo_experiments WHERE run_id = ?"), runID).Scan(&name)
	return name, notFound(err, "HPO experiment run "+runID)
}

// ListHPOExperiments returns the newest limit HPO experiment runs of the
// given groups (nil: every group), newest first, in one query.
func (s *Store) ListHPOExperiments(ctx context.Context, groups []string, limit int) ([]HPOExperiment, error) {
	q := "SELECT h.run_id, h.name, r.display_name, r.namespace, r.state, r.created_at, r.finished_at FROM hpo_experiments h JOIN runs r ON r.id = h.run_id"
	var args []any
	if groups != nil {
		in, gargs := groupsIn("r.namespace", groups)
		q, args = q+" WHERE "+in, gargs
	}
	q += fmt.Sprintf(" ORDER BY h.created_at DESC, h.run_id DESC LIMIT %d", max(limit, 1))
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list HPO experiments: %w", err)
	}
	defer rows.Close()
	var out []HPOExperiment
	for rows.Next() {
		var e HPOExperiment
		var created, finished int64
		if err := rows.Scan(&e.RunID, &e.Name, &e.DisplayName, &e.Namespace, &e.State, &created, &finished); err != nil {
			return nil, fmt.Errorf("list HPO experiments: %w", err)
		}
		e.CreatedAt, e.FinishedAt = fromMS(created), fromMS(finished)
		out = append(out, e)
	}
	return out, rows.Err()
}
