package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ArtifactVersion is one immutable version of a dataset, model, code or
// featureset: content-addressed (Digest, the sha256 of its tree; for code
// from git, of its commit and tree) and numbered 1, 2, … per resource.
type ArtifactVersion struct {
	Kind    string // "dataset" or "model"
	Name    string
	Version int
	Digest  string
	Size    int64
	// Key is where the content lives in the artifact store; URI its URI.
	Key, URI string
	// RunID and Task made it ("" for a version created from a path);
	// SourceKey is the run's artifact it was copied from.
	RunID, Task, SourceKey string
	Metadata               map[string]any
	CreatedAt              time.Time
	// Group holds the dataset or model (every version is its group's);
	// Owner made this version. CreateArtifactVersion claims the resource
	// for Group ("" is the default group) when it is new.
	Group, Owner string
}

// VersionLink records that a run produced (or reproduced) a version from one
// of its artifacts, or used a version as one of its artifacts.
type VersionLink struct {
	Kind, Name string
	Version    int
	RunID      string
	Task       string
	Key        string
	Produced   bool
	CreatedAt  time.Time
}

// Resource summarises a dataset or model: its latest version.
type Resource struct {
	Kind, Name, Group string
	Latest            int
	UpdatedAt         time.Time
}

// Metric is one numeric metric a run's step reported (KFP metrics outputs).
type Metric struct {
	RunID, Task, Artifact, Name string
	Value                       float64
}

const versionColumns = "kind, name, version, digest, size, key, uri, run_id, task, source_key, metadata, created_at, owner"

// versionSelect reads versions with the group holding their resource.
const versionSelect = `SELECT v.kind, v.name, v.version, v.digest, v.size, v.key, v.uri, v.run_id, v.task, v.source_key, v.metadata,
	v.created_at, v.owner, COALESCE(o.group_name, '') FROM versions v LEFT JOIN owners o ON o.kind = v.kind AND o.id = v.name `

func scanArtifactVersion(row interface{ Scan(...any) error }) (ArtifactVersion, error) {
	var v ArtifactVersion
	var md string
	var created int64
	err := row.Scan(&v.Kind, &v.Name, &v.Version, &v.Digest, &v.Size, &v.Key, &v.URI, &v.RunID, &v.Task, &v.SourceKey, &md, &created, &v.Owner, &v.Group)
	if err == nil {
		err = json.Unmarshal([]byte(md), &v.Metadata)
	}
	if v.Group == "" {
		v.Group = DefaultGroup
	}
	v.CreatedAt = fromMS(created)
	return v, err
}

// CheckResourceName refuses a dataset or model name that a version URI
// (KIND://NAME@vN) could not name: it starts with a letter or digit and
// holds letters, digits, '.', '_' and '-', at most 128.
func CheckResourceName(kind, name string) error {
	ok := name != "" && len(name) <= 128 && strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == "" &&
		!strings.ContainsAny(name[:1], "._-")
	if !ok {
		return fmt.Errorf("%s name %q: start with a letter or digit and use letters, digits, '.', '_' and '-' (at most 128): %w", kind, name, ErrInvalid)
	}
	return nil
}

