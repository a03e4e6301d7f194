package artifact

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// storeHarness opens stores of one driver for testStore.
type storeHarness struct {
	// open returns a new, empty store.
	open func(t *testing.T) Store
	// denied, when set, returns stores whose credentials the server
	// refuses, by name of what is wrong.
	denied map[string]func(t *testing.T) Store
	// multipartETag says the store's ETags show multipart uploads (-N).
	multipartETag bool
	// pendingUploads, when set, counts the incomplete multipart uploads
	// left in the store.
	pendingUploads func(t *testing.T, s Store) int
}

// testStore is the Store contract, run against every driver.
func testStore(t *testing.T, h storeHarness) {
	t.Run("PutGet", func(t *testing.T) { testPutGet(t, h) })
	t.Run("List", func(t *testing.T) { testList(t, h) })
	t.Run("Missing", func(t *testing.T) { testMissing(t, h) })
	t.Run("InvalidKeys", func(t *testing.T) { testInvalidKeys(t, h) })
	t.Run("Tree", func(t *testing.T) { testTree(t, h) })
	t.Run("FailedPut", func(t *testing.T) { testFailedPut(t, h) })
	for name, open := range h.denied {
		t.Run("Denied/"+name, func(t *testing.T) { testDenied(t, open(t)) })
	}
}

