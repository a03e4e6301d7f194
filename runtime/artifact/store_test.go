package artifact

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestDirRoundTrip(t *testing.T) {
	ctx := context.Background()
	d := Dir{Root: t.TempDir()}
	src := filepath.Join(t.TempDir(), "model")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "data"), []byte("w"), 0o644)
	os.WriteFile(filepath.Join(src, "sub", "x"), []byte("y"), 0o644)
	if err := d.Upload(ctx, "kubeline/wf/pod/model", src); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "in")
	if err := d.Download(ctx, "kubeline/wf/pod/model", dst); err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]string{"data": "w", "sub/x": "y"} {
		b, err := os.ReadFile(filepath.Join(dst, rel))
		if err != nil || string(b) != want {
			t.Fatalf("%s = %q, %v", rel, b, err)
		}
	}
	// A single file.
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, []byte("z"), 0o644)
	if err := d.Upload(ctx, "k/f", f); err != nil {
		t.Fatal(err)
	}
	if err := d.Download(ctx, "k/f", filepath.Join(dst, "f2")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "f2")); string(b) != "z" {
		t.Fatalf("file round trip gave %q", b)
	}
	if err := d.Download(ctx, "nope", dst); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if err := d.Upload(ctx, "../escape", f); err == nil {
		t.Fatal("a key with .. was accepted")
	}
}
