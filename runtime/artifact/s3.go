package artifact

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is a Store in one bucket of an S3 server (MinIO, AWS S3, versitygw,
// ...), through minio-go. Key k is object k of the bucket.
//
// Checksums: every object S3 writes carries its hex SHA-256 as user
// metadata (header X-Amz-Meta-Sha256), which Stat, List and Get return;
// Get also checks the content against it while streaming. An object written
// by something else (Argo's executor, an s3 client) has no recorded sum:
// its Object.SHA256 is "".
//
// Writes: the SHA-256 must be known when the upload starts, since S3 takes
// metadata with the first request. A reader that can seek (a file) is
// hashed in a first pass and then streamed straight to key, in parts of
// PartSize when larger than PartSize. Any other reader is streamed to a
// staging object under .kubeline/uploads/ while being hashed, then copied
// server-side to key with its sum and the staging object deleted. Either
// way key never shows a partial object: a failed single PUT stores
// nothing and a failed multipart upload is aborted.
type S3 struct {
	cfg    S3Config
	client *minio.Client
}

// maxCopySize is the largest object one CopyObject request copies.
const maxCopySize = 5 << 30

// NewS3 returns the store cfg describes. It does no I/O: a wrong endpoint
// or wrong credentials show on the first call (or on EnsureBucket).
func NewS3(cfg S3Config) (*S3, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = 5 << 20
	}
	tr, err := cfg.transport()
	if err != nil {
		return nil, err
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken),
		Secure:       cfg.Secure,
		Transport:    tr,
		Region:       cfg.Region,
		BucketLookup: lookup,
		MaxRetries:   1, // the Store contract: no retries
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", cfg.Endpoint, err)
	}
	return &S3{cfg: cfg, client: client}, nil
}

func (c S3Config) transport() (http.RoundTripper, error) {
	tr, err := minio.DefaultTransport(c.Secure)
	if err != nil || !c.Secure {
		return tr, err
	}
	tr.TLSClientConfig.InsecureSkipVerify = c.InsecureSkipVerify
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("s3 CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("s3 CA file %s: no PEM certificate", c.CAFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return tr, nil
}

// URI returns SCHEME://BUCKET/key, SCHEME being minio or s3 (see
// S3Config.URIScheme), as KFP writes artifact URIs.
func (s *S3) URI(key string) string {
	return s.cfg.scheme() + "://" + s.cfg.Bucket + "/" + key
}

// where names the store in errors.
func (s *S3) where() string {
	return fmt.Sprintf("%s://%s at %s", s.cfg.scheme(), s.cfg.Bucket, s.cfg.Endpoint)
}

// fail wraps err with the operation, the key and the store, adding
// ErrNotFound or ErrAccessDenied when the server's answer means that.
func (s *S3) fail(op, key string, err error) error {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.Code == minio.NoSuchKey:
			err = fmt.Errorf("%w: %w", ErrNotFound, err)
		case resp.Code == minio.AccessDenied || resp.Code == minio.InvalidAccessKeyID ||
			resp.Code == minio.SignatureDoesNotMatch || resp.StatusCode == http.StatusForbidden:
			err = fmt.Errorf("%w: %w", ErrAccessDenied, err)
		}
	}
	return opError(op, key, s.where(), err)
}

// EnsureBucket creates the bucket when it does not exist, as the KFP API
// server does at start. It is also the cheapest check of the endpoint and
// the credentials.
func (s *S3) EnsureBucket(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.cfg.Bucket)
	if err == nil && !ok {
		err = s.client.MakeBucket(ctx, s.cfg.Bucket, minio.MakeBucketOptions{Region: s.cfg.Region})
	}
	if err != nil {
		return s.fail("ensure bucket", s.cfg.Bucket, err)
	}
	return nil
}

