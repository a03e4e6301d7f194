package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// MLMDKey is the place of an ML Metadata id: its scope (a run id; "" for
// global objects) and its key in that scope's graph.
type MLMDKey struct{ Scope, Key string }

// MLMDIDs returns the ML Metadata id of each key of scope, giving keys that
// have none the next free ids. Ids are positive, never reused, and stay the
// same for a key across calls and restarts (the UI links pages by them).
func (s *Store) MLMDIDs(ctx context.Context, scope string, keys []string) (map[string]int64, error) {
	ids, err := s.AssignMLMDIDs(ctx, map[string][]string{scope: keys})
	if err != nil {
		return nil, err
	}
	if ids[scope] == nil {
		return map[string]int64{}, nil
	}
	return ids[scope], nil
}

// AssignMLMDIDs is MLMDIDs for the keys of several scopes at once, in one
// transaction (a batch of runs); it returns every id of those scopes.
func (s *Store) AssignMLMDIDs(ctx context.Context, keys map[string][]string) (map[string]map[string]int64, error) {
	scopes := make([]string, 0, len(keys))
	for sc := range keys {
		scopes = append(scopes, sc)
	}
	out, err := s.MLMDIDsIn(ctx, scopes)
	if err != nil {
		return nil, err
	}
	var missing []MLMDKey
	for sc, ks := range keys {
		for _, k := range ks {
			if _, ok := out[sc][k]; !ok {
				missing = append(missing, MLMDKey{sc, k})
			}
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	// New ids: MAX(id)+1 under a transaction; a concurrent writer taking the
	// same id (PostgreSQL) is a conflict, and the loop tries again.
	for attempt := 0; ; attempt++ {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO mlmd_ids (id, scope, key)
				SELECT COALESCE(MAX(id), 0) + 1, ?, ? FROM mlmd_ids WHERE TRUE ON CONFLICT (scope, key) DO NOTHING`))
			if err != nil {
				return err
			}
			defer stmt.Close()
			for _, k := range missing {
				if _, err := stmt.ExecContext(ctx, k.Scope, k.Key); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			break
		}
		if attempt >= 5 || !errors.Is(conflict(err, "ids"), ErrConflict) {
			return nil, fmt.Errorf("assign ML Metadata ids in %d scopes: %w", len(keys), err)
		}
	}
	return s.MLMDIDsIn(ctx, scopes)
}

// MLMDKeys returns the scope and key of each id it knows; unknown ids are
// left out.
func (s *Store) MLMDKeys(ctx context.Context, ids []int64) (map[int64]MLMDKey, error) {
	out := map[int64]MLMDKey{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	q := "SELECT id, scope, key FROM mlmd_ids WHERE id IN (" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("ML Metadata keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var k MLMDKey
		if err := rows.Scan(&id, &k.Scope, &k.Key); err != nil {
			return nil, fmt.Errorf("ML Metadata keys: %w", err)
		}
		out[id] = k
	}
	return out, rows.Err()
}

// MLMDIDsIn returns the ids already given in each of scopes, in one query
// (a page of runs); it gives none.
func (s *Store) MLMDIDsIn(ctx context.Context, scopes []string) (map[string]map[string]int64, error) {
	out := map[string]map[string]int64{}
	if len(scopes) == 0 {
		return out, nil
	}
	args := make([]any, len(scopes))
	for i, sc := range scopes {
		args[i] = sc
	}
	q := "SELECT scope, key, id FROM mlmd_ids WHERE scope IN (" + strings.TrimSuffix(strings.Repeat("?,", len(scopes)), ",") + ")"
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("ML Metadata ids of %d runs: %w", len(scopes), err)
	}
	defer rows.Close()
	for rows.Next() {
		var scope, key string
		var id int64
		if err := rows.Scan(&scope, &key, &id); err != nil {
			return nil, fmt.Errorf("ML Metadata ids of %d runs: %w", len(scopes), err)
		}
		if out[scope] == nil {
			out[scope] = map[string]int64{}
		}
		out[scope][key] = id
	}
	return out, rows.Err()
}
