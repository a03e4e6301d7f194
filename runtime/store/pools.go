package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// GPUPool is an operator-made pool: GPUs of one type on named nodes. The
// default pool is not stored: it is whatever the stored pools leave.
type GPUPool struct {
	Name, GPUType string
	Nodes         []PoolNode
	CreatedAt     time.Time
}

// PoolNode is how many GPUs of a node a pool holds.
type PoolNode struct {
	Name string `json:"name"`
	GPUs int64  `json:"gpus"`
}

func scanPool(row rowScanner) (GPUPool, error) {
	var p GPUPool
	var nodes string
	var created int64
	err := row.Scan(&p.Name, &p.GPUType, &nodes, &created)
	if err == nil {
		err = json.Unmarshal([]byte(nodes), &p.Nodes)
	}
	p.CreatedAt = fromMS(created)
	return p, err
}

// CreatePool stores p; a taken name is ErrConflict.
func (s *Store) CreatePool(ctx context.Context, p *GPUPool) error {
	p.CreatedAt = now()
	nodes, _ := json.Marshal(p.Nodes)
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO gpu_pools (id, gpu_type, nodes, created_at) VALUES (?, ?, ?, ?)"),
		p.Name, p.GPUType, string(nodes), ms(p.CreatedAt))
	return conflict(err, fmt.Sprintf("pool %q", p.Name))
}

// ListPools returns every stored pool, by name: pools are few, and
// validating one needs all.
func (s *Store) ListPools(ctx context.Context) ([]GPUPool, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, gpu_type, nodes, created_at FROM gpu_pools ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	defer rows.Close()
	var out []GPUPool
	for rows.Next() {
		p, err := scanPool(rows)
		if err != nil {
			return nil, fmt.Errorf("list pools: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// UpdatePool replaces a pool's GPU type and nodes.
func (s *Store) UpdatePool(ctx context.Context, p GPUPool) error {
	nodes, _ := json.Marshal(p.Nodes)
	return s.execOne(ctx, fmt.Sprintf("pool %q", p.Name), "UPDATE gpu_pools SET gpu_type = ?, nodes = ? WHERE id = ?", p.GPUType, string(nodes), p.Name)
}

// DeletePool deletes a stored pool: its GPUs return to the default pool.
func (s *Store) DeletePool(ctx context.Context, name string) error {
	return s.execOne(ctx, fmt.Sprintf("pool %q", name), "DELETE FROM gpu_pools WHERE id = ?", name)
}
