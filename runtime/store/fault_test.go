package store

import (
	"context"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// TestFaultsSQLite: a SQLite store takes CheckWrite's write; one whose
// file cannot be opened says why and is a storage fault; a page token
// whose sort value is not one is ErrInvalid.
func TestFaultsSQLite(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CheckWrite(ctx); err != nil {
		t.Fatalf("CheckWrite: %v", err)
	}
	_, err = Open(ctx, filepath.Join(t.TempDir(), "missing", "k.db"))
	if !Unavailable(err) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a store in a missing directory: %v, want a storage fault saying the directory does not exist", err)
	}
}

// TestFaultsPostgres: on a real PostgreSQL server, CheckWrite works, a
// database made read-only is a storage fault naming it (SQLSTATE 25006),
// and a server that does not answer is one too.
func TestFaultsPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := startPostgres(t)
	admin, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.db.Exec("CREATE DATABASE faults"); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dsn)
	u.Path = "/faults"
	s, err := Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CheckWrite(ctx); err != nil {
		t.Fatalf("CheckWrite: %v", err)
	}
	if _, err := admin.db.Exec("ALTER DATABASE faults SET default_transaction_read_only = on"); err != nil {
		t.Fatal(err)
	}
	s.db.SetMaxIdleConns(0) // new connections take the database's new default
	s.db.SetMaxIdleConns(2)
	err = s.CheckWrite(ctx)
	if !Unavailable(err) || FaultReason(err) != "the database is read-only" {
		t.Errorf("CheckWrite on a read-only database: %v (%q), want the fault \"the database is read-only\"", err, FaultReason(err))
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().String()
	l.Close()
	_, err = Open(ctx, "postgres://postgres@"+port+"/x?sslmode=disable&connect_timeout=2")
	if !Unavailable(err) || FaultReason(err) != "the database server is unreachable" {
		t.Errorf("a server that does not answer: %v (%q), want the fault \"the database server is unreachable\"", err, FaultReason(err))
	}
}
