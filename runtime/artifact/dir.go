package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Dir is a Store in a local directory: key k lives at Root/k.
//
// Writes are staged in Root/.kubeline/tmp and renamed into place, so a key
// never shows a half-written object (or, for Upload, a half-copied tree).
//
// Checksums are recorded, not recomputed: Put and Upload hash the content
// while copying it and write the SHA-256 to Root/.kubeline/sha256/KEY with
// the file's size and modification time. Stat, Get and List use that record
// while the file still has the same size and time; a file without a valid
// record (written into Root by other means) is hashed when asked for, and
// the record written then.
//
// Unlike S3, a Dir key cannot hold an object and a tree at once (a path is
// a file or a directory): Put or Upload on a key replaces what it holds.
// Upload keeps empty directories; an object store has none.
type Dir struct{ Root string }

// URI returns file://Root/key.
func (d Dir) URI(key string) string {
	return "file://" + filepath.Join(d.Root, filepath.FromSlash(key))
}

// where names the store in errors.
func (d Dir) where() string { return "file://" + d.Root }

func (d Dir) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.Root, filepath.FromSlash(key)), nil
}

func (d Dir) sumPath(key string) string {
	return filepath.Join(d.Root, reserved, "sha256", filepath.FromSlash(key))
}

func (d Dir) tmpDir() (string, error) {
	dir := filepath.Join(d.Root, reserved, "tmp")
	return dir, os.MkdirAll(dir, 0o700)
}

func (d Dir) fail(op, key string, err error) error {
	return opError(op, key, d.where(), err)
}

// Upload copies path (file or tree) to Root/key, replacing what was there.
// The copy is staged and renamed into place.
func (d Dir) Upload(ctx context.Context, key, path string) error {
	dst, err := d.path(key)
	if err != nil {
		return d.fail("upload", key, err)
	}
	tmp, err := d.tmpDir()
	if err != nil {
		return d.fail("upload", key, err)
	}
	stage, err := os.MkdirTemp(tmp, "upload-")
	if err != nil {
		return d.fail("upload", key, err)
	}
	defer os.RemoveAll(stage)
	sums := map[string]string{} // key -> sha256
	err = treeFiles(ctx, path, func(rel, p string, fi fs.FileInfo) error {
		target := filepath.Join(stage, "t", filepath.FromSlash(rel))
		if fi.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		sum, err := copyFile(p, target)
		sums[joinKey(key, rel)] = sum
		return err
	})
	if err == nil {
		err = d.replace(key, dst, filepath.Join(stage, "t"))
	}
	if err != nil {
		return d.fail("upload", key, err)
	}
	for k, sum := range sums {
		d.record(k, sum)
	}
	return nil
}

// joinKey is key/rel, or key when rel is "".
func joinKey(key, rel string) string {
	if rel == "" {
		return key
	}
	return key + "/" + rel
}

// replace puts staged (a file or a tree) in the place of dst. A file
// replaces a file atomically; otherwise what dst held is first moved aside,
// so dst is missing only between two renames, and put back if the second
// fails. The records of what key held go first.
func (d Dir) replace(key, dst, staged string) error {
	if err := os.RemoveAll(d.sumPath(key)); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	old, oerr := os.Lstat(dst)
	nu, err := os.Lstat(staged)
	if err != nil {
		return err
	}
	if oerr != nil || !old.IsDir() && !nu.IsDir() {
		return os.Rename(staged, dst)
	}
	aside := staged + ".old"
	if err := os.Rename(dst, aside); err != nil {
		return err
	}
	if err := os.Rename(staged, dst); err != nil {
		os.Rename(aside, dst)
		return err
	}
	return os.RemoveAll(aside)
}

// Download copies Root/key to path.
func (d Dir) Download(ctx context.Context, key, path string) error {
	src, err := d.path(key)
	if err != nil {
		return d.fail("download", key, err)
	}
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return d.fail("download", key, ErrNotFound)
	}
	if err := CopyTree(ctx, src, path); err != nil {
		return d.fail("download", key, err)
	}
	return nil
}

// Put writes r to a staged file, records its SHA-256 and renames it to
// Root/key.
func (d Dir) Put(ctx context.Context, key string, r io.Reader, size int64) (Object, error) {
	dst, err := d.path(key)
	if err != nil {
		return Object{}, d.fail("put", key, err)
	}
	obj, err := d.put(ctx, key, dst, r, size)
	if err != nil {
		return Object{}, d.fail("put", key, err)
	}
	return obj, nil
}

