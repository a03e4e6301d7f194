package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
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

// Recorded predictions are stored a batch a row (prediction_batches): the
// consecutive predictions of one deployment and payload object that one
// AddPredictions call gets, with sequence numbers first_seq..last_seq, as
// lines of tab-separated summaries (batchLine). A row per batch rather
// than per prediction keeps the recorder's transaction short: the store's
// one SQLite writer is what other writes wait for meanwhile (a request's
// token and holder are read on the read pool: conns.go), and the inserts
// were most of the recorder's CPU.

// AddPredictions records summaries, giving each the next sequence number
// (in order), in one transaction, all or none; its commit does not wait
// for the disk (lazyTx: a power loss may lose the last batches, whole).
func (s *Store) AddPredictions(ctx context.Context, ps []Prediction) error {
	if len(ps) == 0 {
		return nil
	}
	for attempt := 0; ; attempt++ {
		err := s.lazyTx(ctx, func(tx *sql.Tx) error {
			var last int64
			if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(last_seq), 0) FROM prediction_batches").Scan(&last); err != nil {
				return err
			}
			for i := range ps {
				ps[i].Seq = last + int64(i) + 1
			}
			for lo := 0; lo < len(ps); {
				hi := lo + 1
				for hi < len(ps) && ps[hi].Deployment == ps[lo].Deployment && ps[hi].PayloadKey == ps[lo].PayloadKey {
					hi++
				}
				if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO prediction_batches (deployment, first_seq, last_seq, payload_key, summaries)
					VALUES (?, ?, ?, ?, ?)`), ps[lo].Deployment, ps[lo].Seq, ps[hi-1].Seq, ps[lo].PayloadKey, batchLines(ps[lo:hi])); err != nil {
					return err
				}
				lo = hi
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

// batchLines are the summaries of a batch, a line each: time (ms),
// latency (µs), status, payload line, model, protocol, inputs, outputs,
// separated by tabs. Inputs and outputs are compact JSON (no tab or
// newline outside a string, none inside one); a model or protocol that
// holds either has it replaced by a space.
func batchLines(ps []Prediction) string {
	size := 0
	for _, p := range ps { // the lines' length: one allocation, not a doubling and a copy
		size += 4*20 + 8 + len(p.Model) + len(p.Protocol) + len(p.Inputs) + len(p.Outputs)
	}
	var b strings.Builder
	b.Grow(size)
	var num [20]byte
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		for j, n := range [4]int64{ms(p.At), p.Latency.Microseconds(), int64(p.Status), int64(p.PayloadLine)} {
			if j > 0 {
				b.WriteByte('\t')
			}
			b.Write(strconv.AppendInt(num[:0], n, 10))
		}
		for _, f := range []string{p.Model, p.Protocol, p.Inputs, p.Outputs} {
			b.WriteByte('\t')
			if strings.ContainsAny(f, "\t\n") {
				f = strings.Map(noSeparator, f)
			}
			b.WriteString(f)
		}
	}
	return b.String()
}

func noSeparator(r rune) rune {
	if r == '\t' || r == '\n' {
		return ' '
	}
	return r
}

// batch is one prediction_batches row.
type batch struct {
	deployment  string
	first, last int64
	payloadKey  string
	summaries   string
}

// predictions decodes the row's summaries (sequence numbers first..).
func (b batch) predictions() ([]Prediction, error) {
	lines := strings.Split(b.summaries, "\n")
	if int64(len(lines)) != b.last-b.first+1 {
		return nil, fmt.Errorf("predictions %d..%d of %s: %d summaries stored", b.first, b.last, b.deployment, len(lines))
	}
	out := make([]Prediction, 0, len(lines))
	for i, line := range lines {
		f := strings.SplitN(line, "\t", 8)
		if len(f) != 8 {
			return nil, fmt.Errorf("prediction %d of %s: %d fields stored, want 8", b.first+int64(i), b.deployment, len(f))
		}
		var n [4]int64
		for j := range n {
			v, err := strconv.ParseInt(f[j], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("prediction %d of %s: field %d: %w", b.first+int64(i), b.deployment, j+1, err)
			}
			n[j] = v
		}
		out = append(out, Prediction{Seq: b.first + int64(i), Deployment: b.deployment, At: fromMS(n[0]),
			Latency: time.Duration(n[1]) * time.Microsecond, Status: int(n[2]), PayloadLine: int(n[3]),
			Model: f[4], Protocol: f[5], Inputs: f[6], Outputs: f[7], PayloadKey: b.payloadKey})
	}
	return out, nil
}

// Predictions returns up to limit predictions of a deployment after
// sequence number after, in order.
func (s *Store) Predictions(ctx context.Context, deployment string, after int64, limit int) ([]Prediction, error) {
	// From the batch holding after+1 on: the one starting last at or
	// before it, found by the primary key.
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT first_seq, last_seq, payload_key, summaries FROM prediction_batches
		WHERE deployment = ? AND last_seq > ? AND first_seq >= COALESCE((SELECT MAX(first_seq) FROM prediction_batches
		WHERE deployment = ? AND first_seq <= ?), 0) ORDER BY first_seq LIMIT ?`), deployment, after, deployment, after+1, limit+1)
	if err != nil {
		return nil, fmt.Errorf("predictions of %s: %w", deployment, err)
	}
	defer rows.Close()
	var out []Prediction
	for rows.Next() && len(out) < limit {
		b := batch{deployment: deployment}
		if err := rows.Scan(&b.first, &b.last, &b.payloadKey, &b.summaries); err != nil {
			return nil, fmt.Errorf("predictions of %s: %w", deployment, err)
		}
		ps, err := b.predictions()
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if p.Seq > after && len(out) < limit {
				out = append(out, p)
			}
		}
	}
	return out, rows.Err()
}

