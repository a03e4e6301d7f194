package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testReadsSeeWrites: what a request reads of a caller (token, roles,
// groups) and of a resource (its holder) is the last write, at once: a
// changed role, a moved resource, a deleted user's token. (On SQLite the
// reads go to the read pool, the writes to the writer: conns.go.)
func testReadsSeeWrites(t *testing.T, s *Store) {
	ctx := context.Background()
	for _, g := range []string{"g1", "g2"} {
		if err := s.CreateGroup(ctx, &Group{Name: g, Pool: "default"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateUser(ctx, &User{Name: "cal", Roles: []string{"data-scientist"}, Groups: []string{"g1"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddToken(ctx, "cal", "hc"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Own(ctx, Ownership{Kind: KindDeployment, ID: "d", Group: "g1", Owner: "cal"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		role, group := fmt.Sprintf("role-%d", i), []string{"g1", "g2"}[i%2]
		if err := s.UpdateUser(ctx, "cal", []string{role}, []string{group}); err != nil {
			t.Fatal(err)
		}
		u, err := s.UserByToken(ctx, "hc")
		if err != nil || cmp.Diff([]string{role}, u.Roles) != "" || cmp.Diff([]string{group}, u.Groups) != "" {
			t.Fatalf("write %d: by token %+v %v, want roles [%s] groups [%s]", i, u, err, role, group)
		}
		if err := s.Disown(ctx, KindDeployment, "d"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Holding(ctx, KindDeployment, "d"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("write %d: a disowned deployment is still held: %v", i, err)
		}
		if _, err := s.Own(ctx, Ownership{Kind: KindDeployment, ID: "d", Group: group, Owner: "cal"}); err != nil {
			t.Fatal(err)
		}
		if o, err := s.Holding(ctx, KindDeployment, "d"); err != nil || o.Group != group {
			t.Fatalf("write %d: deployment held by %+v %v, want group %s", i, o, err, group)
		}
	}
	if err := s.DeleteUser(ctx, "cal"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByToken(ctx, "hc"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the token of a user deleted a moment ago: %v, want ErrNotFound", err)
	}
}

// TestReadsDoNotWaitForTheWriter: while a write transaction is open on a
// SQLite store's writer (the prediction recorder's batch, a run's
// update), a request's reads — its caller's token, the deployment's
// holder — are answered at once from the last committed state; the
// transaction's writes show once it commits. (Mutation-checked: with the
// reads on the writer, as before conns.go, the reads wait for the
// transaction and miss their deadline.)
func TestReadsDoNotWaitForTheWriter(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateUser(ctx, &User{Name: "cal", Roles: []string{"data-scientist"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddToken(ctx, "cal", "hc"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Own(ctx, Ownership{Kind: KindDeployment, ID: "d", Owner: "cal"}); err != nil {
		t.Fatal(err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO user_tokens (hash, user_name, created_at) VALUES ('hc2', 'cal', 0)"); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	if u, err := s.UserByToken(rctx, "hc"); err != nil || u.Name != "cal" {
		t.Fatalf("token read during a write transaction: %+v %v (after %v)", u, err, time.Since(start))
	}
	if o, err := s.Holding(rctx, KindDeployment, "d"); err != nil || o.Owner != "cal" {
		t.Fatalf("holder read during a write transaction: %+v %v (after %v)", o, err, time.Since(start))
	}
	if _, err := s.UserByToken(rctx, "hc2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a token of a transaction not yet committed: %v, want ErrNotFound", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if u, err := s.UserByToken(ctx, "hc2"); err != nil || u.Name != "cal" {
		t.Fatalf("a token just committed: %+v %v", u, err)
	}
	// The readers cannot write: a write sent to them fails, it does not
	// go past the writer.
	if s.db.read == nil {
		t.Fatal("a SQLite file store has no readers")
	}
	if _, err := s.db.read.ExecContext(ctx, "DELETE FROM user_tokens"); err == nil {
		t.Fatal("a reader wrote")
	}
}

// TestWritesOfAnotherProcess: a token revoked (its user deleted) and a
// role changed through another connection to the same SQLite file — as
// kubeline's CLI or another server process would — are seen by the
// store's next reads.
func TestWritesOfAnotherProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "k.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.CreateUser(ctx, &User{Name: "cal", Roles: []string{"data-scientist"}}); err != nil {
		t.Fatal(err)
	}
	if err := other.AddToken(ctx, "cal", "hc"); err != nil {
		t.Fatal(err)
	}
	if u, err := s.UserByToken(ctx, "hc"); err != nil || cmp.Diff([]string{"data-scientist"}, u.Roles) != "" {
		t.Fatalf("by token: %+v %v", u, err)
	}
	if err := other.UpdateUser(ctx, "cal", []string{"viewer"}, nil); err != nil {
		t.Fatal(err)
	}
	if u, err := s.UserByToken(ctx, "hc"); err != nil || cmp.Diff([]string{"viewer"}, u.Roles) != "" {
		t.Fatalf("by token after the role changed elsewhere: %+v %v, want roles [viewer]", u, err)
	}
	if err := other.DeleteUser(ctx, "cal"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByToken(ctx, "hc"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a token revoked elsewhere: %v, want ErrNotFound", err)
	}
}
