package store

import "os"

// SQLite keeps its locks as POSIX record locks, which belong to the
// process: when any descriptor of the database file closes — opened by
// anything else in the process — they are all gone, silently. A client of
// another process then takes the store for unused, and on closing
// checkpoints and deletes the live write-ahead log: later commits are lost
// at the next crash. Two guards:
//
//   - nothing of kubeline's opens the store's files but the driver (the
//     embedded engine refuses them to steps; sandboxed steps do not see
//     them), and
//   - the store holds an open-file-description lock of its own (guard,
//     sqlite_linux.go), a read lock on SQLite's shared-lock bytes: it
//     conflicts with the exclusive lock another client needs to delete the
//     log, and a descriptor closing elsewhere in the process does not drop
//     it.
//
// The database and its log are the store's user's alone (0600).
func prepareSQLite(path string) {
	if path == ":memory:" || path == "" {
		return
	}
	// Before the driver opens it: closing this descriptor drops no lock.
	// What fails here (a missing directory, a read-only file system) fails
	// the driver's open too, which says what it is (fault.go).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		_ = os.Chmod(p, 0o600) // best effort, as above
	}
}
