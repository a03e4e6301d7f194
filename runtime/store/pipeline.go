package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Pipeline is a named pipeline; its specs live in its versions.
type Pipeline struct {
	ID, Name, DisplayName, Description, Namespace string
	CreatedAt                                     time.Time
}

// PipelineVersion is one uploaded spec of a pipeline.
type PipelineVersion struct {
	ID, PipelineID, Name, DisplayName, Description string
	// Spec is the pipeline file as uploaded (YAML, possibly two documents).
	Spec          string
	CodeSourceURL string
	CreatedAt     time.Time
}

var pipelineTable = table{
	name:    "pipelines",
	columns: "id, name, display_name, description, namespace, created_at",
	keys: map[string]string{"id": "id", "pipeline_id": "id", "name": "name", "display_name": "display_name",
		"description": "description", "namespace": "namespace", "created_at": "created_at"},
	times: map[string]bool{"created_at": true},
}

var versionTable = table{
	name:    "pipeline_versions",
	columns: "id, pipeline_id, name, display_name, description, spec, code_source_url, created_at",
	keys: map[string]string{"id": "id", "pipeline_version_id": "id", "name": "name", "display_name": "display_name",
		"description": "description", "created_at": "created_at", "pipeline_id": "pipeline_id"},
	times: map[string]bool{"created_at": true},
}

// NewID returns a random UUID (version 4).
func NewID() string { return uuid.NewString() }

func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// CreatePipeline stores p, with an optional first version, in one
// transaction. It fills in ids and times. A taken name is ErrConflict.
func (s *Store) CreatePipeline(ctx context.Context, p *Pipeline, v *PipelineVersion) error {
	if p.ID == "" {
		p.ID = NewID()
	}
	if p.DisplayName == "" {
		p.DisplayName = p.Name
	}
	p.CreatedAt = now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO pipelines (id, name, display_name, description, namespace, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
			p.ID, p.Name, p.DisplayName, p.Description, p.Namespace, ms(p.CreatedAt))
		if err != nil {
			return conflict(err, fmt.Sprintf("pipeline %q", p.Name))
		}
		if v == nil {
			return nil
		}
		v.PipelineID = p.ID
		return s.insertVersion(ctx, tx, v)
	})
}

// CreateVersion adds a version to an existing pipeline.
func (s *Store) CreateVersion(ctx context.Context, v *PipelineVersion) error {
	if _, err := s.GetPipeline(ctx, v.PipelineID); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return s.insertVersion(ctx, tx, v) })
}

func (s *Store) insertVersion(ctx context.Context, tx *sql.Tx, v *PipelineVersion) error {
	if v.ID == "" {
		v.ID = NewID()
	}
	if v.DisplayName == "" {
		v.DisplayName = v.Name
	}
	v.CreatedAt = now()
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO pipeline_versions (id, pipeline_id, name, display_name, description, spec, code_source_url, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), v.ID, v.PipelineID, v.Name, v.DisplayName, v.Description, v.Spec, v.CodeSourceURL, ms(v.CreatedAt))
	return conflict(err, fmt.Sprintf("pipeline version %q", v.Name))
}

func scanPipeline(row interface{ Scan(...any) error }) (Pipeline, error) {
	var p Pipeline
	var created int64
	err := row.Scan(&p.ID, &p.Name, &p.DisplayName, &p.Description, &p.Namespace, &created)
	p.CreatedAt = fromMS(created)
	return p, err
}

