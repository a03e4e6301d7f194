package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// PoolSample is a pool's GPUs, those admitted runs hold and the runs
// waiting for it, from the moment At on (until its next sample).
type PoolSample struct {
	Pool                string
	At                  time.Time
	Total, Used, Queued int64
}

// PoolUsageKept is how long pool samples are kept.
const PoolUsageKept = 7 * 24 * time.Hour

// RecordPoolUsage stores samples (one transaction) and drops those older
// than PoolUsageKept.
func (s *Store) RecordPoolUsage(ctx context.Context, samples []PoolSample) error {
	if len(samples) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, p := range samples {
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO pool_usage (pool, at, total, used, queued) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (pool, at) DO UPDATE SET total = excluded.total, used = excluded.used, queued = excluded.queued`),
				p.Pool, ms(p.At), p.Total, p.Used, p.Queued)
			if err != nil {
				return fmt.Errorf("record usage of pool %s: %w", p.Pool, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM pool_usage WHERE at < ?"), ms(time.Now().Add(-PoolUsageKept))); err != nil {
			return fmt.Errorf("drop old pool usage: %w", err)
		}
		return nil
	})
}

// PoolUsage returns each pool's samples since the given time, oldest
// first, led by the last sample before it (the level the period starts
// at).
func (s *Store) PoolUsage(ctx context.Context, since time.Time) (map[string][]PoolSample, error) {
	const cols = "p.pool, p.at, p.total, p.used, p.queued"
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+cols+` FROM pool_usage p
		JOIN (SELECT pool, MAX(at) AS at FROM pool_usage WHERE at < ? GROUP BY pool) l ON l.pool = p.pool AND l.at = p.at
		UNION ALL SELECT `+cols+` FROM pool_usage p WHERE p.at >= ? ORDER BY 1, 2`), ms(since), ms(since))
	if err != nil {
		return nil, fmt.Errorf("pool usage: %w", err)
	}
	defer rows.Close()
	out := map[string][]PoolSample{}
	for rows.Next() {
		var p PoolSample
		var at int64
		if err := rows.Scan(&p.Pool, &at, &p.Total, &p.Used, &p.Queued); err != nil {
			return nil, fmt.Errorf("pool usage: %w", err)
		}
		p.At = fromMS(at)
		out[p.Pool] = append(out[p.Pool], p)
	}
	return out, rows.Err()
}
