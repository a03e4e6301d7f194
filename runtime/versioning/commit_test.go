package versioning_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// objects lists every object of a Dir store under prefix.
func objects(t *testing.T, d artifact.Dir, prefix string) []string {
	t.Helper()
	objs, err := d.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

// dataFile is a file to make a version of.
func dataFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "data.csv")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mount mounts a tmpfs with opts on dir (root only: the test is skipped
// otherwise), unmounted when the test ends.
func mount(t *testing.T, dir, opts string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: the test mounts a tmpfs (mount -t tmpfs), which needs root; it runs as uid", os.Geteuid())
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}

// TestVersionAllOrNothing: a version whose index object cannot be written
// (a read-only file system is mounted where it goes) leaves no record, no
// holding of its name and no content behind; the next attempt makes v1
// with its content and index.
func TestVersionAllOrNothing(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	objs := artifact.Dir{Root: t.TempDir()}
	v := &versioning.Versioner{Objects: objs, Records: st}
	// A read-only mount where the index object of v1 goes makes its Put
	// fail (it cannot be replaced), after the content was stored.
	blocker := filepath.Join(objs.Root, filepath.FromSlash(artifact.VersionIndexKey("dataset", "d", 1)))
	if err := os.MkdirAll(blocker, 0o755); err != nil {
		t.Fatal(err)
	}
	mount(t, blocker, "size=64k,ro")
	if _, err := v.CreateFrom(ctx, "dataset", "d", dataFile(t, "a,b\n1,2\n"), nil); err == nil {
		t.Fatal("CreateFrom succeeded with its index unwritable")
	}
	if _, err := st.GetArtifactVersion(ctx, "dataset", "d", 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after the failed creation the version is there: %v", err)
	}
	if _, err := st.Holding(ctx, "dataset", "d"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after the failed creation the name is still held: %v", err)
	}
	if left := objects(t, objs, "kubeline/versions/datasets/d/"); len(left) != 0 {
		t.Errorf("after the failed creation the artifact store holds %v", left)
	}
	if out, err := exec.Command("umount", blocker).CombinedOutput(); err != nil {
		t.Fatalf("umount: %v %s", err, out)
	}
	os.RemoveAll(blocker)
	pv, err := v.CreateFrom(ctx, "dataset", "d", dataFile(t, "a,b\n1,2\n"), nil)
	if err != nil || !pv.Created || pv.Version != 1 {
		t.Fatalf("second attempt: %+v %v, want v1 created", pv, err)
	}
	if got := objects(t, objs, "kubeline/versions/datasets/d/"); len(got) != 2 {
		t.Errorf("after v1 the artifact store holds %v, want its content and its index", got)
	}
}

// TestVersionRecordFails: a version the metadata store cannot record (its
// disk is full: a tmpfs, which needs root) leaves no content behind; once
// the disk has room the same upload makes v1.
func TestVersionRecordFails(t *testing.T) {
	ctx := context.Background()
	mnt := t.TempDir()
	mount(t, mnt, "size=2m")
	st, err := store.Open(ctx, filepath.Join(mnt, "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	filler, err := os.Create(filepath.Join(mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	for _, err = filler.Write(make([]byte, 4096)); err == nil; _, err = filler.Write(make([]byte, 4096)) {
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("fill: %v", err)
	}
	filler.Close()
	objs := artifact.Dir{Root: t.TempDir()}
	v := &versioning.Versioner{Objects: objs, Records: st}
	data := dataFile(t, "x,y\n3,4\n")
	_, err = v.CreateFrom(ctx, "model", "m", data, nil)
	if !store.Unavailable(err) {
		t.Fatalf("CreateFrom on a full store: %v, want a storage fault", err)
	}
	if left := objects(t, objs, "kubeline/versions/"); len(left) != 0 {
		t.Errorf("after the failed record the artifact store holds %v", left)
	}
	os.Remove(filepath.Join(mnt, "filler"))
	if pv, err := v.CreateFrom(ctx, "model", "m", data, nil); err != nil || pv.Version != 1 {
		t.Fatalf("after the disk has room: %+v %v, want v1", pv, err)
	}
}
