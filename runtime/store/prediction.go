package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// Prediction is the summary of one recorded request through kubeline's
// inference endpoint; its request and response bodies are line
// PayloadLine of the artifact-store object PayloadKey. Inputs and Outputs
// are JSON arrays of rows (one per instance).
type Prediction struct {
	Seq             int64
	Deployment      string
	Model, Protocol string
	At              time.Time
	Latency         time.Duration
	Status          int
	Inputs, Outputs string
	PayloadKey      string
	PayloadLine     int
}

// AddPredictions records summaries, giving each the next sequence number
// (in order), in one transaction.
func (s *Store) AddPredictions(ctx context.Context, ps []Prediction) error {
	for attempt := 0; ; attempt++ {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var last int64
			if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM predictions").Scan(&last); err != nil {
				return err
			}
			// Statements of a few rows, yielding between them: a batch never
			// holds a CPU for long from the requests the server answers
			// meanwhile (SQLite is Go code here, scheduled like them).
			const chunk = 32
			for lo := 0; lo < len(ps); lo += chunk {
				hi := min(lo+chunk, len(ps))
				var b strings.Builder
				b.WriteString(`INSERT INTO predictions (seq, deployment, model, protocol, at, latency_us, status, inputs, outputs,
					payload_key, payload_line) VALUES `)
				args := make([]any, 0, 11*(hi-lo))
				for i := lo; i < hi; i++ {
					p := &ps[i]
					p.Seq = last + int64(i) + 1
					if i > lo {
						b.WriteString(", ")
					}
					b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
					args = append(args, p.Seq, p.Deployment, p.Model, p.Protocol, ms(p.At), p.Latency.Microseconds(), p.Status,
						p.Inputs, p.Outputs, p.PayloadKey, p.PayloadLine)
				}
				if _, err := tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
					return err
				}
				runtime.Gosched()
			}
			return nil
		})
		if err == nil {
			return nil
		}
		if attempt >= 5 || !errors.Is(conflict(err, "predictions"), ErrConflict) {
			return fmt.Errorf("record %d predictions: %w", len(ps), err)
		}
	}
}

// Predictions returns up to limit predictions of a deployment after
// sequence number after, in order.
func (s *Store) Predictions(ctx context.Context, deployment string, after int64, limit int) ([]Prediction, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT seq, deployment, model, protocol, at, latency_us, status, inputs, outputs,
		payload_key, payload_line FROM predictions WHERE deployment = ? AND seq > ? ORDER BY seq LIMIT ?`), deployment, after, limit)
	if err != nil {
		return nil, fmt.Errorf("predictions of %s: %w", deployment, err)
	}
	defer rows.Close()
	var out []Prediction
	for rows.Next() {
		var p Prediction
		var at, lat int64
		if err := rows.Scan(&p.Seq, &p.Deployment, &p.Model, &p.Protocol, &at, &lat, &p.Status, &p.Inputs, &p.Outputs,
			&p.PayloadKey, &p.PayloadLine); err != nil {
			return nil, fmt.Errorf("predictions of %s: %w", deployment, err)
		}
		p.At, p.Latency = fromMS(at), time.Duration(lat)*time.Microsecond
		out = append(out, p)
	}
	return out, rows.Err()
}

// CountPredictions counts a deployment's predictions after sequence
// number after.
func (s *Store) CountPredictions(ctx context.Context, deployment string, after int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM predictions WHERE deployment = ? AND seq > ?"), deployment, after).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count predictions of %s: %w", deployment, err)
	}
	return n, nil
}

// LastPrediction is the newest sequence number of any prediction (0 for
// none).
func (s *Store) LastPrediction(ctx context.Context) (int64, error) {
	var last int64
	if err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM predictions").Scan(&last); err != nil {
		return 0, fmt.Errorf("newest prediction: %w", err)
	}
	return last, nil
}

// TrimPredictions keeps a deployment's newest keep predictions and deletes
// the older ones; it returns the payload keys no prediction refers to any
// more (for the caller to delete from the artifact store).
func (s *Store) TrimPredictions(ctx context.Context, deployment string, keep int) ([]string, error) {
	var gone []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var cut int64
		err := tx.QueryRowContext(ctx, s.q("SELECT seq FROM predictions WHERE deployment = ? ORDER BY seq DESC LIMIT 1 OFFSET ?"), deployment, keep).Scan(&cut)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, s.q("SELECT DISTINCT payload_key FROM predictions WHERE deployment = ? AND seq <= ? AND payload_key <> ''"), deployment, cut)
		if err != nil {
			return err
		}
		var keys []string
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return err
			}
			keys = append(keys, k)
		}
		rows.Close()
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM predictions WHERE deployment = ? AND seq <= ?"), deployment, cut); err != nil {
			return err
		}
		// A payload object holds one batch of the deployment: it is gone
		// when its key is not among the newest remaining predictions'.
		var first string
		err = tx.QueryRowContext(ctx, s.q("SELECT payload_key FROM predictions WHERE deployment = ? ORDER BY seq LIMIT 1"), deployment).Scan(&first)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		for _, k := range keys {
			if k != first {
				gone = append(gone, k)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("trim predictions of %s: %w", deployment, err)
	}
	return gone, nil
}
