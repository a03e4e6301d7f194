package store

import (
	"fmt"
	"os"
	"syscall"
)

// SQLite's lock bytes (os_unix.c): shared locks are read locks on
// SHARED_SIZE bytes from SHARED_FIRST, an exclusive lock a write lock on
// them all.
const (
	sqlitePendingByte = 0x40000000
	sqliteSharedFirst = sqlitePendingByte + 2
	sqliteSharedSize  = 510
	fOFDSetLK         = 37 // F_OFD_SETLK (Linux 3.15)
)

// guard takes an open-file-description read lock on SQLite's shared-lock
// bytes of path. It is the store's own descriptor, kept open until the
// database is closed: its lock survives other descriptors of the file
// closing in this process, and it refuses the exclusive lock an outside
// client needs to checkpoint and delete the write-ahead log. unlock lets
// the store's last connection checkpoint on close; release closes the
// descriptor after the driver closed the database (closing it earlier would
// drop the driver's own locks).
func guard(path string) (unlock, release func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("guard the store: %w", err)
	}
	lk := syscall.Flock_t{Type: syscall.F_RDLCK, Whence: 0, Start: sqliteSharedFirst, Len: sqliteSharedSize}
	if err := syscall.FcntlFlock(f.Fd(), fOFDSetLK, &lk); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("guard the store: lock %s: %w", path, err)
	}
	unlock = func() {
		lk.Type = syscall.F_UNLCK
		_ = syscall.FcntlFlock(f.Fd(), fOFDSetLK, &lk)
	}
	return unlock, func() { f.Close() }, nil
}
