package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Monitor is a stored Monitor: its spec (the document, as JSON), how far
// it has evaluated (Windows windows, up to prediction LastSeq) and its
// action's state (JSON). Group and Owner hold it (ownership.go).
type Monitor struct {
	Name, Deployment, Spec string
	CreatedAt              time.Time
	Windows                int
	LastSeq                int64
	Action                 string
	Group, Owner           string
}

// MonitorWindow is one evaluated window: its predictions (FirstSeq to
// LastSeq), the baseline it was compared with and the result (JSON).
type MonitorWindow struct {
	Monitor           string
	Index             int
	FirstSeq, LastSeq int64
	ClosedAt          time.Time
	Baseline, Result  string
}

// Alert is an alert a monitor raised in a window, and cleared in a later
// one (ClearedWindow 0 while active).
type Alert struct {
	ID, Monitor, Metric, Feature string
	RaisedWindow                 int
	RaisedAt                     time.Time
	Value, Limit                 float64
	ClearedWindow                int
	ClearedAt                    time.Time
	ClearedValue                 float64
}

// CreateMonitor stores a monitor held by its group and owner; a taken
// name is ErrConflict.
func (s *Store) CreateMonitor(ctx context.Context, m *Monitor) error {
	m.CreatedAt = now()
	if m.Action == "" {
		m.Action = "{}"
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO monitors (name, deployment, spec, created_at, windows, last_seq, action) VALUES (?, ?, ?, ?, 0, ?, ?)"),
			m.Name, m.Deployment, m.Spec, ms(m.CreatedAt), m.LastSeq, m.Action); err != nil {
			return conflict(err, fmt.Sprintf("monitor %s", m.Name))
		}
		held, err := s.own(ctx, tx, Ownership{Kind: KindMonitor, ID: m.Name, Group: m.Group, Owner: m.Owner})
		m.Group = held.Group
		return err
	})
}

const monitorSelect = `SELECT m.name, m.deployment, m.spec, m.created_at, m.windows, m.last_seq, m.action,
	COALESCE(o.group_name, ''), COALESCE(o.owner, '') FROM monitors m LEFT JOIN owners o ON o.kind = 'monitor' AND o.id = m.name `

func scanMonitor(row rowScanner) (Monitor, error) {
	var m Monitor
	var created int64
	err := row.Scan(&m.Name, &m.Deployment, &m.Spec, &created, &m.Windows, &m.LastSeq, &m.Action, &m.Group, &m.Owner)
	if m.Group == "" {
		m.Group = DefaultGroup
	}
	m.CreatedAt = fromMS(created)
	return m, err
}

// GetMonitor returns a monitor by name.
func (s *Store) GetMonitor(ctx context.Context, name string) (Monitor, error) {
	m, err := scanMonitor(s.db.QueryRowContext(ctx, s.q(monitorSelect+"WHERE m.name = ?"), name))
	return m, notFound(err, fmt.Sprintf("monitor %s", name))
}

