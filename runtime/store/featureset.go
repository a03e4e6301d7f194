package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// FeatureSet is a declared featureset (kind: FeatureSet): its spec as
// JSON (runtime/featureset decodes it), held by Group and owned by Owner
// (ownership.go). Its versions are in the versions table, kind
// "featureset".
type FeatureSet struct {
	Name, Spec   string
	CreatedAt    time.Time
	Group, Owner string
}

// CreateFeatureSet records a featureset declared by its group's member
// Owner. A name already declared is ErrConflict; a name another group's
// versions hold is ErrTaken.
func (s *Store) CreateFeatureSet(ctx context.Context, f *FeatureSet) error {
	if err := CheckResourceName(KindFeatureSet, f.Name); err != nil {
		return err
	}
	f.CreatedAt = now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO featuresets (name, spec, created_at) VALUES (?, ?, ?)"), f.Name, f.Spec, ms(f.CreatedAt))
		if err != nil {
			return conflict(err, fmt.Sprintf("featureset %s", f.Name))
		}
		held, err := s.own(ctx, tx, Ownership{Kind: KindFeatureSet, ID: f.Name, Group: f.Group, Owner: f.Owner})
		f.Group, f.Owner = held.Group, held.Owner
		return err
	})
}

const featureSetSelect = `SELECT f.name, f.spec, f.created_at, COALESCE(o.group_name, ''), COALESCE(o.owner, '')
	FROM featuresets f LEFT JOIN owners o ON o.kind = 'featureset' AND o.id = f.name `

func scanFeatureSet(row rowScanner) (FeatureSet, error) {
	var f FeatureSet
	var created int64
	err := row.Scan(&f.Name, &f.Spec, &created, &f.Group, &f.Owner)
	if f.Group == "" {
		f.Group = DefaultGroup
	}
	f.CreatedAt = fromMS(created)
	return f, err
}

// GetFeatureSet returns the featureset declared as name.
func (s *Store) GetFeatureSet(ctx context.Context, name string) (FeatureSet, error) {
	f, err := scanFeatureSet(s.db.QueryRowContext(ctx, s.q(featureSetSelect+"WHERE f.name = ?"), name))
	return f, notFound(err, fmt.Sprintf("featureset %q", name))
}

// ListFeatureSets returns the featuresets of groups (nil: of every group),
// by name.
func (s *Store) ListFeatureSets(ctx context.Context, groups []string) ([]FeatureSet, error) {
	q, args := featureSetSelect, []any(nil)
	if groups != nil {
		in, gargs := groupsIn("o.group_name", groups)
		q, args = q+"WHERE "+in+" ", gargs
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+"ORDER BY f.name"), args...)
	if err != nil {
		return nil, fmt.Errorf("list featuresets: %w", err)
	}
	defer rows.Close()
	var out []FeatureSet
	for rows.Next() {
		f, err := scanFeatureSet(rows)
		if err != nil {
			return nil, fmt.Errorf("list featuresets: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// DeleteFeatureSet forgets a featureset that has no versions (a versioned
// one is ErrConflict: its versions are in runs' lineage) and releases its
// name.
func (s *Store) DeleteFeatureSet(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM versions WHERE kind = 'featureset' AND name = ?"), name).Scan(&n); err != nil {
			return fmt.Errorf("delete featureset %q: %w", name, err)
		}
		if n > 0 {
			return fmt.Errorf("featureset %q has %d version(s): %w", name, n, ErrConflict)
		}
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM featuresets WHERE name = ?"), name)
		if err != nil {
			return fmt.Errorf("delete featureset %q: %w", name, err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return fmt.Errorf("featureset %q: %w", name, ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, s.q("DELETE FROM owners WHERE kind = 'featureset' AND id = ?"), name)
		return err
	})
}
