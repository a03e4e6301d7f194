package store

import (
	"context"
	"fmt"
)

// Ping checks that the database answers a query: the server's readiness.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// RunCount is how many runs have one KFP state and admission status
// (Status is empty for runs without an admission record).
type RunCount struct {
	State, Status string
	N             int64
}

// CountRuns counts the runs by KFP state and admission status, in one
// query: the server's metrics read it at every scrape.
func (s *Store) CountRuns(ctx context.Context) ([]RunCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.state, COALESCE(a.status, ''), COUNT(*) FROM runs r
		LEFT JOIN run_admission a ON a.run_id = r.id GROUP BY r.state, a.status`)
	if err != nil {
		return nil, fmt.Errorf("count runs: %w", err)
	}
	defer rows.Close()
	var out []RunCount
	for rows.Next() {
		var c RunCount
		if err := rows.Scan(&c.State, &c.Status, &c.N); err != nil {
			return nil, fmt.Errorf("count runs: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