// content is n pseudo-random bytes and their hex SHA-256.
func content(n int, seed uint64) ([]byte, string) {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

// streamOnly hides a reader's other methods (Seek, ReadAt, WriteTo).
type streamOnly struct{ r io.Reader }

func (s streamOnly) Read(p []byte) (int, error) { return s.r.Read(p) }

const mib = 1 << 20

func testPutGet(t *testing.T, h storeHarness) {
	ctx := context.Background()
	s := h.open(t)
	tests := []struct {
		name      string
		size      int
		stream    bool // a reader that cannot seek
		knownSize bool
		multipart bool // more than one 5 MiB part
	}{
		{name: "empty", size: 0, knownSize: true},
		{name: "small", size: 1000, knownSize: true},
		{name: "small-stream", size: 1000, stream: true, knownSize: true},
		{name: "small-stream-unknown-size", size: 1000, stream: true},
		{name: "large", size: 7 * mib, knownSize: true, multipart: true},
		{name: "large-unknown-size", size: 7 * mib, multipart: true},
		{name: "large-stream-unknown-size", size: 6*mib + 1, stream: true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, sum := content(tc.size, uint64(i))
			key := "kubeline/wf/pod/" + tc.name
			var r io.Reader = bytes.NewReader(data)
			if tc.stream {
				r = streamOnly{r}
			}
			size := int64(-1)
			if tc.knownSize {
				size = int64(tc.size)
			}
			put, err := s.Put(ctx, key, r, size)
			if err != nil {
				t.Fatal(err)
			}
			want := Object{Key: key, Size: int64(tc.size), SHA256: sum}
			ignore := func(o Object) Object { o.ETag, o.Modified = "", time.Time{}; return o }
			if diff := cmp.Diff(want, ignore(put)); diff != "" {
				t.Errorf("Put (-want +got):\n%s", diff)
			}
			stat, err := s.Stat(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, ignore(stat)); diff != "" {
				t.Errorf("Stat (-want +got):\n%s", diff)
			}
			if h.multipartETag && tc.multipart && !strings.HasSuffix(stat.ETag, "-2") {
				t.Errorf("ETag %q: want a 2-part multipart upload (-2)", stat.ETag)
			}
			rc, got, err := s.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, data) {
				t.Errorf("Get returned %d bytes, not the %d put", len(b), len(data))
			}
			if diff := cmp.Diff(want, ignore(got)); diff != "" {
				t.Errorf("Get (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("replace-and-delete", func(t *testing.T) {
		key := "kubeline/wf/pod/replaced"
		for _, v := range []string{"one", "two"} {
			if _, err := s.Put(ctx, key, strings.NewReader(v), int64(len(v))); err != nil {
				t.Fatal(err)
			}
		}
		if got := readString(t, s, key); got != "two" {
			t.Errorf("after two puts key holds %q", got)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat after Delete: want ErrNotFound, got %v", err)
		}
	})
}

func readString(t *testing.T, s Store, key string) string {
	t.Helper()
	rc, _, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func testList(t *testing.T, h storeHarness) {
	ctx := context.Background()
	s := h.open(t)
	sums := map[string]string{}
	// Put out of order: List sorts.
	for i, key := range []string{"m/f", "l/bc", "l/b/d", "lx/e", "l/a", "l/b/c"} {
		data, sum := content(100+i, uint64(i))
		if _, err := s.Put(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		sums[key] = sum
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"l/", []string{"l/a", "l/b/c", "l/b/d", "l/bc"}},
		{"l/b", []string{"l/b/c", "l/b/d", "l/bc"}},
		{"l/b/", []string{"l/b/c", "l/b/d"}},
		{"l", []string{"l/a", "l/b/c", "l/b/d", "l/bc", "lx/e"}},
		{"lx/e", []string{"lx/e"}},
		{"nothing/", nil},
		{"", []string{"l/a", "l/b/c", "l/b/d", "l/bc", "lx/e", "m/f"}},
	}
	for _, tc := range tests {
		objs, err := s.List(ctx, tc.prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", tc.prefix, err)
		}
		var got []string
		for _, o := range objs {
			got = append(got, o.Key)
			if o.SHA256 != sums[o.Key] {
				t.Errorf("List(%q): %s has sha256 %q, want %q", tc.prefix, o.Key, o.SHA256, sums[o.Key])
			}
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("List(%q) (-want +got):\n%s", tc.prefix, diff)
		}
	}
}

func testMissing(t *testing.T, h storeHarness) {
	ctx := context.Background()
	s := h.open(t)
	const key = "kubeline/no/such/key"
	_, err := s.Stat(ctx, key)
	checkErr(t, "Stat", err, ErrNotFound, key)
	_, _, err = s.Get(ctx, key)
	checkErr(t, "Get", err, ErrNotFound, key)
	err = s.Download(ctx, key, filepath.Join(t.TempDir(), "x"))
	checkErr(t, "Download", err, ErrNotFound, key)
	if err := s.Delete(ctx, key); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	if objs, err := s.List(ctx, "kubeline/no/"); err != nil || len(objs) != 0 {
		t.Errorf("List of a missing prefix = %v, %v", objs, err)
	}
}

// checkErr wants err to wrap target and to name the key and the store.
func checkErr(t *testing.T, what string, err, target error, key string) {
	t.Helper()
	switch {
	case !errors.Is(err, target):
		t.Errorf("%s: want an error wrapping %q, got %v", what, target, err)
	case !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "://"):
		t.Errorf("%s: error %q does not name the key %s and the store", what, err, key)
	}
}

func testInvalidKeys(t *testing.T, h storeHarness) {
	ctx := context.Background()
	s := h.open(t)
	for _, key := range []string{"", "/abs", "a//b", "../x", "a/../b", "a/./b", "a/", ".kubeline/tmp/x"} {
		if _, err := s.Put(ctx, key, strings.NewReader("x"), 1); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Put(%q): want ErrInvalidKey, got %v", key, err)
		}
		if err := s.Upload(ctx, key, os.Args[0]); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Upload(%q): want ErrInvalidKey, got %v", key, err)
		}
	}
	for _, prefix := range []string{"../", "a/../b", "a//"} {
		if _, err := s.List(ctx, prefix); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("List(%q): want ErrInvalidKey, got %v", prefix, err)
		}
	}
}

func testDenied(t *testing.T, s Store) {
	ctx := context.Background()
	const key = "kubeline/wf/pod/x"
	_, err := s.Put(ctx, key, strings.NewReader("x"), 1)
	checkErr(t, "Put", err, ErrAccessDenied, key)
	_, _, err = s.Get(ctx, key)
	checkErr(t, "Get", err, ErrAccessDenied, key)
	_, err = s.List(ctx, "kubeline/")
	checkErr(t, "List", err, ErrAccessDenied, "kubeline/")
	err = s.Upload(ctx, key, os.Args[0])
	checkErr(t, "Upload", err, ErrAccessDenied, key)
}

