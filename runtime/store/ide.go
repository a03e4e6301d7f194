package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// IDE is a notebook session: a long-running step admitted on its group's
// GPU pool like a run, with the versions it mounted and where it listens.
// Its name is held by its group (ownership.go, kind "ide").
type IDE struct {
	Name, Group, Owner string
	// Image is what was asked (a catalog name or a reference), ImageRef
	// the reference it ran.
	Image, ImageRef string
	Command         []string
	GPUs            int64
	// Code and Datasets are the versions mounted, as NAME@vN.
	Code     string
	Datasets []string
	Project  string
	// Status is DKube's (Queued, Starting, Running, Stopping, Stopped,
	// Error); History every status it took, in order.
	Status, Message string
	History         []StatusChange
	// URL answers once Running; Token is the notebook's (its owner's to
	// know).
	URL, Token string
	// Workflow is the engine's name of its workflow; Spec the compiled
	// workflow (JSON).
	Workflow, Spec        string
	CreatedAt, FinishedAt time.Time
}

// StatusChange is one status an IDE took and when.
type StatusChange struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// KindIDE is an IDE in the ownership table (by name).
const KindIDE = "ide"

// IDEAdmission is the key of an IDE's admission record (run_admission
// holds runs by id and IDEs by this key).
func IDEAdmission(name string) string { return "ide/" + name }

const ideColumns = "name, group_name, owner, image, image_ref, command, gpus, code, datasets, project, status, message, history, url, token, workflow, spec, created_at, finished_at"

func scanIDE(row rowScanner) (IDE, error) {
	var i IDE
	var cmd, datasets, history string
	var created, finished int64
	err := row.Scan(&i.Name, &i.Group, &i.Owner, &i.Image, &i.ImageRef, &cmd, &i.GPUs, &i.Code, &datasets, &i.Project,
		&i.Status, &i.Message, &history, &i.URL, &i.Token, &i.Workflow, &i.Spec, &created, &finished)
	if err != nil {
		return i, err
	}
	i.CreatedAt, i.FinishedAt = fromMS(created), fromMS(finished)
	err = errors.Join(json.Unmarshal([]byte(cmd), &i.Command), json.Unmarshal([]byte(datasets), &i.Datasets),
		json.Unmarshal([]byte(history), &i.History))
	return i, err
}

// FinalIDEStatus reports whether an IDE with this status has ended.
func FinalIDEStatus(status string) bool { return status == StatusStopped || status == StatusError }

// CreateIDE stores a new IDE, Queued, held by its group for its owner. An
// IDE of that name that has ended is replaced; one that has not is
// ErrConflict, and so is a name another group holds (ErrTaken).
func (s *Store) CreateIDE(ctx context.Context, i *IDE) error {
	i.CreatedAt, i.FinishedAt, i.Status = now(), time.Time{}, StatusQueued
	i.History = []StatusChange{{Status: StatusQueued, At: i.CreatedAt}}
	if i.Group == "" {
		i.Group = DefaultGroup
	}
	cmd, _ := json.Marshal(nonNilStrings(i.Command))
	datasets, _ := json.Marshal(nonNilStrings(i.Datasets))
	history, _ := json.Marshal(i.History)
	return s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanIDE(tx.QueryRowContext(ctx, s.q("SELECT "+ideColumns+" FROM ides WHERE name = ?"), i.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("start IDE %s: %w", i.Name, err)
		case old.Group != i.Group:
			return fmt.Errorf("IDE %q: %w", i.Name, ErrTaken)
		case !FinalIDEStatus(old.Status):
			return fmt.Errorf("IDE %s is %s: stop it first: %w", i.Name, old.Status, ErrConflict)
		default:
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM ides WHERE name = ?"), i.Name); err != nil {
				return fmt.Errorf("replace IDE %s: %w", i.Name, err)
			}
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM owners WHERE kind = ? AND id = ?"), KindIDE, i.Name); err != nil {
				return fmt.Errorf("replace IDE %s: %w", i.Name, err)
			}
		}
		_, err = tx.ExecContext(ctx, s.q("INSERT INTO ides ("+ideColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
			i.Name, i.Group, i.Owner, i.Image, i.ImageRef, string(cmd), i.GPUs, i.Code, string(datasets), i.Project,
			i.Status, i.Message, string(history), i.URL, i.Token, i.Workflow, i.Spec, ms(i.CreatedAt), 0)
		if err != nil {
			return conflict(err, fmt.Sprintf("IDE %q", i.Name))
		}
		_, err = s.own(ctx, tx, Ownership{Kind: KindIDE, ID: i.Name, Group: i.Group, Owner: i.Owner})
		return err
	})
}