// ListMonitors returns the monitors of groups (nil: all), or of one
// deployment when deployment is not empty, by name.
func (s *Store) ListMonitors(ctx context.Context, groups []string, deployment string) ([]Monitor, error) {
	q, args := monitorSelect+"WHERE 1 = 1", []any{}
	if groups != nil {
		in, gargs := groupsIn("o.group_name", groups)
		q += " AND " + in
		args = append(args, gargs...)
	}
	if deployment != "" {
		q += " AND m.deployment = ?"
		args = append(args, deployment)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+" ORDER BY m.name"), args...)
	if err != nil {
		return nil, fmt.Errorf("list monitors: %w", err)
	}
	defer rows.Close()
	var out []Monitor
	for rows.Next() {
		m, err := scanMonitor(rows)
		if err != nil {
			return nil, fmt.Errorf("list monitors: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// DeleteMonitor forgets a monitor, its windows and alerts, and releases
// its name.
func (s *Store) DeleteMonitor(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM monitors WHERE name = ?"), name)
		if err != nil {
			return fmt.Errorf("delete monitor %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("monitor %s: %w", name, ErrNotFound)
		}
		for _, q := range []string{"DELETE FROM monitor_windows WHERE monitor = ?", "DELETE FROM monitor_alerts WHERE monitor = ?",
			"DELETE FROM owners WHERE kind = 'monitor' AND id = ?"} {
			if _, err := tx.ExecContext(ctx, s.q(q), name); err != nil {
				return fmt.Errorf("delete monitor %s: %w", name, err)
			}
		}
		return nil
	})
}

// SaveWindow records a monitor's next window with the alerts it raised
// and cleared, in one transaction; the monitor must still be at the
// window before (another evaluator having saved it is ErrConflict).
func (s *Store) SaveWindow(ctx context.Context, w MonitorWindow, raised []Alert, cleared []Alert) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("UPDATE monitors SET windows = ?, last_seq = ? WHERE name = ? AND windows = ?"),
			w.Index, w.LastSeq, w.Monitor, w.Index-1)
		if err != nil {
			return fmt.Errorf("save window %d of monitor %s: %w", w.Index, w.Monitor, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("window %d of monitor %s: %w", w.Index, w.Monitor, ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO monitor_windows (monitor, idx, first_seq, last_seq, closed_at, baseline, result) VALUES (?, ?, ?, ?, ?, ?, ?)"),
			w.Monitor, w.Index, w.FirstSeq, w.LastSeq, ms(w.ClosedAt), w.Baseline, w.Result); err != nil {
			return conflict(err, fmt.Sprintf("window %d of monitor %s", w.Index, w.Monitor))
		}
		for _, a := range raised {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO monitor_alerts (id, monitor, metric, feature, raised_window, raised_at, value, limit_value)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), NewID(), w.Monitor, a.Metric, a.Feature, w.Index, ms(w.ClosedAt), a.Value, a.Limit); err != nil {
				return fmt.Errorf("raise alert %s %s: %w", a.Metric, a.Feature, err)
			}
		}
		for _, a := range cleared {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE monitor_alerts SET cleared_window = ?, cleared_at = ?, cleared_value = ?
				WHERE monitor = ? AND metric = ? AND feature = ? AND cleared_window = 0`), w.Index, ms(w.ClosedAt), a.ClearedValue,
				w.Monitor, a.Metric, a.Feature); err != nil {
				return fmt.Errorf("clear alert %s %s: %w", a.Metric, a.Feature, err)
			}
		}
		return nil
	})
}

// Windows returns a monitor's windows from index from on, at most limit,
// in order.
func (s *Store) Windows(ctx context.Context, monitor string, from, limit int) ([]MonitorWindow, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT monitor, idx, first_seq, last_seq, closed_at, baseline, result FROM monitor_windows
		WHERE monitor = ? AND idx >= ? ORDER BY idx LIMIT ?`), monitor, from, limit)
	if err != nil {
		return nil, fmt.Errorf("windows of monitor %s: %w", monitor, err)
	}
	defer rows.Close()
	var out []MonitorWindow
	for rows.Next() {
		var w MonitorWindow
		var closed int64
		if err := rows.Scan(&w.Monitor, &w.Index, &w.FirstSeq, &w.LastSeq, &closed, &w.Baseline, &w.Result); err != nil {
			return nil, fmt.Errorf("windows of monitor %s: %w", monitor, err)
		}
		w.ClosedAt = fromMS(closed)
		out = append(out, w)
	}
	return out, rows.Err()
}

