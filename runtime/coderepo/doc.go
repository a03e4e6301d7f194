// Package coderepo reads the source of a code version: a git repository's
// commit (with go-git, github.com/go-git/go-git/v5 — no git program is
// run) written out as a plain tree, or a directory as it is. Export says
// what it read: the commit, its author and message, the ref it came from.
//
// coderepo does no versioning (runtime/versioning turns the tree into a
// version) and imports nothing of kubeline.
package coderepo
