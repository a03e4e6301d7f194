package store

import (
	"context"
	"fmt"
	"strings"
)

// Run counts: every page of a runs list says how many runs match in all
// (total_size). Counting them is a scan of every matching run — with
// 100,000 runs and the Pipelines UI's filter (storage_state NOT_EQUALS
// ARCHIVED) some 20 ms of a page's time on SQLite. SQLite keeps, by
// triggers on runs, how many runs there are of each namespace, experiment,
// storage state and state (run_counts, a few rows per experiment), and a
// count whose conditions name only those columns sums those rows instead:
// the same WHERE over either table selects the same runs.
//
// PostgreSQL counts runs as before: its counts run on several connections
// at once, where counter rows would make concurrent run writes wait on
// (and deadlock over) each other; SQLite has one writer.

// runCountsMigration stands in the migrations for runCountsSQLite, whose
// trigger bodies hold semicolons (see migrationStatements).
const runCountsMigration = "-- run_counts (runcount.go)"

// runCountsSQLite creates run_counts from the runs there are and the
// triggers that keep it as runs are created, changed and deleted.
var runCountsSQLite = []string{
	`CREATE TABLE run_counts (
		namespace TEXT NOT NULL, experiment_id TEXT NOT NULL, storage_state TEXT NOT NULL, state TEXT NOT NULL,
		n BIGINT NOT NULL, PRIMARY KEY (namespace, experiment_id, storage_state, state))`,
	`INSERT INTO run_counts (namespace, experiment_id, storage_state, state, n)
		SELECT namespace, experiment_id, storage_state, state, COUNT(*) FROM runs
		GROUP BY namespace, experiment_id, storage_state, state`,
	`CREATE TRIGGER run_counts_insert AFTER INSERT ON runs BEGIN ` + runCountAdd + ` END`,
	`CREATE TRIGGER run_counts_delete AFTER DELETE ON runs BEGIN ` + runCountRemove + ` END`,
	`CREATE TRIGGER run_counts_update AFTER UPDATE OF namespace, experiment_id, storage_state, state ON runs
		WHEN OLD.namespace IS NOT NEW.namespace OR OLD.experiment_id IS NOT NEW.experiment_id
		OR OLD.storage_state IS NOT NEW.storage_state OR OLD.state IS NOT NEW.state
		BEGIN ` + runCountRemove + runCountAdd + ` END`,
}

const (
	runCountAdd = `INSERT INTO run_counts (namespace, experiment_id, storage_state, state, n)
		VALUES (NEW.namespace, NEW.experiment_id, NEW.storage_state, NEW.state, 1)
		ON CONFLICT (namespace, experiment_id, storage_state, state) DO UPDATE SET n = n + 1;`
	runCountRemove = `UPDATE run_counts SET n = n - 1 WHERE namespace = OLD.namespace AND experiment_id = OLD.experiment_id
		AND storage_state = OLD.storage_state AND state = OLD.state;
		DELETE FROM run_counts WHERE namespace = OLD.namespace AND experiment_id = OLD.experiment_id
		AND storage_state = OLD.storage_state AND state = OLD.state AND n <= 0;`
)

// runCountColumns are the columns of runs that run_counts counts by.
var runCountColumns = map[string]bool{"namespace": true, "experiment_id": true, "storage_state": true, "state": true}

// migrationStatements are the statements of migration m on a database of
// either kind: its text split at semicolons, or for runCountsMigration
// runCountsSQLite (nothing on PostgreSQL).
func migrationStatements(m string, postgres bool) []string {
	if m != runCountsMigration {
		return strings.Split(m, ";")
	}
	if postgres {
		return nil
	}
	return runCountsSQLite
}

// countQuery is the query of how many rows of t match where (conditions
// on its columns, as list builds them): summed from t's counts table when
// t has one here and every condition names one of its columns, else a
// count of the rows.
func (s *Store) countQuery(t table, where []string) string {
	if t.counts != "" && !s.postgres && countable(where, t.countBy) {
		return "SELECT COALESCE(SUM(n), 0) FROM " + t.counts + whereSQL(where)
	}
	return "SELECT COUNT(*) FROM " + t.name + whereSQL(where)
}

// count runs countQuery.
func (s *Store) count(ctx context.Context, t table, where []string, args []any) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, s.q(s.countQuery(t, where)), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", t.name, err)
	}
	return n, nil
}

// countable reports whether every condition of where (each "column op
// ...", as list and compile write them) is on one of the columns cols.
func countable(where []string, cols map[string]bool) bool {
	for _, w := range where {
		col, _, _ := strings.Cut(w, " ")
		if !cols[col] {
			return false
		}
	}
	return true
}