func scanVersion(row interface{ Scan(...any) error }) (PipelineVersion, error) {
	var v PipelineVersion
	var created int64
	err := row.Scan(&v.ID, &v.PipelineID, &v.Name, &v.DisplayName, &v.Description, &v.Spec, &v.CodeSourceURL, &created)
	v.CreatedAt = fromMS(created)
	return v, err
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// GetPipeline returns the pipeline with id.
func (s *Store) GetPipeline(ctx context.Context, id string) (Pipeline, error) {
	p, err := scanPipeline(s.db.QueryRowContext(ctx, s.q("SELECT "+pipelineTable.columns+" FROM pipelines WHERE id = ?"), id))
	return p, notFound(err, fmt.Sprintf("pipeline %s", id))
}

// GetPipelineByName returns the pipeline called name in namespace.
func (s *Store) GetPipelineByName(ctx context.Context, namespace, name string) (Pipeline, error) {
	p, err := scanPipeline(s.db.QueryRowContext(ctx, s.q("SELECT "+pipelineTable.columns+" FROM pipelines WHERE namespace = ? AND name = ?"), namespace, name))
	return p, notFound(err, fmt.Sprintf("pipeline %q", name))
}

// ListPipelines returns one page of pipelines.
func (s *Store) ListPipelines(ctx context.Context, namespace string, opts ListOptions) ([]Pipeline, Page, error) {
	var out []Pipeline
	where, args := nsWhere(namespace)
	page, err := s.list(ctx, pipelineTable, opts, where, args, func(r rowScanner) (string, any, error) {
		p, err := scanPipeline(r)
		out = append(out, p)
		return p.ID, sortValue(opts.SortBy, map[string]any{"id": p.ID, "pipeline_id": p.ID, "name": p.Name, "display_name": p.DisplayName,
			"description": p.Description, "namespace": p.Namespace, "created_at": ms(p.CreatedAt)}), err
	})
	return out, page, err
}

// nsWhere restricts a list to a namespace when one is given.
func nsWhere(namespace string) ([]string, []any) {
	if namespace == "" {
		return nil, nil
	}
	return []string{"namespace = ?"}, []any{namespace}
}

// sortValue picks the value of the sort field from a row's values.
func sortValue(sortBy string, values map[string]any) any {
	field := sortBy
	if i := indexSpace(field); i >= 0 {
		field = field[:i]
	}
	if field == "" {
		field = "created_at"
	}
	return values[field]
}

func indexSpace(s string) int {
	for i, r := range s {
		if r == ' ' {
			return i
		}
	}
	return -1
}

// DeletePipeline deletes a pipeline; with cascade its versions too, without
// it a pipeline that has versions is ErrConflict.
func (s *Store) DeletePipeline(ctx context.Context, id string, cascade bool) error {
	if _, err := s.GetPipeline(ctx, id); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM pipeline_versions WHERE pipeline_id = ?"), id).Scan(&n); err != nil {
			return err
		}
		if n > 0 && !cascade {
			return fmt.Errorf("pipeline %s has %d versions (delete with cascade): %w", id, n, ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM pipeline_versions WHERE pipeline_id = ?"), id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q("DELETE FROM pipelines WHERE id = ?"), id)
		return err
	})
}

// GetVersion returns the pipeline version with id.
func (s *Store) GetVersion(ctx context.Context, id string) (PipelineVersion, error) {
	v, err := scanVersion(s.db.QueryRowContext(ctx, s.q("SELECT "+versionTable.columns+" FROM pipeline_versions WHERE id = ?"), id))
	return v, notFound(err, fmt.Sprintf("pipeline version %s", id))
}

// LatestVersion returns a pipeline's newest version.
func (s *Store) LatestVersion(ctx context.Context, pipelineID string) (PipelineVersion, error) {
	v, err := scanVersion(s.db.QueryRowContext(ctx, s.q("SELECT "+versionTable.columns+
		" FROM pipeline_versions WHERE pipeline_id = ? ORDER BY created_at DESC, id DESC LIMIT 1"), pipelineID))
	return v, notFound(err, fmt.Sprintf("a version of pipeline %s", pipelineID))
}

// ListVersions returns one page of a pipeline's versions.
func (s *Store) ListVersions(ctx context.Context, pipelineID string, opts ListOptions) ([]PipelineVersion, Page, error) {
	var out []PipelineVersion
	page, err := s.list(ctx, versionTable, opts, []string{"pipeline_id = ?"}, []any{pipelineID}, func(r rowScanner) (string, any, error) {
		v, err := scanVersion(r)
		out = append(out, v)
		return v.ID, sortValue(opts.SortBy, map[string]any{"id": v.ID, "pipeline_version_id": v.ID, "name": v.Name,
			"display_name": v.DisplayName, "description": v.Description, "created_at": ms(v.CreatedAt), "pipeline_id": v.PipelineID}), err
	})
	return out, page, err
}

// DeleteVersion deletes a pipeline version.
func (s *Store) DeleteVersion(ctx context.Context, id string) error {
	return s.execOne(ctx, "pipeline version "+id, "DELETE FROM pipeline_versions WHERE id = ?", id)
}

// UpdatePipeline sets a pipeline's display name and description (empty
// values leave them as they are).
func (s *Store) UpdatePipeline(ctx context.Context, id, displayName, description string) error {
	p, err := s.GetPipeline(ctx, id)
	if err != nil {
		return err
	}
	if displayName != "" {
		p.DisplayName = displayName
	}
	if description != "" {
		p.Description = description
	}
	_, err = s.db.ExecContext(ctx, s.q("UPDATE pipelines SET display_name = ?, description = ? WHERE id = ?"), p.DisplayName, p.Description, id)
	if err != nil {
		return fmt.Errorf("update pipeline %s: %w", id, err)
	}
	return nil
}

// UpdateVersion sets a version's display name and description (empty values
// leave them as they are).
func (s *Store) UpdateVersion(ctx context.Context, id, displayName, description string) error {
	v, err := s.GetVersion(ctx, id)
	if err != nil {
		return err
	}
	if displayName != "" {
		v.DisplayName = displayName
	}
	if description != "" {
		v.Description = description
	}
	_, err = s.db.ExecContext(ctx, s.q("UPDATE pipeline_versions SET display_name = ?, description = ? WHERE id = ?"), v.DisplayName, v.Description, id)
	if err != nil {
		return fmt.Errorf("update pipeline version %s: %w", id, err)
	}
	return nil
}
