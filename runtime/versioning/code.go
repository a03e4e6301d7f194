package versioning

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/coderepo"
	"github.com/kubeline/kubeline/runtime/store"
)

// Metadata keys of a code version.
const (
	MetaCommit  = "commit"
	MetaAuthor  = "author"
	MetaMessage = "message"
	MetaTree    = "tree_sha256"
	MetaSource  = "source"
	MetaRef     = "ref"
)

// ErrCodeSource is code whose source could not be read (a clone that
// failed, a ref that does not resolve, a path that does not exist): the
// caller's mistake or the repository's, never the store's.
var ErrCodeSource = errors.New("cannot read the code source")

// CreateCode makes the next version of code name from src: a git
// repository's commit (its tree, read with go-git) or a directory's
// content. A version is made per distinct commit (two commits with the
// same tree are two versions) or, for a directory, per distinct content;
// the same commit or content again is the existing version. The version
// records the commit, its author and message, and the tree's digest.
func (v *Versioner) CreateCode(ctx context.Context, name string, src coderepo.Source) (ProducedVersion, error) {
	if _, _, _, ok, err := artifact.ParseVersionURI("code://" + name); !ok || err != nil {
		return ProducedVersion{}, fmt.Errorf("code name %q: use letters, digits, '.', '_' and '-'", name)
	}
	tmp, err := os.MkdirTemp(v.TempDir, "kubeline-code-")
	if err != nil {
		return ProducedVersion{}, err
	}
	defer os.RemoveAll(tmp)
	tree := filepath.Join(tmp, "tree")
	md := map[string]any{MetaSource: src.Location}
	commit, err := coderepo.Export(ctx, src, tree)
	switch {
	case errors.Is(err, coderepo.ErrNotGit) && src.Ref == "":
		tree, _ = filepath.Abs(src.Path())
	case err != nil:
		return ProducedVersion{}, fmt.Errorf("%w: %v", ErrCodeSource, err) // not wrapped: a clone's network error is not the store's
	default:
		md[MetaCommit], md[MetaAuthor], md[MetaMessage] = commit.Hash, commit.Author, commit.Message
		md["committed_at"] = commit.When
		if src.Ref != "" {
			md[MetaRef] = src.Ref
		}
	}
	treeDigest, _, err := digestTree(tree)
	if err != nil {
		return ProducedVersion{}, fmt.Errorf("digest %s: %w", tree, err)
	}
	md[MetaTree] = treeDigest
	av := store.ArtifactVersion{Kind: store.KindCode, Name: name, SourceKey: src.Location, Metadata: md}
	if commit.Hash != "" {
		h := sha256.Sum256([]byte("git commit " + commit.Hash + "\ntree " + treeDigest + "\n"))
		av.Digest = hex.EncodeToString(h[:])
	}
	return v.store(ctx, av, tree)
}
