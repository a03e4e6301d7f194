package coderepo

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commit writes files into the work tree of repo at dir and commits them.
func commit(t *testing.T, repo *git.Repository, dir, msg string, files map[string]string) string {
	t.Helper()
	wt, err := repo.Worktree()
	require.NoError(t, err)
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		_, err := wt.Add(name)
		require.NoError(t, err)
	}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: &object.Signature{Name: "Ann", Email: "ann@example.com", When: time.Unix(1700000000, 0)}})
	require.NoError(t, err)
	return h.String()
}

func TestExport(t *testing.T) {
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	require.NoError(t, err)
	first := commit(t, repo, dir, "first\n\nbody", map[string]string{"train.sh": "echo v1\n", "lib/a.txt": "a"})
	second := commit(t, repo, dir, "second", map[string]string{"train.sh": "echo v2\n"})
	_, err = repo.CreateTag("v1.0", mustHash(t, first), nil)
	require.NoError(t, err)
	// An uncommitted change is not part of any commit.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "train.sh"), []byte("echo dirty\n"), 0o644))

	for _, c := range []struct{ ref, want, content, msg string }{
		{"", second, "echo v2\n", "second"},
		{"HEAD~1", first, "echo v1\n", "first\n\nbody"},
		{"v1.0", first, "echo v1\n", "first\n\nbody"},
		{first[:10], first, "echo v1\n", "first\n\nbody"},
	} {
		dst := filepath.Join(t.TempDir(), "tree")
		got, err := Export(context.Background(), Source{Location: dir, Ref: c.ref}, dst)
		require.NoError(t, err, c.ref)
		assert.Equal(t, c.want, got.Hash, c.ref)
		assert.Equal(t, "Ann <ann@example.com>", got.Author)
		assert.Equal(t, c.msg, got.Message)
		b, err := os.ReadFile(filepath.Join(dst, "train.sh"))
		require.NoError(t, err)
		assert.Equal(t, c.content, string(b), c.ref)
		b, _ = os.ReadFile(filepath.Join(dst, "lib", "a.txt"))
		assert.Equal(t, "a", string(b))
		_, err = os.Stat(filepath.Join(dst, ".git"))
		assert.True(t, os.IsNotExist(err), "the tree holds .git")
	}
	_, err = Export(context.Background(), Source{Location: "file://" + dir, Ref: "nope"}, filepath.Join(t.TempDir(), "x"))
	assert.ErrorContains(t, err, `ref "nope"`)

	plain := t.TempDir()
	_, err = Export(context.Background(), Source{Location: plain}, filepath.Join(t.TempDir(), "x"))
	assert.ErrorIs(t, err, ErrNotGit)
	_, err = Export(context.Background(), Source{Location: plain, Ref: "main"}, filepath.Join(t.TempDir(), "x"))
	assert.ErrorContains(t, err, "a plain directory has no revisions")
	_, err = Export(context.Background(), Source{Location: filepath.Join(plain, "missing")}, filepath.Join(t.TempDir(), "x"))
	assert.ErrorContains(t, err, "no such file")
}

func TestRemote(t *testing.T) {
	for loc, want := range map[string]bool{"https://github.com/a/b.git": true, "git@github.com:a/b.git": true, "ssh://h/r": true,
		"/srv/repo": false, "file:///srv/repo": false, "./repo": false, "repo": false} {
		assert.Equal(t, want, Source{Location: loc}.Remote(), loc)
	}
}

func mustHash(t *testing.T, s string) plumbing.Hash {
	t.Helper()
	return plumbing.NewHash(s)
}
