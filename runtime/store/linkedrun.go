package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// LinkOfRun is a version link with what a lineage or usage list needs of
// its run: its group (namespace) and state.
type LinkOfRun struct {
	VersionLink
	Namespace, State string
}

// UsageQuery narrows VersionUsage: the runs of Namespaces only (nil: of
// every namespace), of task Task only (""), the newest Limit (0: all).
type UsageQuery struct {
	Namespaces []string
	Task       string
	Limit      int
}

// VersionUsage is a page of a version's links whose runs exist, oldest
// first, with their runs' group and state, and how many there are in all:
// the group filter, count and limit are the database's work, so a version
// thousands of runs used costs one page of rows. On SQLite the runs are
// read from the covering index runs_linked, not from their rows (each
// holding its workflow).
func (s *Store) VersionUsage(ctx context.Context, kind, name string, n int, q UsageQuery) ([]LinkOfRun, int, error) {
	runs := "runs r"
	if !s.postgres {
		runs += " INDEXED BY runs_linked"
	}
	from := " FROM version_links l JOIN " + runs + " ON r.id = l.run_id WHERE l.kind = ? AND l.name = ? AND l.version = ?"
	args := []any{kind, name, n}
	if q.Task != "" {
		from, args = from+" AND l.task = ?", append(args, q.Task)
	}
	if q.Namespaces != nil {
		if len(q.Namespaces) == 0 {
			return nil, 0, nil
		}
		from += " AND r.namespace IN (?" + strings.Repeat(", ?", len(q.Namespaces)-1) + ")"
		for _, ns := range q.Namespaces {
			args = append(args, ns)
		}
	}
	what := fmt.Sprintf("usage of %s %s@v%d", kind, name, n)
	var total int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*)"+from), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", what, err)
	}
	query := `SELECT l.kind, l.name, l.version, l.run_id, l.task, l.key, l.produced, l.created_at, r.namespace, r.state` + from +
		" ORDER BY l.created_at DESC, l.id DESC"
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []LinkOfRun
	for rows.Next() {
		var l LinkOfRun
		var created int64
		if err := rows.Scan(&l.Kind, &l.Name, &l.Version, &l.RunID, &l.Task, &l.Key, &l.Produced, &created, &l.Namespace, &l.State); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", what, err)
		}
		l.CreatedAt = fromMS(created)
		out = append(out, l)
	}
	slices.Reverse(out)
	return out, total, rows.Err()
}

// ProducedLinks are the links of the runs that produced a version, oldest
// first.
func (s *Store) ProducedLinks(ctx context.Context, kind, name string, n int) ([]VersionLink, error) {
	return s.versionLinks(ctx, fmt.Sprintf("producers of %s %s@v%d", kind, name, n),
		"WHERE kind = ? AND name = ? AND version = ? AND produced", kind, name, n)
}
