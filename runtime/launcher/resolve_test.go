package launcher

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	artstore "github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// TestResolveVersion: versions made by the Versioner are found by a step
// that only sees the artifact store (their index objects).
func TestResolveVersion(t *testing.T) {
	ctx := context.Background()
	o, out := opts(t, "{}", nil)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	objects := artstore.Dir{Root: strings.TrimPrefix(o.ArtifactRoot, "file://")}
	v := &versioning.Versioner{Objects: objects, Records: st}
	var uris, keys []string
	for _, content := range []string{"weights 1", "weights 2"} {
		f := filepath.Join(t.TempDir(), "model.txt")
		os.WriteFile(f, []byte(content), 0o644)
		pv, err := v.CreateFrom(ctx, "model", "m", f, nil)
		if err != nil || !pv.Created {
			t.Fatalf("create: %+v %v", pv, err)
		}
		uris, keys = append(uris, pv.URI), append(keys, pv.Key)
	}
	for ref, want := range map[string]string{"model://m@v1": uris[0], "model://m@latest": uris[1], "model://m": uris[1]} {
		if err := RunResolveVersion(ref, o); err != nil {
			t.Fatalf("%s: %v\n%s", ref, err, out)
		}
		if got := readOut(t, o, ResolvedURIOutput); got != want {
			t.Errorf("%s resolved to %s, want %s", ref, got, want)
		}
		if got, want := readOut(t, o, ResolvedKeyOutput), keys[slices.Index(uris, want)]; got != want || !strings.HasPrefix(got, "kubeline/versions/models/m/") {
			t.Errorf("%s resolved to key %s, want %s", ref, got, want)
		}
	}
	for ref, want := range map[string]string{"model://m@v3": "not found", "model://nope@latest": "has no version", "http://x": "want dataset://"} {
		if err := RunResolveVersion(ref, o); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", ref, err, want)
		}
	}
}