func (d Dir) put(ctx context.Context, key, dst string, r io.Reader, size int64) (Object, error) {
	tmp, err := d.tmpDir()
	if err != nil {
		return Object{}, err
	}
	f, err := os.CreateTemp(tmp, "put-")
	if err != nil {
		return Object{}, err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if size >= 0 {
		r = io.LimitReader(r, size)
	}
	hr := newHashingReader(r)
	_, err = io.Copy(f, readerWithContext{ctx, hr})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && size >= 0 && hr.n != size {
		err = fmt.Errorf("%w: read %d bytes of %d", io.ErrUnexpectedEOF, hr.n, size)
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o600)
	}
	if err == nil {
		err = d.replace(key, dst, f.Name())
	}
	if err != nil {
		return Object{}, err
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return Object{}, err
	}
	d.record(key, hr.sum())
	return Object{Key: key, Size: fi.Size(), SHA256: hr.sum(), Modified: fi.ModTime()}, nil
}

// readerWithContext stops a copy when ctx is done.
type readerWithContext struct {
	ctx context.Context
	r   io.Reader
}

func (r readerWithContext) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// record writes the checksum record of key, best effort: a missing record
// only costs a hash later.
func (d Dir) record(key, sum string) {
	fi, err := os.Stat(filepath.Join(d.Root, filepath.FromSlash(key)))
	if err != nil {
		return
	}
	p := d.sumPath(key)
	if os.MkdirAll(filepath.Dir(p), 0o700) != nil {
		return
	}
	line := fmt.Sprintf("%s %d %d\n", sum, fi.Size(), fi.ModTime().UnixNano())
	tmp := p + ".tmp"
	if os.WriteFile(tmp, []byte(line), 0o600) == nil {
		os.Rename(tmp, p)
	}
}

// object describes the file of key, with its recorded (or computed) sum.
func (d Dir) object(key, p string, fi fs.FileInfo) (Object, error) {
	obj := Object{Key: key, Size: fi.Size(), Modified: fi.ModTime()}
	if b, err := os.ReadFile(d.sumPath(key)); err == nil {
		f := strings.Fields(string(b))
		if len(f) == 3 && f[1] == strconv.FormatInt(fi.Size(), 10) &&
			f[2] == strconv.FormatInt(fi.ModTime().UnixNano(), 10) {
			obj.SHA256 = f[0]
			return obj, nil
		}
	}
	in, err := os.Open(p)
	if err != nil {
		return Object{}, err
	}
	defer in.Close()
	hr := newHashingReader(in)
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return Object{}, err
	}
	obj.SHA256 = hr.sum()
	d.record(key, obj.SHA256)
	return obj, nil
}

// Stat describes the file Root/key.
func (d Dir) Stat(ctx context.Context, key string) (Object, error) {
	obj, _, err := d.stat(key)
	if err != nil {
		return Object{}, d.fail("stat", key, err)
	}
	return obj, nil
}

func (d Dir) stat(key string) (Object, string, error) {
	p, err := d.path(key)
	if err != nil {
		return Object{}, "", err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Object{}, "", ErrNotFound
	}
	if err != nil {
		return Object{}, "", err
	}
	if fi.IsDir() {
		return Object{}, "", fmt.Errorf("%w: a tree, not an object (use Download or List)", ErrNotFound)
	}
	obj, err := d.object(key, p, fi)
	return obj, p, err
}

// Get opens the file Root/key.
func (d Dir) Get(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	obj, p, err := d.stat(key)
	if err != nil {
		return nil, Object{}, d.fail("get", key, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, Object{}, d.fail("get", key, err)
	}
	return f, obj, nil
}

// List walks the directories under Root that can hold keys starting with
// prefix.
func (d Dir) List(ctx context.Context, prefix string) ([]Object, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, d.fail("list", prefix, err)
	}
	base := filepath.Join(d.Root, filepath.FromSlash(prefix[:strings.LastIndex(prefix, "/")+1]))
	var objs []Object
	err := filepath.WalkDir(base, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if p == base && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipDir
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(d.Root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if de.IsDir() {
			if p == base {
				return nil
			}
			// Descend only where keys can start with prefix.
			if key == reserved || !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(key, prefix) || strings.HasPrefix(key, reserved+"/") {
			return nil
		}
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		obj, err := d.object(key, p, fi)
		objs = append(objs, obj)
		return err
	})
	if err != nil {
		return nil, d.fail("list", prefix, err)
	}
	slices.SortFunc(objs, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	return objs, nil
}

// Delete removes the file Root/key and its record. A tree is not an object:
// deleting its key removes nothing, as in S3.
func (d Dir) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	var fi fs.FileInfo
	if err == nil {
		fi, err = os.Lstat(p)
	}
	if err == nil && !fi.IsDir() {
		err = os.Remove(p)
	}
	if errors.Is(err, fs.ErrNotExist) || err == nil && fi.IsDir() {
		return nil
	}
	if err != nil {
		return d.fail("delete", key, err)
	}
	os.Remove(d.sumPath(key))
	return nil
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
	if fi.IsDir() && errors.Is(err, fs.ErrNotExist) { // metrics artifacts hold metadata only
		return nil, fmt.Errorf("read %s: the artifact holds no data: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return b, nil
}