// Put streams r to key; see S3 for how.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) (Object, error) {
	if err := checkKey(key); err != nil {
		return Object{}, s.fail("put", key, err)
	}
	var obj Object
	var err error
	if rs, ok := r.(io.ReadSeeker); ok {
		obj, err = s.putSeeker(ctx, key, rs, size)
	} else {
		obj, err = s.putStaged(ctx, key, r, size)
	}
	if err != nil {
		return Object{}, s.fail("put", key, err)
	}
	return obj, nil
}

func (s *S3) putOptions(sum string) minio.PutObjectOptions {
	o := minio.PutObjectOptions{PartSize: s.cfg.PartSize, ContentType: "application/octet-stream"}
	if sum != "" {
		o.UserMetadata = map[string]string{"sha256": sum}
	}
	return o
}

// putSeeker hashes rs, rewinds it and uploads it with its sum, checking
// that the second read gave the same content.
func (s *S3) putSeeker(ctx context.Context, key string, rs io.ReadSeeker, size int64) (Object, error) {
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return Object{}, err
	}
	first, err := readAll(ctx, rs, size)
	if err != nil {
		return Object{}, err
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return Object{}, err
	}
	second := newHashingReader(readerWithContext{ctx, io.LimitReader(rs, first.n)})
	info, err := s.client.PutObject(ctx, s.cfg.Bucket, key, second, first.n, s.putOptions(first.sum()))
	if err != nil {
		s.abortIncomplete(ctx, key)
		return Object{}, err
	}
	if second.sum() != first.sum() {
		s.remove(ctx, key)
		return Object{}, fmt.Errorf("content changed while uploading (sha256 %s, then %s)", first.sum(), second.sum())
	}
	return Object{Key: key, Size: info.Size, SHA256: first.sum(), ETag: info.ETag, Modified: info.LastModified}, nil
}

// readAll hashes r to its end, or its first size bytes when size >= 0.
func readAll(ctx context.Context, r io.Reader, size int64) (*hashingReader, error) {
	if size >= 0 {
		r = io.LimitReader(r, size)
	}
	hr := newHashingReader(r)
	if _, err := io.Copy(io.Discard, readerWithContext{ctx, hr}); err != nil {
		return nil, err
	}
	if size >= 0 && hr.n != size {
		return nil, fmt.Errorf("%w: read %d bytes of %d", io.ErrUnexpectedEOF, hr.n, size)
	}
	return hr, nil
}

// putStaged streams r to a staging object, then copies it to key with its
// sum.
func (s *S3) putStaged(ctx context.Context, key string, r io.Reader, size int64) (Object, error) {
	stage := reserved + "/uploads/" + uuid.NewString()
	if size >= 0 {
		r = io.LimitReader(r, size)
	}
	hr := newHashingReader(r)
	_, err := s.client.PutObject(ctx, s.cfg.Bucket, stage, readerWithContext{ctx, hr}, size, s.putOptions(""))
	if err != nil {
		s.abortIncomplete(ctx, stage)
		return Object{}, err
	}
	defer s.remove(ctx, stage)
	if size >= 0 && hr.n != size {
		return Object{}, fmt.Errorf("%w: read %d bytes of %d", io.ErrUnexpectedEOF, hr.n, size)
	}
	dst := minio.CopyDestOptions{Bucket: s.cfg.Bucket, Object: key,
		UserMetadata: map[string]string{"sha256": hr.sum()}, ReplaceMetadata: true, PartSize: s.cfg.PartSize}
	src := minio.CopySrcOptions{Bucket: s.cfg.Bucket, Object: stage}
	var info minio.UploadInfo
	if hr.n <= maxCopySize {
		info, err = s.client.CopyObject(ctx, dst, src)
	} else {
		dst.PartSize = 0 // the largest parts, for the fewest copy requests
		info, err = s.client.ComposeObject(ctx, dst, src)
	}
	if err != nil {
		s.abortIncomplete(ctx, key)
		return Object{}, err
	}
	return Object{Key: key, Size: hr.n, SHA256: hr.sum(), ETag: info.ETag, Modified: info.LastModified}, nil
}

