package store

import (
	"context"
	"fmt"
)

// LinkedRun is what a lineage or usage list needs of a run that touched a
// version, without its spec or workflow: its group (namespace), name and
// state.
type LinkedRun struct {
	ID, Namespace, DisplayName, State string
}

// LinkedRuns are the runs with a version link, by id, in one query: with
// thousands of runs using a dataset version, reading each run whole (its
// workflow) to learn its group would take seconds.
func (s *Store) LinkedRuns(ctx context.Context) (map[string]LinkedRun, error) {
	// EXISTS, not IN: SQLite then scans the covering index runs_linked
	// (probing version_links_run) instead of reading each run's row.
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT r.id, r.namespace, r.display_name, r.state FROM runs r
		WHERE EXISTS (SELECT 1 FROM version_links l WHERE l.run_id = r.id)`))
	if err != nil {
		return nil, fmt.Errorf("runs with version links: %w", err)
	}
	defer rows.Close()
	out := map[string]LinkedRun{}
	for rows.Next() {
		var r LinkedRun
		if err := rows.Scan(&r.ID, &r.Namespace, &r.DisplayName, &r.State); err != nil {
			return nil, fmt.Errorf("runs with version links: %w", err)
		}
		out[r.ID] = r
	}
	return out, rows.Err()
}
