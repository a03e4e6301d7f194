package main

import (
	"fmt"
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
	if !multiUser {
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
	if a.importRoot != "" {
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
