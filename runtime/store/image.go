package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Image is an entry of the container image catalog: a name runs, IDEs,
// deployments and components use (image://NAME) for an image reference.
// Standard images (Group "") are the operator's, offered to every group;
// the others belong to a group, whose entry of a name hides a standard one
// of the same name.
type Image struct {
	Group, Name, Image string
	Framework, Version string
	GPU                bool
	// Command serves a notebook in the image (an IDE's command when none
	// is given); $(PORT) stands for its port.
	Command []string
	// Source is where the image came from: "code://NAME@vN" for an image an
	// ImageBuild made, with Build the run that made it.
	Source, Build string
	Owner         string
	CreatedAt     time.Time
}

// Standard reports whether the entry is an operator-wide standard image.
func (i Image) Standard() bool { return i.Group == "" }

// ID is the entry's id in the ownership table: GROUP/NAME.
func (i Image) ID() string { return i.Group + "/" + i.Name }

// KindImage is a group's catalog entry in the ownership table (id GROUP/NAME).
const KindImage = "image"

const imageColumns = "group_name, name, image, framework, version, gpu, command, source, build, owner, created_at"

func scanImage(row rowScanner) (Image, error) {
	var i Image
	var cmd string
	var at int64
	err := row.Scan(&i.Group, &i.Name, &i.Image, &i.Framework, &i.Version, &i.GPU, &cmd, &i.Source, &i.Build, &i.Owner, &at)
	if err == nil && cmd != "" {
		err = json.Unmarshal([]byte(cmd), &i.Command)
	}
	i.CreatedAt = fromMS(at)
	return i, err
}

// PutImage adds a catalog entry, or replaces the group's entry of that name
// (replace true; else a taken name is ErrConflict). A group's entry is held
// by the group for its owner (ownership.go).
func (s *Store) PutImage(ctx context.Context, i *Image, replace bool) error {
	i.CreatedAt = now()
	cmd := ""
	if len(i.Command) > 0 {
		b, _ := json.Marshal(i.Command)
		cmd = string(b)
	}
	what := fmt.Sprintf("image %q of group %s", i.Name, i.Group)
	if i.Standard() {
		what = fmt.Sprintf("standard image %q", i.Name)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if replace {
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM images WHERE group_name = ? AND name = ?"), i.Group, i.Name); err != nil {
				return fmt.Errorf("replace %s: %w", what, err)
			}
		}
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO images ("+imageColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
			i.Group, i.Name, i.Image, i.Framework, i.Version, i.GPU, cmd, i.Source, i.Build, i.Owner, ms(i.CreatedAt))
		if err != nil {
			return conflict(err, what)
		}
		if i.Standard() {
			return nil
		}
		if replace {
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM owners WHERE kind = ? AND id = ?"), KindImage, i.ID()); err != nil {
				return fmt.Errorf("replace %s: %w", what, err)
			}
		}
		_, err = s.own(ctx, tx, Ownership{Kind: KindImage, ID: i.ID(), Group: i.Group, Owner: i.Owner})
		return err
	})
}

// GetImage returns a catalog entry (group "" for a standard one).
func (s *Store) GetImage(ctx context.Context, group, name string) (Image, error) {
	i, err := scanImage(s.db.QueryRowContext(ctx, s.q("SELECT "+imageColumns+" FROM images WHERE group_name = ? AND name = ?"), group, name))
	if group == "" {
		return i, notFound(err, fmt.Sprintf("standard image %q", name))
	}
	return i, notFound(err, fmt.Sprintf("image %q", name))
}

// DeleteImage removes a catalog entry and its holding.
func (s *Store) DeleteImage(ctx context.Context, group, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM images WHERE group_name = ? AND name = ?"), group, name)
		if err != nil {
			return fmt.Errorf("remove image %q: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("image %q: %w", name, ErrNotFound)
		}
		if group == "" {
			return nil
		}
		_, err = tx.ExecContext(ctx, s.q("DELETE FROM owners WHERE kind = ? AND id = ?"), KindImage, group+"/"+name)
		return err
	})
}

// ListImages lists the standard images and those of groups (nil: of every
// group), by group ("" first) and name.
func (s *Store) ListImages(ctx context.Context, groups []string) ([]Image, error) {
	q := "SELECT " + imageColumns + " FROM images"
	var args []any
	if groups != nil {
		in := []string{"?"}
		args = append(args, "")
		for _, g := range groups {
			in = append(in, "?")
			args = append(args, g)
		}
		q += " WHERE group_name IN (" + strings.Join(in, ", ") + ")"
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+" ORDER BY group_name, name"), args...)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	defer rows.Close()
	var out []Image
	for rows.Next() {
		i, err := scanImage(rows)
		if err != nil {
			return nil, fmt.Errorf("list images: %w", err)
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// ImageCatalog is what a group's specs may name: the standard images with
// the group's own entries over them, by name.
func (s *Store) ImageCatalog(ctx context.Context, group string) (map[string]Image, error) {
	all, err := s.ListImages(ctx, []string{group})
	if err != nil {
		return nil, err
	}
	out := map[string]Image{}
	for _, i := range all { // standard ones come first
		out[i.Name] = i
	}
	return out, nil
}

// ImageRefs is ImageCatalog as names to image references, what the
// compiler takes (compiler.Options.Images).
func ImageRefs(cat map[string]Image) map[string]string {
	out := make(map[string]string, len(cat))
	for n, i := range cat {
		out[n] = i.Image
	}
	return out
}

// standardImages are the standard images a new store starts with (an
// operator removes or replaces them): the Jupyter project's notebook
// stacks, whose start-notebook.py serves JupyterLab, and the frameworks'
// own images. Tags are pinned.
const standardImages = `INSERT INTO images (group_name, name, image, framework, version, gpu, command, created_at) VALUES
	('', 'jupyter-scipy', 'quay.io/jupyter/scipy-notebook:2026-08-24', 'scipy', '2026-08-24', FALSE, '["start-notebook.py","--ServerApp.port=$(PORT)"]', 0),
	('', 'jupyter-pytorch', 'quay.io/jupyter/pytorch-notebook:2026-08-24', 'pytorch', '2026-08-24', FALSE, '["start-notebook.py","--ServerApp.port=$(PORT)"]', 0),
	('', 'jupyter-pytorch-gpu', 'quay.io/jupyter/pytorch-notebook:cuda12-2026-08-24', 'pytorch', '2026-08-24', TRUE, '["start-notebook.py","--ServerApp.port=$(PORT)"]', 0),
	('', 'jupyter-tensorflow', 'quay.io/jupyter/tensorflow-notebook:2026-08-24', 'tensorflow', '2026-08-24', FALSE, '["start-notebook.py","--ServerApp.port=$(PORT)"]', 0),
	('', 'jupyter-tensorflow-gpu', 'quay.io/jupyter/tensorflow-notebook:cuda-2026-08-24', 'tensorflow', '2026-08-24', TRUE, '["start-notebook.py","--ServerApp.port=$(PORT)"]', 0),
	('', 'pytorch', 'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime', 'pytorch', '2.5.1', TRUE, '', 0),
	('', 'tensorflow', 'tensorflow/tensorflow:2.18.0', 'tensorflow', '2.18.0', FALSE, '', 0),
	('', 'tensorflow-gpu', 'tensorflow/tensorflow:2.18.0-gpu', 'tensorflow', '2.18.0', TRUE, '', 0),
	('', 'python', 'python:3.12-slim', 'python', '3.12', FALSE, '', 0);`
