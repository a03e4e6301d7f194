package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Project is a named piece of a group's work with its leaderboard rule; to
// the KFP API it is an experiment (ExperimentID), whose namespace is the
// group.
type Project struct {
	Name, ExperimentID, Group, Description string
	// Metric ranks the leaderboard; Direction is maximize or minimize.
	Metric, Direction string
	// Pipeline is the project's default pipeline (a pipeline id), optional.
	Pipeline  string
	CreatedAt time.Time
}

// LeaderboardEntry is one user's best run of a project.
type LeaderboardEntry struct {
	Owner, RunID, DisplayName string
	Value                     float64
	FinishedAt                time.Time
}

var projectTable = table{
	name:    "projects",
	columns: "id, experiment_id, group_name, metric, direction, pipeline, created_at",
	keys:    map[string]string{"name": "id", "group": "group_name", "created_at": "created_at"},
	times:   map[string]bool{"created_at": true},
}

// CreateProject stores a project and its experiment (named like the
// project, in the group's namespace) in one transaction.
func (s *Store) CreateProject(ctx context.Context, p *Project) error {
	p.ExperimentID = NewID()
	p.CreatedAt = now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO experiments (id, name, display_name, description, namespace, storage_state, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), p.ExperimentID, p.Name, p.Name, p.Description, p.Group, "AVAILABLE", ms(p.CreatedAt))
		if err != nil {
			return conflict(err, fmt.Sprintf("experiment %q", p.Name))
		}
		_, err = tx.ExecContext(ctx, s.q("INSERT INTO projects ("+projectTable.columns+") VALUES (?, ?, ?, ?, ?, ?, ?)"),
			p.Name, p.ExperimentID, p.Group, p.Metric, p.Direction, p.Pipeline, ms(p.CreatedAt))
		return conflict(err, fmt.Sprintf("project %q", p.Name))
	})
}

func scanProject(row rowScanner) (Project, error) {
	var p Project
	var created int64
	err := row.Scan(&p.Name, &p.ExperimentID, &p.Group, &p.Metric, &p.Direction, &p.Pipeline, &created)
	p.CreatedAt = fromMS(created)
	return p, err
}

// GetProject returns the project named name.
func (s *Store) GetProject(ctx context.Context, name string) (Project, error) {
	p, err := scanProject(s.db.QueryRowContext(ctx, s.q("SELECT "+projectTable.columns+" FROM projects WHERE id = ?"), name))
	return p, notFound(err, fmt.Sprintf("project %q", name))
}

// ListProjects returns one page of the projects of groups (all when nil).
func (s *Store) ListProjects(ctx context.Context, groups []string, opts ListOptions) ([]Project, Page, error) {
	var where []string
	var args []any
	if groups != nil {
		where = []string{"group_name IN (" + strings.TrimSuffix(strings.Repeat("?, ", max(len(groups), 1)), ", ") + ")"}
		for _, g := range groups {
			args = append(args, g)
		}
		if len(groups) == 0 {
			args = append(args, "")
		}
	}
	var out []Project
	page, err := s.list(ctx, projectTable, opts, where, args, func(r rowScanner) (string, any, error) {
		p, err := scanProject(r)
		out = append(out, p)
		return p.Name, sortValue(opts.SortBy, map[string]any{"name": p.Name, "group": p.Group, "created_at": ms(p.CreatedAt)}), err
	})
	return out, page, err
}

// DeleteProject deletes a project and its experiment; the runs stay, as
// when an experiment is deleted.
func (s *Store) DeleteProject(ctx context.Context, p Project) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM projects WHERE id = ?"), p.Name); err != nil {
			return fmt.Errorf("delete project %q: %w", p.Name, err)
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM experiments WHERE id = ?"), p.ExperimentID); err != nil {
			return fmt.Errorf("delete project %q: %w", p.Name, err)
		}
		return nil
	})
}

// ProjectOfExperiment returns the project an experiment is, ErrNotFound
// for a plain experiment.
func (s *Store) ProjectOfExperiment(ctx context.Context, experimentID string) (Project, error) {
	p, err := scanProject(s.db.QueryRowContext(ctx, s.q("SELECT "+projectTable.columns+" FROM projects WHERE experiment_id = ?"), experimentID))
	return p, notFound(err, fmt.Sprintf("project of experiment %s", experimentID))
}

// Leaderboard returns each user's best succeeded run of a project by the
// project's metric, best first. A metric reported by several steps of a
// run counts with its best value.
func (s *Store) Leaderboard(ctx context.Context, p Project) ([]LeaderboardEntry, error) {
	agg, order := "MAX", "DESC"
	if p.Direction == "minimize" {
		agg, order = "MIN", "ASC"
	}
	rows, err := s.db.QueryContext(ctx, s.q(fmt.Sprintf(`SELECT COALESCE(o.owner, ''), r.id, r.display_name, r.finished_at, %s(m.value) AS v
		FROM runs r JOIN run_metrics m ON m.run_id = r.id AND m.name = ?
		LEFT JOIN owners o ON o.kind = 'run' AND o.id = r.id
		WHERE r.experiment_id = ? AND r.state = 'SUCCEEDED'
		GROUP BY o.owner, r.id, r.display_name, r.finished_at
		ORDER BY v %s, r.finished_at, r.id`, agg, order)), p.Metric, p.ExperimentID)
	if err != nil {
		return nil, fmt.Errorf("leaderboard of %q: %w", p.Name, err)
	}
	defer rows.Close()
	var out []LeaderboardEntry
	seen := map[string]bool{}
	for rows.Next() {
		var e LeaderboardEntry
		var finished int64
		if err := rows.Scan(&e.Owner, &e.RunID, &e.DisplayName, &finished, &e.Value); err != nil {
			return nil, fmt.Errorf("leaderboard of %q: %w", p.Name, err)
		}
		e.FinishedAt = fromMS(finished)
		if !seen[e.Owner] {
			seen[e.Owner] = true
			out = append(out, e)
		}
	}
	return out, rows.Err()
}

// MetricsOf returns the metrics of runs by run and name, in one query; a
// name reported by several steps keeps the value of the last step by task
// name.
func (s *Store) MetricsOf(ctx context.Context, runIDs []string) (map[string]map[string]float64, error) {
	out := map[string]map[string]float64{}
	if len(runIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(runIDs))
	for i, id := range runIDs {
		args[i] = id
		out[id] = map[string]float64{}
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT run_id, name, value FROM run_metrics WHERE run_id IN ("+
		strings.TrimSuffix(strings.Repeat("?, ", len(runIDs)), ", ")+") ORDER BY run_id, task, artifact, name"), args...)
	if err != nil {
		return nil, fmt.Errorf("metrics of runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		var v float64
		if err := rows.Scan(&id, &name, &v); err != nil {
			return nil, fmt.Errorf("metrics of runs: %w", err)
		}
		out[id][name] = v
	}
	return out, rows.Err()
}