// cleanupCtx outlives a cancelled ctx, for removing what a failed call left.
func cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// abortIncomplete aborts any multipart upload left for key (minio-go
// aborts its own on failure; this also catches one it could not).
func (s *S3) abortIncomplete(ctx context.Context, key string) {
	ctx, cancel := cleanupCtx(ctx)
	defer cancel()
	_ = s.client.RemoveIncompleteUpload(ctx, s.cfg.Bucket, key)
}

// remove deletes key, best effort.
func (s *S3) remove(ctx context.Context, key string) {
	ctx, cancel := cleanupCtx(ctx)
	defer cancel()
	_ = s.client.RemoveObject(ctx, s.cfg.Bucket, key, minio.RemoveObjectOptions{})
}

// object turns what the server says of an object into an Object.
func object(info minio.ObjectInfo) Object {
	o := Object{Key: info.Key, Size: info.Size, ETag: strings.Trim(info.ETag, `"`), Modified: info.LastModified}
	for k, v := range info.UserMetadata {
		if strings.EqualFold(k, "sha256") || strings.EqualFold(k, "X-Amz-Meta-Sha256") {
			o.SHA256 = v
		}
	}
	return o
}

// Stat asks the server for key's size, ETag and recorded sum.
func (s *S3) Stat(ctx context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return Object{}, s.fail("stat", key, err)
	}
	info, err := s.client.StatObject(ctx, s.cfg.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Object{}, s.fail("stat", key, err)
	}
	return object(info), nil
}

// Get streams key; the reader fails at its end if the content does not
// match the recorded sum.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	return s.open(ctx, "get", key)
}

// open is Get, its errors naming op.
func (s *S3) open(ctx context.Context, op, key string) (io.ReadCloser, Object, error) {
	if err := checkKey(key); err != nil {
		return nil, Object{}, s.fail(op, key, err)
	}
	rc, err := s.client.GetObject(ctx, s.cfg.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, Object{}, s.fail(op, key, err)
	}
	info, err := rc.Stat()
	if err != nil {
		rc.Close()
		return nil, Object{}, s.fail(op, key, err)
	}
	obj := object(info)
	return &verifyingReader{hr: newHashingReader(rc), c: rc, obj: obj, fail: func(err error) error {
		return s.fail(op, key, err)
	}}, obj, nil
}

// verifyingReader checks size and sum of what it read when it reaches EOF.
type verifyingReader struct {
	hr   *hashingReader
	c    io.Closer
	obj  Object
	fail func(error) error
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.hr.Read(p)
	if err == io.EOF {
		switch {
		case v.hr.n != v.obj.Size:
			return n, v.fail(fmt.Errorf("%w: read %d bytes of %d", io.ErrUnexpectedEOF, v.hr.n, v.obj.Size))
		case v.obj.SHA256 != "" && v.hr.sum() != v.obj.SHA256:
			return n, v.fail(fmt.Errorf("content sha256 %s, recorded %s", v.hr.sum(), v.obj.SHA256))
		}
	} else if err != nil {
		err = v.fail(err)
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.c.Close() }

// keys lists the keys under prefix, without the store's own.
func (s *S3) keys(ctx context.Context, prefix string) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine when we return early
	var keys []string
	for info := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if info.Err != nil {
			return nil, info.Err
		}
		if strings.HasPrefix(info.Key, reserved+"/") || strings.HasSuffix(info.Key, "/") {
			continue // staging objects; directory markers
		}
		keys = append(keys, info.Key)
	}
	slices.Sort(keys)
	return keys, nil
}

