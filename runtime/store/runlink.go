package store

import (
	"context"
	"fmt"
)

// RunLinks returns the version links of one run — the versions it used
// and produced — in the order they were added.
func (s *Store) RunLinks(ctx context.Context, runID string) ([]VersionLink, error) {
	return s.versionLinks(ctx, "version links of run "+runID, "WHERE run_id = ?", runID)
}

// versionLinkColumns are the columns of version_links a VersionLink holds,
// in the order scanVersionLinks reads them.
const versionLinkColumns = "kind, name, version, run_id, task, key, produced, created_at"

// versionLinks reads the version links matching cond (a WHERE clause or
// ""), oldest first; what says what was being read in errors.
func (s *Store) versionLinks(ctx context.Context, what, cond string, args ...any) ([]VersionLink, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+versionLinkColumns+" FROM version_links "+cond+" ORDER BY created_at, id"), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []VersionLink
	for rows.Next() {
		var l VersionLink
		var created int64
		if err := rows.Scan(&l.Kind, &l.Name, &l.Version, &l.RunID, &l.Task, &l.Key, &l.Produced, &created); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		l.CreatedAt = fromMS(created)
		out = append(out, l)
	}
	return out, rows.Err()
}
