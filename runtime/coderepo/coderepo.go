package coderepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Commit is the git commit a tree was read from.
type Commit struct {
	Hash    string    `json:"commit"`
	Author  string    `json:"author"`
	Message string    `json:"message"`
	When    time.Time `json:"committed_at"`
	// Ref is the revision asked for ("" = HEAD).
	Ref string `json:"ref,omitempty"`
}

// Source is where code comes from: a git repository (a local one, or a
// URL to clone) at a revision, or a plain directory.
type Source struct {
	// Location is a directory, a file:// URL, or a remote git URL
	// (https://, http://, git://, ssh:// or user@host:path).
	Location string
	// Ref is a branch, tag or commit; "" is HEAD. A plain directory has
	// no revisions: a Ref there is an error.
	Ref string
}

// Remote reports whether the source is a URL to clone rather than a path
// on this machine.
func (s Source) Remote() bool {
	l := s.Location
	if strings.HasPrefix(l, "file://") {
		return false
	}
	if strings.Contains(l, "://") {
		return true
	}
	// scp-like user@host:path, not a Windows drive or a local path.
	at, colon := strings.Index(l, "@"), strings.Index(l, ":")
	return at > 0 && colon > at && !strings.HasPrefix(l, "/") && !strings.HasPrefix(l, ".")
}

// Path is the local path of a source that is not Remote.
func (s Source) Path() string { return strings.TrimPrefix(s.Location, "file://") }

// ErrNotGit is a local directory that is not a git repository.
var ErrNotGit = errors.New("not a git repository")

// Export writes the tree of the source's commit into dst (created; it must
// not exist) and returns the commit. A local directory that is not a git
// repository is ErrNotGit (with no Ref: version the directory itself). A
// ref that does not resolve names the ref.
func Export(ctx context.Context, src Source, dst string) (Commit, error) {
	repo, err := open(ctx, src)
	if err != nil {
		return Commit{}, err
	}
	rev := src.Ref
	if rev == "" {
		rev = "HEAD"
	}
	hash, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return Commit{}, fmt.Errorf("%s: ref %q: %w", src.Location, rev, err)
	}
	c, err := repo.CommitObject(*hash)
	if err != nil {
		return Commit{}, fmt.Errorf("%s: commit %s: %w", src.Location, hash, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return Commit{}, fmt.Errorf("%s: tree of %s: %w", src.Location, hash, err)
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		return Commit{}, err
	}
	if err := writeTree(tree, dst); err != nil {
		return Commit{}, fmt.Errorf("%s at %s: %w", src.Location, c.Hash.String()[:12], err)
	}
	return Commit{Hash: c.Hash.String(), Author: fmt.Sprintf("%s <%s>", c.Author.Name, c.Author.Email),
		Message: strings.TrimSpace(c.Message), When: c.Committer.When.UTC(), Ref: src.Ref}, nil
}

// open opens a local repository or clones a remote one into memory.
func open(ctx context.Context, src Source) (*git.Repository, error) {
	if src.Remote() {
		repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{URL: src.Location, Tags: git.AllTags})
		if err != nil {
			return nil, fmt.Errorf("clone %s: %w", src.Location, err)
		}
		return repo, nil
	}
	p := src.Path()
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("code source: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("code source %s: not a directory", p)
	}
	repo, err := git.PlainOpen(p)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		if src.Ref != "" {
			return nil, fmt.Errorf("code source %s: --ref %s: %w (a plain directory has no revisions)", p, src.Ref, ErrNotGit)
		}
		return nil, fmt.Errorf("code source %s: %w", p, ErrNotGit)
	}
	if err != nil {
		return nil, fmt.Errorf("open git repository %s: %w", p, err)
	}
	return repo, nil
}

// writeTree writes a commit's files under dst: regular and executable
// files with their modes, symbolic links only when they point inside the
// tree (a link out of it would make the version's content depend on this
// machine); submodules are not followed.
func writeTree(tree *object.Tree, dst string) error {
	return tree.Files().ForEach(func(f *object.File) error {
		name := filepath.FromSlash(f.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("file %q: not a path inside the tree", f.Name)
		}
		p := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		switch f.Mode {
		case filemode.Symlink:
			target, err := f.Contents()
			if err != nil {
				return err
			}
			if path.IsAbs(target) || !filepath.IsLocal(filepath.Join(filepath.Dir(name), filepath.FromSlash(target))) {
				return fmt.Errorf("symbolic link %s -> %s: points outside the tree", f.Name, target)
			}
			return os.Symlink(target, p)
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			mode := os.FileMode(0o644)
			if f.Mode == filemode.Executable {
				mode = 0o755
			}
			return writeFile(f, p, mode)
		}
		return nil
	})
}

func writeFile(f *object.File, p string, mode os.FileMode) error {
	r, err := f.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	out, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
