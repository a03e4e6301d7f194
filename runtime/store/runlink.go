package store

import (
	"context"
	"fmt"
)

// RunLinks returns the version links of one run — the versions it used
// and produced — in the order they were added.
func (s *Store) RunLinks(ctx context.Context, runID string) ([]VersionLink, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT kind, name, version, run_id, task, key, produced, created_at
		FROM version_links WHERE run_id = ? ORDER BY created_at, id`), runID)
	if err != nil {
		return nil, fmt.Errorf("version links of run %s: %w", runID, err)
	}
	defer rows.Close()
	var out []VersionLink
	for rows.Next() {
		var l VersionLink
		var created int64
		if err := rows.Scan(&l.Kind, &l.Name, &l.Version, &l.RunID, &l.Task, &l.Key, &l.Produced, &created); err != nil {
			return nil, fmt.Errorf("version links of run %s: %w", runID, err)
		}
		l.CreatedAt = fromMS(created)
		out = append(out, l)
	}
	return out, rows.Err()
}
