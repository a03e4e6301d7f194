package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Cluster is a Kubernetes cluster (and namespace) runs can be sent to: how
// to reach it through a kubeconfig.
type Cluster struct {
	Name, Kubeconfig, Context, Namespace string
	CreatedAt                            time.Time
	// Group and Owner hold the cluster (ownership.go); "" is the default
	// group.
	Group, Owner string
}

// AddCluster registers a cluster held by its group and owner; a taken name
// is ErrConflict.
func (s *Store) AddCluster(ctx context.Context, c *Cluster) error {
	c.CreatedAt = now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO clusters (name, kubeconfig, context, namespace, created_at) VALUES (?, ?, ?, ?, ?)"),
			c.Name, c.Kubeconfig, c.Context, c.Namespace, ms(c.CreatedAt))
		if err != nil {
			return conflict(err, fmt.Sprintf("cluster %s", c.Name))
		}
		held, err := s.own(ctx, tx, Ownership{Kind: KindCluster, ID: c.Name, Group: c.Group, Owner: c.Owner})
		c.Group = held.Group
		return err
	})
}

// GetCluster returns the cluster registered as name.
func (s *Store) GetCluster(ctx context.Context, name string) (Cluster, error) {
	c, err := scanCluster(s.db.QueryRowContext(ctx, s.q(clusterSelect+"WHERE c.name = ?"), name))
	return c, notFound(err, fmt.Sprintf("cluster %s", name))
}

const clusterSelect = `SELECT c.name, c.kubeconfig, c.context, c.namespace, c.created_at, COALESCE(o.group_name, ''), COALESCE(o.owner, '')
	FROM clusters c LEFT JOIN owners o ON o.kind = 'cluster' AND o.id = c.name `

func scanCluster(row rowScanner) (Cluster, error) {
	var c Cluster
	var created int64
	err := row.Scan(&c.Name, &c.Kubeconfig, &c.Context, &c.Namespace, &created, &c.Group, &c.Owner)
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	c.CreatedAt = fromMS(created)
	return c, err
}

// ListClusters returns the registered clusters by name.
func (s *Store) ListClusters(ctx context.Context) ([]Cluster, error) {
	rows, err := s.db.QueryContext(ctx, clusterSelect+"ORDER BY c.name")
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	defer rows.Close()
	var out []Cluster
	for rows.Next() {
		c, err := scanCluster(rows)
		if err != nil {
			return nil, fmt.Errorf("list clusters: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RemoveCluster forgets a cluster and releases its name.
func (s *Store) RemoveCluster(ctx context.Context, name string) error {
	if err := s.execOne(ctx, fmt.Sprintf("cluster %s", name), "DELETE FROM clusters WHERE name = ?", name); err != nil {
		return err
	}
	return s.Disown(ctx, KindCluster, name)
}
