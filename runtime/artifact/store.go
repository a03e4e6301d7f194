package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

var (
	// ErrNotFound is returned for a key that holds nothing.
	ErrNotFound = errors.New("artifact not found")
	// ErrAccessDenied is returned when the store refuses the credentials
	// (unknown access key, wrong secret, no permission).
	ErrAccessDenied = errors.New("access denied")
	// ErrInvalidKey is returned for a key no store accepts (see Store).
	ErrInvalidKey = errors.New("invalid artifact key")
)

// reserved is the key prefix a store keeps for itself: staged writes and,
// in Dir, recorded checksums. It never shows in List.
const reserved = ".kubeline"

// Store keeps artifacts by key. A key names one object or, like an S3
// prefix, a tree of objects under key/.
//
// Keys are slash-separated, relative and clean: no empty, "." or ".."
// segment, no leading or trailing slash, and nothing under ".kubeline/",
// which stores keep for their own bookkeeping.
//
// Contract for implementations: they stream (never hold a whole object in
// memory), are safe for concurrent use, and do not retry — a failed call
// returns an error wrapped with %w that names the operation, the key and
// the store, and callers decide what to retry. A write is all or nothing:
// a Put that fails leaves no object (and no partial object) under its key,
// and the SHA-256 of every stored object is recorded with it.
type Store interface {
	// Upload stores the file or directory tree at path under key (a file
	// at key, a tree's files at key/REL), replacing whatever key held.
	Upload(ctx context.Context, key, path string) error
	// Download writes what key holds (an object or a tree) to path.
	Download(ctx context.Context, key, path string) error
	// URI is the artifact URI of key, as steps see it.
	URI(key string) string

	// Put streams r to the object key, replacing it. size is the number of
	// bytes r yields, or -1 when unknown. The returned Object carries the
	// SHA-256 computed while streaming.
	Put(ctx context.Context, key string, r io.Reader, size int64) (Object, error)
	// Get streams the object key. A missing key (or one that names a
	// tree, not an object) is an error wrapping ErrNotFound. The caller
	// closes the reader.
	Get(ctx context.Context, key string) (io.ReadCloser, Object, error)
	// Stat describes the object key; a missing key wraps ErrNotFound.
	Stat(ctx context.Context, key string) (Object, error)
	// List returns every object whose key starts with prefix (a plain
	// string prefix, as in S3: "a/b" matches "a/b/c" and "a/bc"), sorted
	// by key. An empty prefix lists the whole store.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes the object key. Deleting a missing key is not an
	// error.
	Delete(ctx context.Context, key string) error
}

// Object describes one stored object.
type Object struct {
	Key  string
	Size int64
	// SHA256 is the hex SHA-256 of the content, recorded when the object
	// was written.
	SHA256 string
	// ETag is the object store's ETag without quotes ("" in Dir). An S3
	// multipart object's ETag ends in -N, N its number of parts.
	ETag     string
	Modified time.Time
}

// opError says what failed: `put KEY to STORE: err`.
func opError(op, key, where string, err error) error {
	prep := "in"
	switch op {
	case "put", "upload":
		prep = "to"
	case "get", "download", "delete":
		prep = "from"
	}
	if key == "" {
		key = `""`
	}
	return fmt.Errorf("%s %s %s %s: %w", op, key, prep, where, err)
}

// checkKey reports whether key can name an object in any store.
func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	segs := strings.Split(key, "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return fmt.Errorf("%w %q: empty, . or .. segment", ErrInvalidKey, key)
		}
	}
	if segs[0] == reserved {
		return fmt.Errorf("%w %q: %s/ is reserved for the store", ErrInvalidKey, key, reserved)
	}
	return nil
}

// checkPrefix reports whether prefix can be listed: "" or the start of a
// key, possibly ending in a slash or in part of a segment.
func checkPrefix(prefix string) error {
	segs := strings.Split(prefix, "/")
	for i, s := range segs {
		last := i == len(segs)-1
		if s == ".." || !last && (s == "" || s == ".") {
			return fmt.Errorf("%w: prefix %q has an empty, . or .. segment", ErrInvalidKey, prefix)
		}
	}
	return nil
}

// hashingReader hashes and counts what is read through it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func newHashingReader(r io.Reader) *hashingReader {
	return &hashingReader{r: r, h: sha256.New()}
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

func (h *hashingReader) sum() string { return hex.EncodeToString(h.h.Sum(nil)) }

// treeFiles walks the file or directory root and calls fn for every
// directory and regular file with its slash-separated path relative to
// root ("" for root itself), directories before their content.
func treeFiles(ctx context.Context, root string, fn func(rel, path string, fi fs.FileInfo) error) error {
	fi, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fn("", root, fi)
	}
	return filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := os.Stat(p) // follows symlinks, as CopyTree does
		if err != nil {
			return err
		}
		if !fi.IsDir() && !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			rel = ""
		}
		return fn(filepath.ToSlash(rel), p, fi)
	})
}

// CopyTree copies a file or a directory tree from src to dst.
func CopyTree(ctx context.Context, src, dst string) error {
	return filepath.WalkDir(src, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if de.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		_, err = copyFile(p, target)
		return err
	})
}

// copyFile copies src to dst, keeping its permission bits, and returns the
// hex SHA-256 of the content.
func copyFile(src, dst string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", err
	}
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return "", err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm()&0o700|0o600)
	if err != nil {
		return "", err
	}
	hr := newHashingReader(in)
	if _, err := io.Copy(out, hr); err != nil {
		out.Close()
		return "", err
	}
	return hr.sum(), out.Close()
}
