package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Ownership is the group a kubeline resource belongs to and the user who
// owns it. Members of the group see the resource; only its owner (or an
// operator) manages it; outside the group it does not exist.
//
// KFP's resources keep their group in their namespace column (pipelines,
// experiments, runs, recurring runs) and projects in theirs; every other
// kind kubeline adds — datasets and models (by name), deployments, clusters
// — is held here, by Own. Later kinds do the same: Own at create,
// Disown at delete, and filter lists with Held.
type Ownership struct {
	Kind, ID, Group, Owner string
}

// ErrTaken is Own of a resource another group holds (it is an
// ErrConflict too).
var ErrTaken = fmt.Errorf("the name is taken by another group: %w", ErrConflict)

// Kinds held in the ownership table.
const (
	KindDataset    = "dataset"
	KindModel      = "model"
	KindCode       = "code"
	KindFeatureSet = "featureset"
	KindDeployment = "deployment"
	KindCluster    = "cluster"
	KindMonitor    = "monitor"
)

// VersionedKinds are the kinds whose versions the versions table holds
// (artifactversion.go): datasets, models, code and featuresets.
var VersionedKinds = []string{KindDataset, KindModel, KindCode, KindFeatureSet}

// Own records o — the resource kind/ID in o.Group ("" is the default
// group), owned by o.Owner — unless it is already held. It returns the
// holding that stands: o when new or already held by the same group (the
// first owner stays). A resource held by another group is ErrConflict and
// changes nothing.
func (s *Store) Own(ctx context.Context, o Ownership) (Ownership, error) {
	var got Ownership
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		got, err = s.own(ctx, tx, o)
		return err
	})
	return got, err
}

// own is Own inside tx.
func (s *Store) own(ctx context.Context, tx *sql.Tx, o Ownership) (Ownership, error) {
	if o.Group == "" {
		o.Group = DefaultGroup
	}
	held, err := scanOwnership(tx.QueryRowContext(ctx, s.q("SELECT kind, id, group_name, owner FROM owners WHERE kind = ? AND id = ?"), o.Kind, o.ID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO owners (kind, id, owner, group_name) VALUES (?, ?, ?, ?)"), o.Kind, o.ID, o.Owner, o.Group); err != nil {
			return o, conflict(err, fmt.Sprintf("own %s %q", o.Kind, o.ID))
		}
		return o, nil
	case err != nil:
		return o, fmt.Errorf("own %s %q: %w", o.Kind, o.ID, err)
	case held.Group != o.Group:
		return held, fmt.Errorf("%s %q: %w", o.Kind, o.ID, ErrTaken)
	}
	return held, nil
}

func scanOwnership(row rowScanner) (Ownership, error) {
	var o Ownership
	err := row.Scan(&o.Kind, &o.ID, &o.Group, &o.Owner)
	if err == nil && o.Group == "" {
		o.Group = DefaultGroup
	}
	return o, err
}

// Holding returns who holds a resource; ErrNotFound when nobody does.
func (s *Store) Holding(ctx context.Context, kind, id string) (Ownership, error) {
	o, err := scanOwnership(s.db.reads().QueryRowContext(ctx, s.q("SELECT kind, id, group_name, owner FROM owners WHERE kind = ? AND id = ?"), kind, id))
	return o, notFound(err, fmt.Sprintf("%s %s", kind, id))
}

// Disown forgets who holds a resource (it was deleted): its name is free.
func (s *Store) Disown(ctx context.Context, kind, id string) error {
	if _, err := s.db.ExecContext(ctx, s.q("DELETE FROM owners WHERE kind = ? AND id = ?"), kind, id); err != nil {
		return fmt.Errorf("disown %s %s: %w", kind, id, err)
	}
	return nil
}

// Held returns the holdings of one kind by id, of the given groups (nil:
// every group), in one query.
func (s *Store) Held(ctx context.Context, kind string, groups []string) (map[string]Ownership, error) {
	q := "SELECT kind, id, group_name, owner FROM owners WHERE kind = ?"
	args := []any{kind}
	if groups != nil {
		in, gargs := groupsIn("group_name", groups)
		q += " AND " + in
		args = append(args, gargs...)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("holdings of %ss: %w", kind, err)
	}
	defer rows.Close()
	out := map[string]Ownership{}
	for rows.Next() {
		o, err := scanOwnership(rows)
		if err != nil {
			return nil, fmt.Errorf("holdings of %ss: %w", kind, err)
		}
		out[o.ID] = o
	}
	return out, rows.Err()
}

// groupsIn is "col IN (?, ...)" over groups; the default group also
// matches "" (what single-user servers wrote). No groups match nothing.
func groupsIn(col string, groups []string) (string, []any) {
	var args []any
	for _, g := range groups {
		args = append(args, g)
		if g == DefaultGroup {
			args = append(args, "")
		}
	}
	if len(args) == 0 {
		return "1 = 0", nil
	}
	return col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ") + ")", args
}

// GroupHoldings counts what a group owns, by kind (pipelines, experiments,
// runs, recurring runs, projects, and every held kind); kinds it owns none
// of are left out.
func (s *Store) GroupHoldings(ctx context.Context, group string) (map[string]int, error) {
	out := map[string]int{}
	counts := []struct{ kind, query string }{
		{"pipelines", "SELECT COUNT(*) FROM pipelines WHERE namespace = ?"},
		{"experiments", "SELECT COUNT(*) FROM experiments e WHERE namespace = ? AND NOT EXISTS (SELECT 1 FROM projects p WHERE p.experiment_id = e.id)"},
		{"runs", "SELECT COUNT(*) FROM runs WHERE namespace = ?"},
		{"recurring runs", "SELECT COUNT(*) FROM recurring_runs WHERE namespace = ?"},
		{"projects", "SELECT COUNT(*) FROM projects WHERE group_name = ?"},
	}
	for _, c := range counts {
		var n int
		if err := s.db.QueryRowContext(ctx, s.q(c.query), group).Scan(&n); err != nil {
			return nil, fmt.Errorf("what group %q owns: %w", group, err)
		}
		if n > 0 {
			out[c.kind] = n
		}
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT kind, COUNT(*) FROM owners WHERE group_name = ? GROUP BY kind"), group)
	if err != nil {
		return nil, fmt.Errorf("what group %q owns: %w", group, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			return nil, fmt.Errorf("what group %q owns: %w", group, err)
		}
		out[kind+"s"] = n
	}
	return out, rows.Err()
}
