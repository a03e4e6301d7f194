package artifact

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDirStore(t *testing.T) {
	testStore(t, storeHarness{open: func(t *testing.T) Store { return Dir{Root: t.TempDir()} }})
}

func TestDirURI(t *testing.T) {
	if got := (Dir{Root: "/var/art"}).URI("kubeline/wf/pod/m"); got != "file:///var/art/kubeline/wf/pod/m" {
		t.Errorf("URI = %s", got)
	}
}

// TestDirUploadKeepsDirectories: Upload keeps the owner's permission bits and empty
// directories, as the local engine's steps expect.
func TestDirUploadKeepsDirectories(t *testing.T) {
	ctx := context.Background()
	d := Dir{Root: t.TempDir()}
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "empty"), 0o755)
	os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\n"), 0o755)
	if err := d.Upload(ctx, "k/tree", src); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(d.Root, "k/tree/empty")); err != nil || !fi.IsDir() {
		t.Errorf("empty directory not kept: %v", err)
	}
	// The owner's execute bit stays; group and others get nothing (the
	// store's files are its user's alone).
	if fi, err := os.Stat(filepath.Join(d.Root, "k/tree/run.sh")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("run.sh mode = %v, %v; want 0700", fi.Mode(), err)
	}
	if err := d.Upload(ctx, "k/tree", filepath.Join(src, "missing")); err == nil {
		t.Error("uploading a missing path succeeded")
	}
	if _, err := os.Stat(filepath.Join(d.Root, "k/tree/run.sh")); err != nil {
		t.Errorf("a failed upload removed what the key held: %v", err)
	}
}

// TestDirChecksumRecords: sums recorded at write time are used while the
// file is unchanged; a file changed or written by other means is hashed.
func TestDirChecksumRecords(t *testing.T) {
	ctx := context.Background()
	d := Dir{Root: t.TempDir()}
	const key = "k/obj"
	if _, err := d.Put(ctx, key, strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	const helloSum = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	rec, err := os.ReadFile(d.sumPath(key))
	if err != nil || !strings.HasPrefix(string(rec), helloSum+" 5 ") {
		t.Fatalf("record = %q, %v", rec, err)
	}
	const byeSum = "b49f425a7e1f9cff3856329ada223f2f9d368f15a00cf48df16ca95986137fe8"
	tests := []struct{ name, key, content, want string }{
		{"rewritten by other means", key, "bye", byeSum},
		{"written by other means", "k/other", "hello", helloSum},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(d.Root, tc.key), []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if o, err := d.Stat(ctx, tc.key); err != nil || o.SHA256 != tc.want {
				t.Errorf("Stat = %+v, %v; want sha256 %s", o, err, tc.want)
			}
		})
	}
	// The store's own files never show.
	objs, err := d.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	if diff := cmp.Diff([]string{"k/obj", "k/other"}, keys); diff != "" {
		t.Errorf("List(\"\") (-want +got):\n%s", diff)
	}
}

func TestDirRead(t *testing.T) {
	ctx := context.Background()
	d := Dir{Root: t.TempDir()}
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "data"), []byte("w"), 0o644)
	if err := d.Upload(ctx, "kubeline/wf/pod/model", src); err != nil {
		t.Fatal(err)
	}
	if b, err := d.Read(ctx, "kubeline/wf/pod/model"); err != nil || string(b) != "w" {
		t.Errorf("Read = %q, %v", b, err)
	}
	if _, err := d.Read(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Read of a missing key: want ErrNotFound, got %v", err)
	}
	// A metrics artifact: its directory holds metadata.json and no data.
	meta := t.TempDir()
	os.WriteFile(filepath.Join(meta, "metadata.json"), []byte("{}"), 0o644)
	if err := d.Upload(ctx, "kubeline/wf/pod/metrics", meta); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(ctx, "kubeline/wf/pod/metrics"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Read of an artifact without data: want ErrNotFound, got %v", err)
	}
}
