package store

import (
	"context"
	"fmt"
)

// LinkOfRun is a version link with what a lineage or usage list needs of
// its run: its group (namespace) and state ("" when the run is gone).
type LinkOfRun struct {
	VersionLink
	Namespace, State string
	// Found is false when the link's run is not in the store.
	Found bool
}

// VersionLinkRuns are a version's links, oldest first, each with its run's
// group and state, in one query: with thousands of runs using a dataset
// version, reading each run whole (its workflow) to learn its group took
// seconds. On SQLite the runs are read from the covering index runs_linked.
func (s *Store) VersionLinkRuns(ctx context.Context, kind, name string, n int) ([]LinkOfRun, error) {
	runs := "runs r"
	if !s.postgres {
		runs += " INDEXED BY runs_linked"
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT l.kind, l.name, l.version, l.run_id, l.task, l.key, l.produced, l.created_at,
		r.id, r.namespace, r.state FROM version_links l LEFT JOIN `+runs+` ON r.id = l.run_id
		WHERE l.kind = ? AND l.name = ? AND l.version = ? ORDER BY l.created_at, l.id`), kind, name, n)
	if err != nil {
		return nil, fmt.Errorf("links of %s %s@v%d: %w", kind, name, n, err)
	}
	defer rows.Close()
	var out []LinkOfRun
	for rows.Next() {
		var l LinkOfRun
		var created int64
		var id, ns, state *string
		if err := rows.Scan(&l.Kind, &l.Name, &l.Version, &l.RunID, &l.Task, &l.Key, &l.Produced, &created, &id, &ns, &state); err != nil {
			return nil, fmt.Errorf("links of %s %s@v%d: %w", kind, name, n, err)
		}
		l.CreatedAt = fromMS(created)
		if id != nil {
			l.Found, l.Namespace, l.State = true, *ns, *state
		}
		out = append(out, l)
	}
	return out, rows.Err()
}
