package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/sandbox"
)

// isolation returns the embedded engine's options for a server, and a line
// saying what isolates users' work from the server. The engine never opens
// the store's SQLite files for a step. Multi-user, it runs every step in a
// sandbox (runtime/sandbox: a uid of the run's own, a private view of the
// host) — and refuses to start when no sandbox can run, saying what to
// install — and it reads host paths for importers only under --import-root.
func (a *accessFlags) isolation(multiUser bool, engineName, home, db string, objects artifact.Store) (local.Options, string, error) {
	lo := local.Options{Home: home, Store: objects, Protected: storeFiles(db)}
	if a.importRoot != "" { // a single-user server keeps to it too
		root, err := filepath.Abs(a.importRoot)
		if err != nil {
			return lo, "", fmt.Errorf("--import-root: %w", err)
		}
		for _, p := range lo.Protected {
			if rel, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(rel, "..") {
				return lo, "", fmt.Errorf("--import-root %s holds the metadata store (%s): give a directory of data only", a.importRoot, p)
			}
		}
		lo.ImportRoot = root
	}
	if !multiUser {
		lo.Env = stepEnv()
		if lo.ImportRoot != "" {
			return lo, "importers read host paths under " + lo.ImportRoot + " only", nil
		}
		return lo, "", nil
	}
	if engineName == "argo" {
		return lo, "steps run as pods on Kubernetes (--engine argo)", nil
	}
	sb, err := sandbox.New(sandbox.Options{})
	if err != nil {
		return lo, "", fmt.Errorf("multi-user mode runs each step sandboxed: %w", err)
	}
	lo.Sandbox, lo.Confined = sb, true
	imports := "importers read no host path (allow a directory with --import-root)"
	if lo.ImportRoot != "" {
		imports = "importers read host paths under " + lo.ImportRoot + " only"
	}
	return lo, fmt.Sprintf("each run's steps run sandboxed (bubblewrap) as a uid of their own from %d, seeing the host's system read-only, "+
		"their own directories only and none of the server's files or environment; %s", sandbox.FirstUID, imports), nil
}

// storeFiles are the files of a SQLite store (none for PostgreSQL).
func storeFiles(db string) []string {
	if db == "" || strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") || db == ":memory:" {
		return nil
	}
	abs, err := filepath.Abs(db)
	if err != nil {
		return nil
	}
	return []string{abs, abs + "-wal", abs + "-shm", abs + "-journal", abs + ".lock"}
}

// privateHome makes the server's home (its runs, artifacts and, by
// default, its store) the server's user's alone: created 0700, and an
// existing one that group or others may enter is made 0700. A home the
// server may not chmod (a volume's root owned by another user) is a
// warning, returned for the log, not a failure.
func privateHome(home string) (warning string, err error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", fmt.Errorf("make KUBELINE_HOME: %w", err)
	}
	fi, err := os.Stat(home)
	if err != nil {
		return "", fmt.Errorf("KUBELINE_HOME: %w", err)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return "", nil
	}
	if err := os.Chmod(home, 0o700); err != nil {
		return fmt.Sprintf("KUBELINE_HOME %s is %v and could not be made 0700 (%v): other users of this machine may read runs and artifacts under it", home, fi.Mode().Perm(), err), nil
	}
	return "", nil
}
