package store

import (
	"context"
	"fmt"
)

// ProjectVersions returns the versions the runs of an experiment (a
// project's) produced — made or reproduced — newest first, at most limit,
// in one query.
func (s *Store) ProjectVersions(ctx context.Context, experimentID string, limit int) ([]VersionLink, error) {
	rows, err := s.db.QueryContext(ctx, s.q(fmt.Sprintf(`SELECT l.kind, l.name, l.version, l.run_id, l.task, l.key, l.created_at
		FROM version_links l JOIN runs r ON r.id = l.run_id WHERE r.experiment_id = ? AND l.produced ORDER BY l.created_at DESC, l.id DESC LIMIT %d`, max(limit, 1))),
		experimentID)
	if err != nil {
		return nil, fmt.Errorf("versions of experiment %s: %w", experimentID, err)
	}
	defer rows.Close()
	var out []VersionLink
	for rows.Next() {
		l := VersionLink{Produced: true}
		var created int64
		if err := rows.Scan(&l.Kind, &l.Name, &l.Version, &l.RunID, &l.Task, &l.Key, &created); err != nil {
			return nil, fmt.Errorf("versions of experiment %s: %w", experimentID, err)
		}
		l.CreatedAt = fromMS(created)
		out = append(out, l)
	}
	return out, rows.Err()
}