// writeTree writes files (slash path -> content) under a new directory.
func writeTree(t *testing.T, files map[string][]byte) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "tree")
	for rel, b := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// readTree reads every file under root (slash path -> content).
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(root, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func testTree(t *testing.T, h storeHarness) {
	ctx := context.Background()
	s := h.open(t)
	big, bigSum := content(6*mib+1, 42)
	files := map[string][]byte{"data": []byte("weights"), "metadata.json": []byte("{}"),
		"sub/x": []byte("x"), "sub/deeper/y": []byte("y"), "big": big}
	want := map[string]string{}
	for rel, b := range files {
		want[rel] = string(b)
	}
	const key = "kubeline/wf/pod/model"
	if err := s.Upload(ctx, key, writeTree(t, files)); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "in")
	if err := s.Download(ctx, key, dst); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, readTree(t, dst)); diff != "" {
		t.Errorf("downloaded tree (-want +got):\n%s", diff)
	}
	objs, err := s.List(ctx, key+"/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != len(files) {
		t.Errorf("List(%s/) = %d objects, want %d", key, len(objs), len(files))
	}
	for _, o := range objs {
		sum := sha256.Sum256(files[strings.TrimPrefix(o.Key, key+"/")])
		if o.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: sha256 %s, want %x", o.Key, o.SHA256, sum)
		}
	}
	if o, err := s.Stat(ctx, key+"/big"); err != nil || o.SHA256 != bigSum ||
		h.multipartETag && !strings.HasSuffix(o.ETag, "-2") {
		t.Errorf("Stat(big) = %+v, %v: want sha256 %s from a 2-part upload", o, err, bigSum)
	}
	if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat of a tree's key: want ErrNotFound, got %v", err)
	}

	// Uploading again replaces the tree: files not in the new one go.
	if err := s.Upload(ctx, key, writeTree(t, map[string][]byte{"data": []byte("v2")})); err != nil {
		t.Fatal(err)
	}
	dst2 := filepath.Join(t.TempDir(), "in2")
	if err := s.Download(ctx, key, dst2); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"data": "v2"}, readTree(t, dst2)); diff != "" {
		t.Errorf("replaced tree (-want +got):\n%s", diff)
	}
	if err := s.Upload(ctx, key, filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("uploading a missing path succeeded")
	}
	if got := readString(t, s, key+"/data"); got != "v2" {
		t.Errorf("a failed upload left %q under %s/data, want v2", got, key)
	}

	// A single file is one object under key itself.
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, []byte("z"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Upload(ctx, "kubeline/wf/pod/file", f); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, s, "kubeline/wf/pod/file"); got != "z" {
		t.Errorf("uploaded file holds %q", got)
	}
	out := filepath.Join(t.TempDir(), "f2")
	if err := s.Download(ctx, "kubeline/wf/pod/file", out); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "z" {
		t.Errorf("downloaded file holds %q", b)
	}
}

var errBoom = errors.New("boom: the reader broke")

// failingReader yields n bytes, then errBoom.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errBoom
	}
	k := min(len(p), f.n)
	clear(p[:k])
	f.n -= k
	return k, nil
}

func testFailedPut(t *testing.T, h storeHarness) {
	ctx := context.Background()
	s := h.open(t)
	if _, err := s.Put(ctx, "fail/kept", strings.NewReader("v1"), 2); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		key   string
		after int // bytes before the reader fails
		size  int64
	}{
		{name: "small", key: "fail/small", after: 1000, size: 4000},
		{name: "small-unknown-size", key: "fail/small-unknown", after: 1000, size: -1},
		{name: "multipart", key: "fail/multipart", after: 6 * mib, size: 12 * mib},
		{name: "multipart-unknown-size", key: "fail/multipart-unknown", after: 6 * mib, size: -1},
		{name: "over-an-object", key: "fail/kept", after: 1, size: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Put(ctx, tc.key, &failingReader{n: tc.after}, tc.size)
			if err == nil {
				t.Fatal("a put whose reader failed succeeded")
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q does not name the key", err)
			}
		})
	}
	objs, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Key != "fail/kept" {
		t.Errorf("after failed puts the store holds %+v, want only fail/kept", objs)
	}
	if got := readString(t, s, "fail/kept"); got != "v1" {
		t.Errorf("a failed put over fail/kept left %q, want v1", got)
	}
	if h.pendingUploads != nil {
		if n := h.pendingUploads(t, s); n != 0 {
			t.Errorf("%d incomplete multipart uploads left", n)
		}
	}
}
