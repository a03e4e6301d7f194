package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Run statuses (DKube's): a run waits Queued for GPUs, is Starting once
// admitted, Running, and ends Complete, Stopped or Error; Stopping while a
// stop is under way.
const (
	StatusQueued   = "Queued"
	StatusStarting = "Starting"
	StatusRunning  = "Running"
	StatusComplete = "Complete"
	StatusStopping = "Stopping"
	StatusStopped  = "Stopped"
	StatusError    = "Error"
)

// RunAdmission is a run's place in admission: its status, group, peak GPU
// demand, why it waits, and once admitted the GPUs it holds per node.
type RunAdmission struct {
	RunID, Status, Reason, Group string
	// Kind is what waits: KindRun, or KindIDE (RunID is then
	// IDEAdmission(name)).
	Kind               string
	GPUs, LargestStep  int64
	Resource           string
	Dynamic, MultiNode bool
	StartAnyway        bool
	Enqueued           time.Time
	Pool               string
	Nodes              map[string]int64
	UpdatedAt          time.Time
}

const admissionColumns = "run_id, status, reason, group_name, gpus, largest_step, resource, dynamic, multi_node, start_anyway, enqueued_at, pool, nodes, updated_at, kind"

// KindRun is a run's admission record (RunAdmission.Kind).
const KindRun = "run"

func scanAdmission(row rowScanner) (RunAdmission, error) {
	var a RunAdmission
	var nodes string
	var enq, upd int64
	err := row.Scan(&a.RunID, &a.Status, &a.Reason, &a.Group, &a.GPUs, &a.LargestStep, &a.Resource, &a.Dynamic,
		&a.MultiNode, &a.StartAnyway, &enq, &a.Pool, &nodes, &upd, &a.Kind)
	if err == nil {
		err = json.Unmarshal([]byte(nodes), &a.Nodes)
	}
	a.Enqueued, a.UpdatedAt = fromMS(enq), fromMS(upd)
	return a, err
}

// PutAdmission stores a run's admission record, replacing an earlier one
// (a retried run queues again).
func (s *Store) PutAdmission(ctx context.Context, a *RunAdmission) error {
	a.UpdatedAt = now()
	if a.Enqueued.IsZero() {
		a.Enqueued = a.UpdatedAt
	}
	if a.Nodes == nil {
		a.Nodes = map[string]int64{}
	}
	if a.Kind == "" {
		a.Kind = KindRun
	}
	nodes, _ := json.Marshal(a.Nodes)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM run_admission WHERE run_id = ?"), a.RunID); err != nil {
			return fmt.Errorf("queue run %s: %w", a.RunID, err)
		}
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO run_admission ("+admissionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
			a.RunID, a.Status, a.Reason, a.Group, a.GPUs, a.LargestStep, a.Resource, a.Dynamic, a.MultiNode, a.StartAnyway,
			ms(a.Enqueued), a.Pool, string(nodes), ms(a.UpdatedAt), a.Kind)
		if err != nil {
			return fmt.Errorf("queue run %s: %w", a.RunID, err)
		}
		return nil
	})
}

// GetAdmission returns a run's admission record.
func (s *Store) GetAdmission(ctx context.Context, runID string) (RunAdmission, error) {
	a, err := scanAdmission(s.db.QueryRowContext(ctx, s.q("SELECT "+admissionColumns+" FROM run_admission WHERE run_id = ?"), runID))
	return a, notFound(err, fmt.Sprintf("admission of run %s", runID))
}

