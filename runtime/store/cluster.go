package store

import (
	"context"
	"fmt"
	"time"
)

// Cluster is a Kubernetes cluster (and namespace) runs can be sent to: how
// to reach it through a kubeconfig.
type Cluster struct {
	Name, Kubeconfig, Context, Namespace string
	CreatedAt                            time.Time
}

// AddCluster registers a cluster; a taken name is ErrConflict.
func (s *Store) AddCluster(ctx context.Context, c *Cluster) error {
	c.CreatedAt = now()
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO clusters (name, kubeconfig, context, namespace, created_at) VALUES (?, ?, ?, ?, ?)"),
		c.Name, c.Kubeconfig, c.Context, c.Namespace, ms(c.CreatedAt))
	return conflict(err, fmt.Sprintf("cluster %s", c.Name))
}

// GetCluster returns the cluster registered as name.
func (s *Store) GetCluster(ctx context.Context, name string) (Cluster, error) {
	c := Cluster{Name: name}
	var created int64
	err := s.db.QueryRowContext(ctx, s.q("SELECT kubeconfig, context, namespace, created_at FROM clusters WHERE name = ?"), name).
		Scan(&c.Kubeconfig, &c.Context, &c.Namespace, &created)
	c.CreatedAt = fromMS(created)
	return c, notFound(err, fmt.Sprintf("cluster %s", name))
}

// ListClusters returns the registered clusters by name.
func (s *Store) ListClusters(ctx context.Context) ([]Cluster, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name, kubeconfig, context, namespace, created_at FROM clusters ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	defer rows.Close()
	var out []Cluster
	for rows.Next() {
		var c Cluster
		var created int64
		if err := rows.Scan(&c.Name, &c.Kubeconfig, &c.Context, &c.Namespace, &created); err != nil {
			return nil, fmt.Errorf("list clusters: %w", err)
		}
		c.CreatedAt = fromMS(created)
		out = append(out, c)
	}
	return out, rows.Err()
}

// RemoveCluster forgets a cluster.
func (s *Store) RemoveCluster(ctx context.Context, name string) error {
	return s.execOne(ctx, fmt.Sprintf("cluster %s", name), "DELETE FROM clusters WHERE name = ?", name)
}
