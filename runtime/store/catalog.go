package store

import (
	"context"
	"fmt"
	"time"
)

// CatalogEntry is a published model version.
type CatalogEntry struct {
	Name        string
	Version     int
	PublishedBy string
	PublishedAt time.Time
}

// PublishModel puts model version name@vN in the catalog. The version must
// exist; publishing it twice is ErrConflict.
func (s *Store) PublishModel(ctx context.Context, name string, version int, by string) (CatalogEntry, error) {
	if _, err := s.GetArtifactVersion(ctx, "model", name, version); err != nil {
		return CatalogEntry{}, err
	}
	e := CatalogEntry{Name: name, Version: version, PublishedBy: by, PublishedAt: now()}
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO model_catalog (name, version, published_by, published_at) VALUES (?, ?, ?, ?)"),
		name, version, by, ms(e.PublishedAt))
	if err != nil {
		return CatalogEntry{}, conflict(err, fmt.Sprintf("model %s@v%d is already in the catalog", name, version))
	}
	return e, nil
}

// Catalog lists the published model versions of groups (nil: of every
// group) by name and version. An entry belongs to its model's group; its
// publisher owns it.
func (s *Store) Catalog(ctx context.Context, groups []string) ([]CatalogEntry, error) {
	q := "SELECT c.name, c.version, c.published_by, c.published_at FROM model_catalog c"
	var args []any
	if groups != nil {
		in, gargs := groupsIn("COALESCE(o.group_name, '')", groups)
		q += " LEFT JOIN owners o ON o.kind = 'model' AND o.id = c.name WHERE " + in
		args = gargs
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+" ORDER BY c.name, c.version"), args...)
	if err != nil {
		return nil, fmt.Errorf("list the catalog: %w", err)
	}
	defer rows.Close()
	var out []CatalogEntry
	for rows.Next() {
		var e CatalogEntry
		var at int64
		if err := rows.Scan(&e.Name, &e.Version, &e.PublishedBy, &at); err != nil {
			return nil, fmt.Errorf("list the catalog: %w", err)
		}
		e.PublishedAt = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// CatalogEntryOf returns the catalog entry of name@vN (ErrNotFound when it
// was not published).
func (s *Store) CatalogEntryOf(ctx context.Context, name string, version int) (CatalogEntry, error) {
	e := CatalogEntry{Name: name, Version: version}
	var at int64
	err := s.db.QueryRowContext(ctx, s.q("SELECT published_by, published_at FROM model_catalog WHERE name = ? AND version = ?"), name, version).Scan(&e.PublishedBy, &at)
	e.PublishedAt = fromMS(at)
	return e, notFound(err, fmt.Sprintf("model %s@v%d in the catalog", name, version))
}
