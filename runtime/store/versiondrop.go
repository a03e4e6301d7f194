package store

import (
	"context"
	"database/sql"
	"fmt"
)

// DropArtifactVersion undoes CreateArtifactVersion of version n of a
// dataset or model whose creation could not be completed (its index could
// not be written): the version goes, and when it was the resource's only
// one, so does the resource's holding (its name is free again). Links to
// it are not expected: it was never announced.
func (s *Store) DropArtifactVersion(ctx context.Context, kind, name string, n int) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM versions WHERE kind = ? AND name = ? AND version = ?"), kind, name, n); err != nil {
			return err
		}
		var left int
		if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM versions WHERE kind = ? AND name = ?"), kind, name).Scan(&left); err != nil {
			return err
		}
		if left > 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, s.q("DELETE FROM owners WHERE kind = ? AND id = ?"), kind, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("drop %s %s@v%d: %w", kind, name, n, err)
	}
	return nil
}
