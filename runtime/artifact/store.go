package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotFound is returned for a key that holds nothing.
var ErrNotFound = errors.New("artifact not found")

// Store keeps artifacts by key. A key names one object or, like an S3
// prefix, a tree of objects under key/. Implementations stream and must be
// safe for concurrent use; they do not retry.
type Store interface {
	// Upload stores the file or directory tree at path under key.
	Upload(ctx context.Context, key, path string) error
	// Download writes what key holds (an object or a tree) to path.
	Download(ctx context.Context, key, path string) error
	// URI is the artifact URI of key, as steps see it.
	URI(key string) string
}

// Dir is a Store in a local directory: key k lives at Root/k.
type Dir struct{ Root string }

// URI returns file://Root/key.
func (d Dir) URI(key string) string {
	return "file://" + filepath.Join(d.Root, filepath.FromSlash(key))
}

func (d Dir) path(key string) (string, error) {
	clean := filepath.Clean("/" + key)
	if key == "" || clean == "/" || strings.Contains(key, "..") {
		return "", fmt.Errorf("invalid artifact key %q", key)
	}
	return filepath.Join(d.Root, clean), nil
}

// Upload copies path (file or tree) to Root/key, replacing what was there.
func (d Dir) Upload(ctx context.Context, key, path string) error {
	dst, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("upload %s: %w", key, err)
	}
	if err := CopyTree(ctx, path, dst); err != nil {
		return fmt.Errorf("upload %s: %w", key, err)
	}
	return nil
}

// Download copies Root/key to path.
func (d Dir) Download(ctx context.Context, key, path string) error {
	src, err := d.path(key)
	if err != nil {
		return err
	}
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("download %s: %w", key, ErrNotFound)
	}
	if err := CopyTree(ctx, src, path); err != nil {
		return fmt.Errorf("download %s: %w", key, err)
	}
	return nil
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
			return os.MkdirAll(target, 0o755)
		}
		return copyFile(p, target)
	})
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Read returns the bytes of the object under key. For an artifact a
// kubeline step wrote (a directory with data and metadata.json) it returns
// the data.
func (d Dir) Read(ctx context.Context, key string) ([]byte, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	if fi.IsDir() {
		p = filepath.Join(p, "data")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return b, nil
}