// CreateArtifactVersion gives v the resource's next version number and stores it,
// unless a version of the resource already has v's digest: then v is filled
// with that version and created is false. Numbers are never reused.
func (s *Store) CreateArtifactVersion(ctx context.Context, v *ArtifactVersion) (created bool, err error) {
	if !slices.Contains(VersionedKinds, v.Kind) {
		return false, fmt.Errorf("version of %q: kind must be one of %s", v.Kind, strings.Join(VersionedKinds, ", "))
	}
	if err := CheckResourceName(v.Kind, v.Name); err != nil {
		return false, err
	}
	if v.Metadata == nil {
		v.Metadata = map[string]any{}
	}
	md, err := json.Marshal(v.Metadata)
	if err != nil {
		return false, fmt.Errorf("version metadata: %w", err)
	}
	for attempt := 0; attempt < 5; attempt++ {
		err = s.tx(ctx, func(tx *sql.Tx) error {
			held, err := s.own(ctx, tx, Ownership{Kind: v.Kind, ID: v.Name, Group: v.Group, Owner: v.Owner})
			if err != nil {
				return err
			}
			old, err := scanArtifactVersion(tx.QueryRowContext(ctx, s.q(versionSelect+"WHERE v.kind = ? AND v.name = ? AND v.digest = ?"), v.Kind, v.Name, v.Digest))
			if err == nil {
				*v, created = old, false
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			var last sql.NullInt64
			if err := tx.QueryRowContext(ctx, s.q("SELECT MAX(version) FROM versions WHERE kind = ? AND name = ?"), v.Kind, v.Name).Scan(&last); err != nil {
				return err
			}
			v.Version, v.CreatedAt, v.Group = int(last.Int64)+1, now(), held.Group
			_, err = tx.ExecContext(ctx, s.q("INSERT INTO versions ("+versionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
				v.Kind, v.Name, v.Version, v.Digest, v.Size, v.Key, v.URI, v.RunID, v.Task, v.SourceKey, string(md), ms(v.CreatedAt), v.Owner)
			created = true
			return conflict(err, fmt.Sprintf("%s %s@v%d", v.Kind, v.Name, v.Version))
		})
		if !errors.Is(err, ErrConflict) || errors.Is(err, ErrTaken) {
			break
		}
	}
	if err != nil {
		return false, fmt.Errorf("create version of %s %s: %w", v.Kind, v.Name, err)
	}
	return created, nil
}

// GetArtifactVersion returns version n of a resource; n 0 is the latest.
func (s *Store) GetArtifactVersion(ctx context.Context, kind, name string, n int) (ArtifactVersion, error) {
	q := versionSelect + "WHERE v.kind = ? AND v.name = ? AND v.version = ?"
	args := []any{kind, name, n}
	if n == 0 {
		q, args = versionSelect+"WHERE v.kind = ? AND v.name = ? ORDER BY v.version DESC LIMIT 1", args[:2]
	}
	v, err := scanArtifactVersion(s.db.QueryRowContext(ctx, s.q(q), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, MissingVersion(kind, name, n)
	}
	return v, notFound(err, versionName(kind, name, n))
}

// MissingVersion is the error of version n (0: the latest) of a dataset
// or model that does not exist — or that exists outside the caller's
// groups, which must read the same.
func MissingVersion(kind, name string, n int) error {
	return fmt.Errorf("%s: %w", versionName(kind, name, n), ErrNotFound)
}

func versionName(kind, name string, n int) string {
	if n == 0 {
		return fmt.Sprintf("%s %s@latest", kind, name)
	}
	return fmt.Sprintf("%s %s@v%d", kind, name, n)
}

// FindArtifactVersion returns the version of a resource with digest.
func (s *Store) FindArtifactVersion(ctx context.Context, kind, name, digest string) (ArtifactVersion, error) {
	v, err := scanArtifactVersion(s.db.QueryRowContext(ctx, s.q(versionSelect+"WHERE v.kind = ? AND v.name = ? AND v.digest = ?"), kind, name, digest))
	return v, notFound(err, fmt.Sprintf("%s %s with sha256 %s", kind, name, digest))
}

// ListArtifactVersions returns a resource's versions, oldest first.
func (s *Store) ListArtifactVersions(ctx context.Context, kind, name string) ([]ArtifactVersion, error) {
	rows, err := s.db.QueryContext(ctx, s.q(versionSelect+"WHERE v.kind = ? AND v.name = ? ORDER BY v.version"), kind, name)
	if err != nil {
		return nil, fmt.Errorf("list versions of %s %s: %w", kind, name, err)
	}
	defer rows.Close()
	var out []ArtifactVersion
	for rows.Next() {
		v, err := scanArtifactVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("list versions of %s %s: %w", kind, name, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ListResources returns the datasets or models (kind) of groups (nil: of
// every group), by name.
func (s *Store) ListResources(ctx context.Context, kind string, groups []string) ([]Resource, error) {
	q := "SELECT v.name, MAX(v.version), MAX(v.created_at), COALESCE(MAX(o.group_name), '') FROM versions v LEFT JOIN owners o ON o.kind = v.kind AND o.id = v.name WHERE v.kind = ?"
	args := []any{kind}
	if groups != nil {
		in, gargs := groupsIn("o.group_name", groups)
		q, args = q+" AND "+in, append(args, gargs...)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+" GROUP BY v.name ORDER BY v.name"), args...)
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", kind, err)
	}
	defer rows.Close()
	var out []Resource
	for rows.Next() {
		r := Resource{Kind: kind}
		var updated int64
		if err := rows.Scan(&r.Name, &r.Latest, &updated, &r.Group); err != nil {
			return nil, fmt.Errorf("list %ss: %w", kind, err)
		}
		if r.Group == "" {
			r.Group = DefaultGroup
		}
		r.UpdatedAt = fromMS(updated)
		out = append(out, r)
	}
	return out, rows.Err()
}

// AddLink records a version link. Link ids are UUIDv7, so links list in
// the order they were added.
func (s *Store) AddLink(ctx context.Context, l VersionLink) error {
	l.CreatedAt = now()
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("link id: %w", err)
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO version_links (id, kind, name, version, run_id, task, key, produced, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), id.String(), l.Kind, l.Name, l.Version, l.RunID, l.Task, l.Key, l.Produced, ms(l.CreatedAt))
	if err != nil {
		return fmt.Errorf("link %s %s@v%d to run %s: %w", l.Kind, l.Name, l.Version, l.RunID, err)
	}
	return nil
}

// Links returns the links of one version (n > 0), of a resource's versions
// (n = 0), or every link (kind ""), oldest first.
func (s *Store) Links(ctx context.Context, kind, name string, n int) ([]VersionLink, error) {
	var where []string
	var args []any
	if kind != "" {
		where, args = append(where, "kind = ?", "name = ?"), append(args, kind, name)
	}
	if n > 0 {
		where, args = append(where, "version = ?"), append(args, n)
	}
	cond := ""
	if len(where) > 0 {
		cond = "WHERE " + strings.Join(where, " AND ")
	}
	return s.versionLinks(ctx, "list version links", cond, args...)
}

// AddMetrics records a run's metrics (a repeated name replaces the value).
func (s *Store) AddMetrics(ctx context.Context, ms []Metric) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, m := range ms {
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM run_metrics WHERE run_id = ? AND task = ? AND artifact = ? AND name = ?"), m.RunID, m.Task, m.Artifact, m.Name); err != nil {
				return fmt.Errorf("record metric %s of run %s: %w", m.Name, m.RunID, err)
			}
			if _, err := tx.ExecContext(ctx, s.q("INSERT INTO run_metrics (run_id, task, artifact, name, value) VALUES (?, ?, ?, ?, ?)"), m.RunID, m.Task, m.Artifact, m.Name, m.Value); err != nil {
				return fmt.Errorf("record metric %s of run %s: %w", m.Name, m.RunID, err)
			}
		}
		return nil
	})
}

// RunMetrics returns a run's metrics by task, artifact and name.
func (s *Store) RunMetrics(ctx context.Context, runID string) ([]Metric, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT run_id, task, artifact, name, value FROM run_metrics WHERE run_id = ? ORDER BY task, artifact, name"), runID)
	if err != nil {
		return nil, fmt.Errorf("metrics of run %s: %w", runID, err)
	}
	defer rows.Close()
	var out []Metric
	for rows.Next() {
		var m Metric
		if err := rows.Scan(&m.RunID, &m.Task, &m.Artifact, &m.Name, &m.Value); err != nil {
			return nil, fmt.Errorf("metrics of run %s: %w", runID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