func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// GetIDE returns an IDE by name.
func (s *Store) GetIDE(ctx context.Context, name string) (IDE, error) {
	i, err := scanIDE(s.db.QueryRowContext(ctx, s.q("SELECT "+ideColumns+" FROM ides WHERE name = ?"), name))
	return i, notFound(err, fmt.Sprintf("IDE %q", name))
}

// ListIDEs lists the IDEs of groups (nil: of every group) by name.
func (s *Store) ListIDEs(ctx context.Context, groups []string) ([]IDE, error) {
	q := "SELECT " + ideColumns + " FROM ides"
	var args []any
	if groups != nil {
		in, gargs := groupsIn("group_name", groups)
		q += " WHERE " + in
		args = gargs
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+" ORDER BY name"), args...)
	if err != nil {
		return nil, fmt.Errorf("list IDEs: %w", err)
	}
	defer rows.Close()
	var out []IDE
	for rows.Next() {
		i, err := scanIDE(rows)
		if err != nil {
			return nil, fmt.Errorf("list IDEs: %w", err)
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// SetIDEStatus records an IDE's new status (appended to its history when
// it changes) and message, and mirrors it in its admission record. A final
// status records when it ended; once ended an IDE's status stays.
func (s *Store) SetIDEStatus(ctx context.Context, name, status, message string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		i, err := scanIDE(tx.QueryRowContext(ctx, s.q("SELECT "+ideColumns+" FROM ides WHERE name = ?"), name))
		if err != nil {
			return notFound(err, fmt.Sprintf("IDE %q", name))
		}
		if FinalIDEStatus(i.Status) {
			return nil
		}
		at := now()
		if i.Status != status {
			i.History = append(i.History, StatusChange{Status: status, At: at})
		}
		finished := int64(0)
		if FinalIDEStatus(status) {
			finished = ms(at)
		}
		if message == "" {
			message = i.Message
		}
		history, _ := json.Marshal(i.History)
		if _, err := tx.ExecContext(ctx, s.q("UPDATE ides SET status = ?, message = ?, history = ?, finished_at = ? WHERE name = ?"),
			status, message, string(history), finished, name); err != nil {
			return fmt.Errorf("IDE %s: record status %s: %w", name, status, err)
		}
		_, err = tx.ExecContext(ctx, s.q("UPDATE run_admission SET status = ?, reason = CASE WHEN ? = 'Queued' THEN reason ELSE '' END, updated_at = ? WHERE run_id = ?"),
			status, status, ms(at), IDEAdmission(name))
		return err
	})
}

// SetIDEStarted records the workflow an admitted IDE runs as, and the URL it
// will answer at.
func (s *Store) SetIDEStarted(ctx context.Context, name, workflow, url string) error {
	return s.execOne(ctx, "IDE "+name, "UPDATE ides SET workflow = ?, url = ? WHERE name = ?", workflow, url, name)
}

// DeleteIDE forgets an IDE that has ended, and its holding and admission.
func (s *Store) DeleteIDE(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			query string
			arg   []any
		}{
			{"DELETE FROM ides WHERE name = ?", []any{name}},
			{"DELETE FROM owners WHERE kind = ? AND id = ?", []any{KindIDE, name}},
			{"DELETE FROM run_admission WHERE run_id = ?", []any{IDEAdmission(name)}},
		} {
			if _, err := tx.ExecContext(ctx, s.q(q.query), q.arg...); err != nil {
				return fmt.Errorf("delete IDE %s: %w", name, err)
			}
		}
		return nil
	})
}
