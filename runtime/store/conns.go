package store

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
)

// conns are the store's connections to its database: the writer, through
// which every statement goes, and — for a SQLite file in WAL mode — a pool
// of query-only connections for the reads a request makes before it is
// served: its caller's token, user and groups, and who holds the resource
// it acts on (UserByToken, GetUser, Holding, Owner).
//
// SQLite has one writer at a time, and the store keeps one write
// connection (SQLite serialises writers anyway; a second one would only
// wait on busy_timeout). Were those reads on it, each would wait for any
// write in progress: every request's token lookup behind the prediction
// recorder's batch transaction, or behind a run's state update. In WAL
// mode a reader never waits for the writer: it reads the last committed
// state, which includes every write that returned before the read began,
// in this process or in any other (kubeline's CLI, an outside sqlite3).
// So a revoked token, a changed role or a moved resource takes effect at
// the next read, as with one connection; nothing is cached.
//
// The other reads stay on the writer: some callers read what a write of
// theirs made in the background a moment before (a run's listing, a pool's
// usage sample after a run ended), and on the one connection such a read
// waits for the write in progress; on a reader it would not.
// PostgreSQL and ":memory:" (a database private to one connection) keep
// one pool.
type conns struct {
	*sql.DB         // the writer
	read    *sql.DB // nil: reads use the writer
}

// Readers is the size of a SQLite store's read pool.
var Readers = max(4, runtime.GOMAXPROCS(0))

// reads is where a request's identity and access reads go: the read pool
// when there is one. Its connections are query_only: a write sent there
// fails rather than going past the writer.
func (c *conns) reads() *sql.DB {
	if c.read != nil {
		return c.read
	}
	return c.DB
}

// Close closes the readers, then the writer: SQLite's last connection
// checkpoints the log and removes it.
func (c *conns) Close() error {
	var err error
	if c.read != nil {
		err = c.read.Close()
	}
	if werr := c.DB.Close(); werr != nil {
		return werr
	}
	return err
}

// openReaders adds the read pool to a SQLite store whose database is in
// WAL mode (its DSN's pragmas may have chosen another journal, in which a
// reader would wait for the writer anyway). extra are the DSN's own
// parameters ("&..."); a journal_mode pragma among them is the writer's
// business and left out.
func (s *Store) openReaders(ctx context.Context, extra string) error {
	var mode string
	if err := s.db.DB.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("open store: journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return nil
	}
	var keep []string
	for _, p := range strings.Split(extra, "&") {
		if p != "" && !strings.HasPrefix(strings.ToLower(p), "_pragma=journal_mode") {
			keep = append(keep, p)
		}
	}
	dsn := "file:" + s.path + "?_pragma=busy_timeout(10000)"
	if len(keep) > 0 {
		dsn += "&" + strings.Join(keep, "&")
	}
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		return fmt.Errorf("open store readers: %w", err)
	}
	read.SetMaxOpenConns(Readers)
	read.SetMaxIdleConns(Readers)
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		return fmt.Errorf("open store readers: %w", err)
	}
	s.db.read = read
	return nil
}
