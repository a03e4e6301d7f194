package launcher

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	artstore "github.com/kubeline/kubeline/runtime/artifact"
)

// The output parameters RunResolveVersion writes: the content's URI, and
// its key in the artifact store (what an Argo input artifact names).
const (
	ResolvedURIOutput = "storage-uri"
	ResolvedKeyOutput = "storage-key"
)

// RunResolveVersion resolves a version URI (model://NAME@v2,
// dataset://NAME@latest) through the version index in the artifact store
// and writes the content's URI to OutputsDir/storage-uri — an s3:// URI for
// an object store (what KServe's storage initializer reads) — and its key
// to OutputsDir/storage-key.
func RunResolveVersion(ref string, opts Options) error {
	kind, name, n, ok, err := artstore.ParseVersionURI(ref)
	if err == nil && !ok {
		err = fmt.Errorf("want dataset://NAME@vN or model://NAME@vN, got %q", ref)
	}
	if err != nil {
		return fmt.Errorf("resolve version: %w", err)
	}
	objects, err := opts.objects()
	if err != nil {
		return fmt.Errorf("resolve %s: %w", ref, err)
	}
	idx, err := artstore.ReadVersionIndex(context.Background(), objects, kind, name, n)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", ref, err)
	}
	uri := idx.URI
	if rest, ok := strings.CutPrefix(uri, "minio://"); ok {
		uri = "s3://" + rest
	}
	if err := os.MkdirAll(opts.OutputsDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(opts.OutputsDir, ResolvedURIOutput), []byte(uri), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(opts.OutputsDir, ResolvedKeyOutput), []byte(idx.Key), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(opts.Stdout, "%s is %s %s@v%d (sha256 %s)\n", ref, kind, name, idx.Version, idx.Digest)
	return nil
}
