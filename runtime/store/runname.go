package store

import (
	"context"
	"fmt"
	"strings"
)

// RunNames maps run ids to their display names, in one query (missing
// runs are left out).
func (s *Store) RunNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT id, display_name FROM runs WHERE id IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+")"), args...)
	if err != nil {
		return nil, fmt.Errorf("names of runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("names of runs: %w", err)
		}
		out[id] = name
	}
	return out, rows.Err()
}
