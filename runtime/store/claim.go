package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Claim is one server's hold on a SQLite store: an exclusive flock on the
// file PATH.lock, which names the holder's process id. The kernel drops
// the lock when the process dies, however it dies.
type Claim struct{ f *os.File }

// HeldError is a claim refused because another process holds the store.
type HeldError struct {
	Path    string
	PID     int    // 0 when the lock file names none
	Command string // the holder's command line, when it can be read
}

func (e *HeldError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = fmt.Sprintf("process %d", e.PID)
		if e.Command != "" {
			who += " (" + e.Command + ")"
		}
	}
	return fmt.Sprintf("the store %s is in use by another kubeline server: %s holds %s.lock", e.Path, who, e.Path)
}

// ClaimSQLite claims the SQLite store at path (a DSN's file part) for this
// process, or fails: a *HeldError when another server holds it, else an
// error naming what the directory's file system refused (read-only, full).
func ClaimSQLite(path string) (*Claim, error) {
	lock := path + ".lock"
	f, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, describeFS(fmt.Errorf("claim the store %s: %w", path, err), filepath.Dir(path))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			held := &HeldError{Path: path}
			if b, rerr := os.ReadFile(lock); rerr == nil {
				held.PID, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
			held.Command = commandLine(held.PID)
			return nil, held
		}
		return nil, fmt.Errorf("claim the store %s: lock %s: %w", path, lock, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		return nil, describeFS(fmt.Errorf("claim the store %s: write %s: %w", path, lock, err), filepath.Dir(path))
	}
	return &Claim{f: f}, nil
}

// Release gives the store up (the lock file stays, naming no holder).
func (c *Claim) Release() error {
	if c == nil || c.f == nil {
		return nil
	}
	_ = c.f.Truncate(0)
	return c.f.Close()
}

// commandLine is process pid's command line ("" when unknown).
func commandLine(pid int) string {
	if pid <= 0 {
		return ""
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// describeFS adds what the file system holding dir refuses to err: that
// it is read-only or full, or that dir is missing.
func describeFS(err error, dir string) error {
	switch {
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%s is on a read-only file system: %w", dir, err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return diskFull(dir, err)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("directory %s does not exist: %w", dir, err)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("this process (uid %d) may not write to %s: %w", os.Getuid(), dir, err)
	}
	return err
}

// diskFull says that the disk holding dir is full, and how full.
func diskFull(dir string, err error) error {
	var st syscall.Statfs_t
	free := ""
	if syscall.Statfs(dir, &st) == nil {
		free = fmt.Sprintf(" (%d bytes free)", uint64(st.Bavail)*uint64(st.Bsize))
	}
	return fmt.Errorf("the disk holding %s is full%s: %w", dir, free, Fault(err))
}

// diagnoseOpen explains why a SQLite store could not be opened or
// migrated: the file system's refusal, or the processes holding a lock on
// the database (from /proc/locks, on Linux).
func diagnoseOpen(path string, err error) error {
	reason := FaultReason(err)
	switch reason {
	case sqliteFaults[5], sqliteFaults[6]: // locked
		if pids := lockHolders(path, path+"-wal", path+"-shm"); len(pids) > 0 {
			var who []string
			for _, pid := range pids {
				w := fmt.Sprintf("process %d", pid)
				if c := commandLine(pid); c != "" {
					w += " (" + c + ")"
				}
				who = append(who, w)
			}
			return &faultError{reason: fmt.Sprintf("the store %s is locked by %s", path, strings.Join(who, ", ")), err: err}
		}
		return &faultError{reason: fmt.Sprintf("the store %s is locked by another process", path), err: err}
	case sqliteFaults[8], sqliteFaults[14]: // read-only, cannot open
		dir := filepath.Dir(path)
		for _, f := range []string{dir, path} { // a missing file is made, a missing directory not
			if aerr := syscall.Access(f, 2 /* W_OK */); aerr != nil && (f == dir || !errors.Is(aerr, syscall.ENOENT)) {
				return describeFS(fmt.Errorf("open the store %s: %w (%w)", path, aerr, Fault(err)), dir)
			}
		}
	case sqliteFaults[13]: // full
		return diskFull(filepath.Dir(path), fmt.Errorf("the store %s: %w", path, err))
	}
	if reason != "" {
		return fmt.Errorf("open the store %s: %w", path, Fault(err))
	}
	return err
}

// lockHolders are the processes /proc/locks shows holding a write lock on one
// of the files (none where /proc/locks does not exist).
func lockHolders(files ...string) []int {
	inodes := map[string]bool{}
	for _, f := range files {
		var st syscall.Stat_t
		if syscall.Stat(f, &st) == nil {
			inodes[fmt.Sprintf("%02x:%02x:%d", (st.Dev>>8)&0xfff, (st.Dev&0xff)|((st.Dev>>12)&0xfff00), st.Ino)] = true
		}
	}
	fh, err := os.Open("/proc/locks")
	if err != nil {
		return nil
	}
	defer fh.Close()
	seen := map[int]bool{}
	var pids []int
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		// 1: POSIX  ADVISORY  WRITE 1234 00:2b:5678 0 EOF; only a write
		// lock keeps a writer out.
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[1] == "->" || f[3] != "WRITE" {
			continue
		}
		pid, err := strconv.Atoi(f[4])
		if err != nil || pid == os.Getpid() || seen[pid] || !inodes[f[5]] {
			continue
		}
		seen[pid] = true
		pids = append(pids, pid)
	}
	return pids
}