// Alerts returns a monitor's alerts, raised and cleared, oldest first.
func (s *Store) Alerts(ctx context.Context, monitor string) ([]Alert, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, monitor, metric, feature, raised_window, raised_at, value, limit_value,
		cleared_window, cleared_at, cleared_value FROM monitor_alerts WHERE monitor = ? ORDER BY raised_window, metric, feature`), monitor)
	if err != nil {
		return nil, fmt.Errorf("alerts of monitor %s: %w", monitor, err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var a Alert
		var raised, cleared int64
		if err := rows.Scan(&a.ID, &a.Monitor, &a.Metric, &a.Feature, &a.RaisedWindow, &raised, &a.Value, &a.Limit,
			&a.ClearedWindow, &cleared, &a.ClearedValue); err != nil {
			return nil, fmt.Errorf("alerts of monitor %s: %w", monitor, err)
		}
		a.RaisedAt = fromMS(raised)
		if cleared != 0 {
			a.ClearedAt = fromMS(cleared)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetMonitorAction records the state of a monitor's action (JSON).
func (s *Store) SetMonitorAction(ctx context.Context, name, action string) error {
	return s.execOne(ctx, fmt.Sprintf("monitor %s", name), "UPDATE monitors SET action = ? WHERE name = ?", action, name)
}

// ClusterDeployment is a deployment on a registered cluster: a KServe
// InferenceService kubeline applied there, or one running there that was
// imported for monitoring. Group and Owner hold its name (ownership.go,
// kind deployment).
type ClusterDeployment struct {
	Name, Cluster, Namespace, InferenceService, Model string
	Imported                                          bool
	CreatedAt                                         time.Time
	Group, Owner                                      string
}

// PutClusterDeployment records (or replaces) a cluster deployment and
// claims its name for its group.
func (s *Store) PutClusterDeployment(ctx context.Context, d *ClusterDeployment) error {
	d.CreatedAt = now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		held, err := s.own(ctx, tx, Ownership{Kind: KindDeployment, ID: d.Name, Group: d.Group, Owner: d.Owner})
		if err != nil {
			return err
		}
		d.Group = held.Group
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM cluster_deployments WHERE name = ?"), d.Name); err != nil {
			return fmt.Errorf("deployment %s: %w", d.Name, err)
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO cluster_deployments (name, cluster, namespace, inference_service, model, imported, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), d.Name, d.Cluster, d.Namespace, d.InferenceService, d.Model, d.Imported, ms(d.CreatedAt))
		return conflict(err, fmt.Sprintf("deployment %s", d.Name))
	})
}

// ClusterDeployments returns the cluster deployments by name.
func (s *Store) ClusterDeployments(ctx context.Context) ([]ClusterDeployment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT d.name, d.cluster, d.namespace, d.inference_service, d.model, d.imported, d.created_at,
		COALESCE(o.group_name, ''), COALESCE(o.owner, '') FROM cluster_deployments d
		LEFT JOIN owners o ON o.kind = 'deployment' AND o.id = d.name ORDER BY d.name`)
	if err != nil {
		return nil, fmt.Errorf("list cluster deployments: %w", err)
	}
	defer rows.Close()
	var out []ClusterDeployment
	for rows.Next() {
		var d ClusterDeployment
		var created int64
		if err := rows.Scan(&d.Name, &d.Cluster, &d.Namespace, &d.InferenceService, &d.Model, &d.Imported, &created, &d.Group, &d.Owner); err != nil {
			return nil, fmt.Errorf("list cluster deployments: %w", err)
		}
		if d.Group == "" {
			d.Group = DefaultGroup
		}
		d.CreatedAt = fromMS(created)
		out = append(out, d)
	}
	return out, rows.Err()
}

// RemoveClusterDeployment forgets a cluster deployment and releases its
// name.
func (s *Store) RemoveClusterDeployment(ctx context.Context, name string) error {
	if err := s.execOne(ctx, fmt.Sprintf("deployment %s", name), "DELETE FROM cluster_deployments WHERE name = ?", name); err != nil {
		return err
	}
	return s.Disown(ctx, KindDeployment, name)
}

// GetClusterDeployment returns a cluster deployment by name.
func (s *Store) GetClusterDeployment(ctx context.Context, name string) (ClusterDeployment, error) {
	ds, err := s.ClusterDeployments(ctx)
	if err != nil {
		return ClusterDeployment{}, err
	}
	for _, d := range ds {
		if d.Name == name {
			return d, nil
		}
	}
	return ClusterDeployment{}, fmt.Errorf("deployment %s: %w", name, ErrNotFound)
}
