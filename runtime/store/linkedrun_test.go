package store

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testLinkedRuns: the runs with a version link, with their group, name and
// state; a run without a link is not among them.
func testLinkedRuns(t *testing.T, s *Store) {
	ctx := context.Background()
	a := &Run{DisplayName: "train", Namespace: "a", State: "SUCCEEDED", Workflow: `{"big":"workflow"}`}
	b := &Run{DisplayName: "eval", Namespace: "b", State: "RUNNING"}
	c := &Run{DisplayName: "unlinked", Namespace: "a", State: "FAILED"}
	for _, r := range []*Run{a, b, c} {
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []VersionLink{{Kind: "dataset", Name: "d", Version: 1, RunID: a.ID, Key: "k1"}, {Kind: "model", Name: "m", Version: 1, RunID: a.ID, Key: "k2", Produced: true},
		{Kind: "dataset", Name: "d", Version: 1, RunID: b.ID, Key: "k3"}} {
		if err := s.AddLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.LinkedRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]LinkedRun{a.ID: {a.ID, "a", "train", "SUCCEEDED"}, b.ID: {b.ID, "b", "eval", "RUNNING"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("linked runs (-want +got):\n%s", d)
	}
}
