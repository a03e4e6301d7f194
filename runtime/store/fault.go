package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// ErrUnavailable marks a store that cannot do its work now — its disk is
// full or read-only, the database is locked by another process, the
// database server is unreachable — but may later: the operation can be
// retried. Fault wraps such errors in it.
var ErrUnavailable = errors.New("store unavailable")

// SQLite's primary result codes that are storage faults, not mistakes.
var sqliteFaults = map[int]string{
	5:  "the database is locked by another process",          // SQLITE_BUSY
	6:  "a table is locked",                                  // SQLITE_LOCKED
	8:  "the database is read-only",                          // SQLITE_READONLY
	10: "the database's disk failed to read or write",        // SQLITE_IOERR
	13: "the database's disk is full",                        // SQLITE_FULL
	14: "the database file cannot be opened",                 // SQLITE_CANTOPEN
	15: "the database's lock protocol failed",                // SQLITE_PROTOCOL
	22: "the database's file system does not support a lock", // SQLITE_NOLFS
}

// Fault returns err wrapped in ErrUnavailable with its reason when it is a
// storage fault (see Unavailable), else err itself.
func Fault(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	if reason := faultReason(err); reason != "" {
		return &faultError{reason: reason, err: err}
	}
	return err
}

// Unavailable reports whether err is a storage fault: the operation may
// succeed when it is retried later.
func Unavailable(err error) bool {
	return errors.Is(err, ErrUnavailable) || faultReason(err) != ""
}

// FaultReason says in words what storage fault err is ("" when it is none).
func FaultReason(err error) string {
	var fe *faultError
	if errors.As(err, &fe) {
		return fe.reason
	}
	return faultReason(err)
}

type faultError struct {
	reason string
	err    error
}

func (e *faultError) Error() string { return fmt.Sprintf("%s: %v", e.reason, e.err) }
func (e *faultError) Unwrap() []error {
	return []error{ErrUnavailable, e.err}
}

func faultReason(err error) string {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return sqliteFaults[se.Code()&0xff]
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53100":
			return "the database server's disk is full"
		case pe.Code == "25006":
			return "the database is read-only"
		case len(pe.Code) == 5 && (pe.Code[:2] == "08" || pe.Code[:2] == "53" || pe.Code[:2] == "57" || pe.Code[:2] == "58"):
			return "the database server cannot serve now (" + pe.Code + ")"
		case pe.Code == "40001" || pe.Code == "40P01" || pe.Code == "55P03":
			return "the database refused a conflicting write (" + pe.Code + ")"
		}
		return ""
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ENOSPC, syscall.EDQUOT:
			return "the disk is full"
		case syscall.EROFS:
			return "the file system is read-only"
		case syscall.EIO:
			return "the disk failed to read or write"
		}
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, driver.ErrBadConn):
		return "the database server is unreachable"
	case errors.Is(err, context.DeadlineExceeded):
		return "the database did not answer in time"
	}
	return ""
}

// CheckWrite makes a write that changes nothing (the first migration's
// record rewritten as it is) and reports whether the store could make it:
// a full disk, a read-only file system, a lock held by another process or
// an unreachable server is an error Unavailable recognises.
func (s *Store) CheckWrite(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `UPDATE schema_migrations SET applied_at = applied_at WHERE version = 1`)
	if err != nil {
		return s.describe(fmt.Errorf("store write: %w", err))
	}
	return nil
}
