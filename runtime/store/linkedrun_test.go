package store

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// testVersionLinkRuns: a version's links, oldest first, with their runs'
// group and state; a link whose run is gone says so; another version's
// links are not among them.
func testVersionLinkRuns(t *testing.T, s *Store) {
	ctx := context.Background()
	a := &Run{DisplayName: "train", Namespace: "a", State: "SUCCEEDED", Workflow: `{"big":"workflow"}`}
	b := &Run{DisplayName: "eval", Namespace: "b", State: "RUNNING"}
	for _, r := range []*Run{a, b} {
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	links := []VersionLink{{Kind: "dataset", Name: "d", Version: 1, RunID: a.ID, Task: "train", Key: "k1"},
		{Kind: "model", Name: "m", Version: 1, RunID: a.ID, Key: "k2", Produced: true},
		{Kind: "dataset", Name: "d", Version: 1, RunID: b.ID, Task: "eval", Key: "k3"},
		{Kind: "dataset", Name: "d", Version: 1, RunID: "gone", Key: "k4"}}
	for _, l := range links {
		if err := s.AddLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.VersionLinkRuns(ctx, "dataset", "d", 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []LinkOfRun{{links[0], "a", "SUCCEEDED", true}, {links[2], "b", "RUNNING", true}, {VersionLink: links[3]}}
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(VersionLink{}, "CreatedAt")); d != "" {
		t.Fatalf("links of d@v1 (-want +got):\n%s", d)
	}
}