// CountPredictions counts a deployment's predictions after sequence
// number after.
func (s *Store) CountPredictions(ctx context.Context, deployment string, after int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COALESCE(SUM(CASE WHEN first_seq > ? THEN last_seq - first_seq + 1 ELSE last_seq - ? END), 0)
		FROM prediction_batches WHERE deployment = ? AND last_seq > ?`), after, after, deployment, after).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count predictions of %s: %w", deployment, err)
	}
	return n, nil
}

// LastPrediction is the newest sequence number of any prediction (0 for
// none).
func (s *Store) LastPrediction(ctx context.Context) (int64, error) {
	var last int64
	if err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(last_seq), 0) FROM prediction_batches").Scan(&last); err != nil {
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
		cut, straddle, err := s.trimCut(ctx, tx, deployment, keep)
		if err != nil || cut == 0 {
			return err
		}
		rows, err := tx.QueryContext(ctx, s.q("SELECT DISTINCT payload_key FROM prediction_batches WHERE deployment = ? AND last_seq <= ? AND payload_key <> ''"), deployment, cut)
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
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM prediction_batches WHERE deployment = ? AND last_seq <= ?"), deployment, cut); err != nil {
			return err
		}
		if straddle != nil { // its older predictions go, the newer stay
			ps, err := straddle.predictions()
			if err != nil {
				return err
			}
			ps = ps[cut-straddle.first+1:]
			if _, err := tx.ExecContext(ctx, s.q("UPDATE prediction_batches SET first_seq = ?, summaries = ? WHERE deployment = ? AND first_seq = ?"),
				ps[0].Seq, batchLines(ps), deployment, straddle.first); err != nil {
				return err
			}
		}
		// A payload object is gone when no remaining row refers to it.
		for _, k := range keys {
			var n int
			if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM prediction_batches WHERE deployment = ? AND payload_key = ?"), deployment, k).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
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

// trimCut finds the sequence number at and before which a deployment's
// predictions go so that its newest keep stay (0: nothing goes), and the
// batch that holds predictions on both sides of it (nil when the cut falls
// between batches).
func (s *Store) trimCut(ctx context.Context, tx *sql.Tx, deployment string, keep int) (int64, *batch, error) {
	rows, err := tx.QueryContext(ctx, s.q("SELECT first_seq, last_seq FROM prediction_batches WHERE deployment = ? ORDER BY first_seq DESC"), deployment)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	kept := int64(0)
	for rows.Next() {
		var first, last int64
		if err := rows.Scan(&first, &last); err != nil {
			return 0, nil, err
		}
		n := last - first + 1
		if kept+n <= int64(keep) {
			kept += n
			continue
		}
		cut := last - (int64(keep) - kept) // the newest keep-kept of this batch stay
		if cut < first {
			return 0, nil, fmt.Errorf("predictions %d..%d of %s: cut %d outside", first, last, deployment, cut)
		}
		rows.Close()
		if cut == last {
			return cut, nil, nil
		}
		b := &batch{deployment: deployment, first: first, last: last}
		if err := tx.QueryRowContext(ctx, s.q("SELECT payload_key, summaries FROM prediction_batches WHERE deployment = ? AND first_seq = ?"),
			deployment, first).Scan(&b.payloadKey, &b.summaries); err != nil {
			return 0, nil, err
		}
		return cut, b, nil
	}
	return 0, nil, rows.Err()
}