// ActiveAdmissions returns the runs that wait or hold GPUs (Queued,
// Starting, Running, Stopping), oldest first: the admission snapshot.
func (s *Store) ActiveAdmissions(ctx context.Context) ([]RunAdmission, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+admissionColumns+" FROM run_admission WHERE status IN (?, ?, ?, ?) ORDER BY enqueued_at, run_id"),
		StatusQueued, StatusStarting, StatusRunning, StatusStopping)
	if err != nil {
		return nil, fmt.Errorf("admission snapshot: %w", err)
	}
	defer rows.Close()
	var out []RunAdmission
	for rows.Next() {
		a, err := scanAdmission(rows)
		if err != nil {
			return nil, fmt.Errorf("admission snapshot: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetRunStatus records a run's status; once the run leaves Queued its wait
// reason is cleared.
func (s *Store) SetRunStatus(ctx context.Context, runID, status string) error {
	return s.execOne(ctx, "admission of run "+runID, "UPDATE run_admission SET status = ?, reason = CASE WHEN ? = 'Queued' THEN reason ELSE '' END, updated_at = ? WHERE run_id = ?",
		status, status, ms(now()), runID)
}

// SetStartAnyway marks a run to start without waiting for GPUs.
func (s *Store) SetStartAnyway(ctx context.Context, runID string) error {
	return s.execOne(ctx, "admission of run "+runID, "UPDATE run_admission SET start_anyway = ?, updated_at = ? WHERE run_id = ?", true, ms(now()), runID)
}

// AdmitRun moves a Queued run to Starting, holding nodes of pool. It is
// ErrConflict when the run is no longer Queued (it was stopped meanwhile).
func (s *Store) AdmitRun(ctx context.Context, runID, pool string, nodes map[string]int64) error {
	b, _ := json.Marshal(nodes)
	res, err := s.db.ExecContext(ctx, s.q("UPDATE run_admission SET status = ?, reason = '', pool = ?, nodes = ?, updated_at = ? WHERE run_id = ? AND status = ?"),
		StatusStarting, pool, string(b), ms(now()), runID, StatusQueued)
	if err != nil {
		return fmt.Errorf("admit run %s: %w", runID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("admit run %s: it is no longer queued: %w", runID, ErrConflict)
	}
	return nil
}

// SetWaitReasons records why queued runs wait, in one transaction.
func (s *Store) SetWaitReasons(ctx context.Context, reasons map[string]string) error {
	if len(reasons) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for run, reason := range reasons {
			if _, err := tx.ExecContext(ctx, s.q("UPDATE run_admission SET reason = ? WHERE run_id = ? AND status = ? AND reason <> ?"),
				reason, run, StatusQueued, reason); err != nil {
				return fmt.Errorf("record why run %s waits: %w", run, err)
			}
		}
		return nil
	})
}

// SetOwner records who created a resource (kind: pipeline, version,
// experiment, run, recurring_run, ...).
func (s *Store) SetOwner(ctx context.Context, kind, id, owner string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM owners WHERE kind = ? AND id = ?"), kind, id); err != nil {
			return fmt.Errorf("record owner of %s %s: %w", kind, id, err)
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO owners (kind, id, owner) VALUES (?, ?, ?)"), kind, id, owner); err != nil {
			return fmt.Errorf("record owner of %s %s: %w", kind, id, err)
		}
		return nil
	})
}

// Owner returns who created a resource, "" when nobody is recorded (it was
// made by a single-user server).
func (s *Store) Owner(ctx context.Context, kind, id string) (string, error) {
	var o string
	err := s.db.reads().QueryRowContext(ctx, s.q("SELECT owner FROM owners WHERE kind = ? AND id = ?"), kind, id).Scan(&o)
	if err == sql.ErrNoRows {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("owner of %s %s: %w", kind, id, err)
	}
	return o, nil
}

// Owners maps the ids of one kind to their owners, in one query.
func (s *Store) Owners(ctx context.Context, kind string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	args := []any{kind}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT id, owner FROM owners WHERE kind = ? AND id IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+")"), args...)
	if err != nil {
		return nil, fmt.Errorf("owners of %ss: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, o string
		if err := rows.Scan(&id, &o); err != nil {
			return nil, fmt.Errorf("owners of %ss: %w", kind, err)
		}
		out[id] = o
	}
	return out, rows.Err()
}
