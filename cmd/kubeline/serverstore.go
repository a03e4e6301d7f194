package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kubeline/kubeline/runtime/store"
)

// openServerStore opens the server's metadata store: db, else the SQLite
// file under home (dsn is the one opened). A SQLite store is claimed first, so that a second server
// on the same file refuses to start, naming the process that holds it;
// release gives it up. Errors name the cause (a read-only or full disk, a
// lock held by another process).
func openServerStore(ctx context.Context, home, db string) (st *store.Store, dsn string, release func(), err error) {
	if db == "" {
		if err := os.MkdirAll(home, 0o700); err != nil {
			return nil, "", nil, fmt.Errorf("make KUBELINE_HOME: %w", err)
		}
		db = filepath.Join(home, "kubeline.db")
	}
	var claim *store.Claim
	if path := store.SQLitePath(db); path != "" && path != ":memory:" {
		if claim, err = store.ClaimSQLite(path); err != nil {
			return nil, "", nil, err
		}
	}
	st, err = store.Open(ctx, db)
	if err == nil {
		if err = st.CheckWrite(ctx); err != nil { // it would serve only 503s
			st.Close()
		}
	}
	if err != nil {
		claim.Release()
		return nil, "", nil, err
	}
	return st, db, func() {
		st.Close()
		claim.Release()
	}, nil
}
