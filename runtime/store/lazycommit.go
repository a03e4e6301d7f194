package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
)

// lazyTx runs f in a transaction whose commit does not wait for the disk:
// the prediction recorder's batches (AddPredictions). Each commit of the
// SQLite writer in WAL mode with synchronous=FULL (SQLite's default) ends
// with an fsync of the log, which took milliseconds on a loaded disk; the
// recorder's goroutine held one of the process's processors meanwhile (Go
// hands a processor blocked in a system call to another thread only when
// its monitor notices, up to 10 ms later), and on a 2-core machine the
// inference requests in flight waited for it: the tail that
// BenchmarkRecordingOverhead measured.
//
// On SQLite in WAL mode the writer commits the batch with
// synchronous=NORMAL and goes back to what it had (FULL) at once, on the
// same connection, so no other write loses its fsync. What a crash may
// lose: a killed process nothing (the committed log is in the OS's
// cache); a power loss or an OS crash the batches committed since the log
// was last synced (by any other write's commit, or a checkpoint) — whole
// batches: SQLite's recovery drops a transaction whose log frames are
// incomplete, never part of one. A database in another journal mode
// (a DSN pragma) keeps its commits as they are. On PostgreSQL the same is
// synchronous_commit off for the transaction: a server crash may lose the
// last batches, whole.
func (s *Store) lazyTx(ctx context.Context, f func(*sql.Tx) error) error {
	if s.postgres {
		return s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit TO OFF"); err != nil {
				return fmt.Errorf("commit without waiting for the disk: %w", err)
			}
			return f(tx)
		})
	}
	if s.db.read == nil { // not WAL (or ":memory:")
		return s.tx(ctx, f)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var mode int
	if err := conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&mode); err != nil {
		return fmt.Errorf("read the writer's synchronous mode: %w", err)
	}
	if mode > 1 {
		if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
			return fmt.Errorf("commit without waiting for the disk: %w", err)
		}
		defer func() {
			if _, err := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA synchronous = %d", mode)); err != nil {
				// The connection must not go on without its fsyncs:
				// database/sql closes a connection that says it is bad.
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	return inTx(ctx, conn.BeginTx, f)
}