// List lists the keys under prefix and asks for each object's recorded sum
// (S3 listings carry no user metadata): one HEAD request per object.
func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, s.fail("list", prefix, err)
	}
	keys, err := s.keys(ctx, prefix)
	if err != nil {
		return nil, s.fail("list", prefix, err)
	}
	objs := make([]Object, 0, len(keys))
	for _, k := range keys {
		info, err := s.client.StatObject(ctx, s.cfg.Bucket, k, minio.StatObjectOptions{})
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			continue // deleted since listed
		}
		if err != nil {
			return nil, s.fail("list", prefix, err)
		}
		objs = append(objs, object(info))
	}
	return objs, nil
}

// Delete removes key.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return s.fail("delete", key, err)
	}
	if err := s.client.RemoveObject(ctx, s.cfg.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s.fail("delete", key, err)
	}
	return nil
}

// removeTree deletes the object key and every object under key/.
func (s *S3) removeTree(ctx context.Context, key string) error {
	keys, err := s.keys(ctx, key+"/")
	if err != nil {
		return err
	}
	for _, k := range append(keys, key) {
		if err := s.client.RemoveObject(ctx, s.cfg.Bucket, k, minio.RemoveObjectOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// Upload replaces what key holds with the file at path (object key) or the
// files of the tree at path (objects key/REL): it deletes the old objects,
// then puts the new ones. If one fails, those already put are deleted
// again (best effort: not when the server is gone), so the key holds no
// part of the new tree; unlike Dir, it no longer holds the old one either.
func (s *S3) Upload(ctx context.Context, key, path string) error {
	if err := checkKey(key); err != nil {
		return s.fail("upload", key, err)
	}
	if _, err := os.Stat(path); err != nil {
		return s.fail("upload", key, err) // before removing what key holds
	}
	if err := s.removeTree(ctx, key); err != nil {
		return s.fail("upload", key, err)
	}
	var done []string
	err := treeFiles(ctx, path, func(rel, p string, fi fs.FileInfo) error {
		if fi.IsDir() {
			return nil
		}
		k := joinKey(key, rel)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		done = append(done, k)
		if _, err := s.putSeeker(ctx, k, f, fi.Size()); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		return nil
	})
	if err != nil {
		for _, k := range done {
			s.remove(ctx, k)
		}
		return s.fail("upload", key, err)
	}
	return nil
}

// Download writes object key to path, or, when key names a tree, every
// object key/REL to path/REL.
func (s *S3) Download(ctx context.Context, key, path string) error {
	if err := checkKey(key); err != nil {
		return s.fail("download", key, err)
	}
	_, err := s.client.StatObject(ctx, s.cfg.Bucket, key, minio.StatObjectOptions{})
	if err == nil {
		return s.getFile(ctx, key, path)
	}
	if minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return s.fail("download", key, err)
	}
	keys, err := s.keys(ctx, key+"/")
	if err != nil {
		return s.fail("download", key, err)
	}
	if len(keys) == 0 {
		return s.fail("download", key, ErrNotFound)
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return s.fail("download", key, err)
	}
	for _, k := range keys {
		rel := strings.TrimPrefix(k, key+"/")
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return s.fail("download", key, fmt.Errorf("object %s: %q leaves the tree", k, rel))
		}
		if err := s.getFile(ctx, k, filepath.Join(path, filepath.FromSlash(rel))); err != nil {
			return err
		}
	}
	return nil
}

// getFile streams key to a temporary file beside dst and renames it into
// place once complete and verified.
func (s *S3) getFile(ctx context.Context, key, dst string) error {
	rc, _, err := s.open(ctx, "download", key)
	if err != nil {
		return err
	}
	defer rc.Close()
	err = os.MkdirAll(filepath.Dir(dst), 0o700)
	var f *os.File
	if err == nil {
		f, err = os.CreateTemp(filepath.Dir(dst), ".download-*")
	}
	if err != nil {
		return s.fail("download", key, err)
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return err // rc's errors name the key and the store
	}
	err = f.Close()
	if err == nil {
		err = os.Chmod(f.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(f.Name(), dst)
	}
	if err != nil {
		return s.fail("download", key, err)
	}
	return nil
}
