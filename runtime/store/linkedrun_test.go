package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// testVersionLinkRuns: a version's usage, oldest first, with its runs'
// group and state, narrowed by group, task and the newest N, counted; a
// link whose run is gone and another version's links are not among them.
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
		time.Sleep(2 * time.Millisecond) // oldest first by created_at (ms)
	}
	a1, b3 := LinkOfRun{links[0], "a", "SUCCEEDED"}, LinkOfRun{links[2], "b", "RUNNING"}
	for _, c := range []struct {
		name  string
		q     UsageQuery
		want  []LinkOfRun
		total int
	}{
		{"every group (not the run gone)", UsageQuery{}, []LinkOfRun{a1, b3}, 2},
		{"group a", UsageQuery{Namespaces: []string{"a"}}, []LinkOfRun{a1}, 1},
		{"no group", UsageQuery{Namespaces: []string{}}, nil, 0},
		{"the newest", UsageQuery{Limit: 1}, []LinkOfRun{b3}, 2},
		{"task eval", UsageQuery{Task: "eval"}, []LinkOfRun{b3}, 1},
	} {
		got, total, err := s.VersionUsage(ctx, "dataset", "d", 1, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(c.want, got, cmpopts.IgnoreFields(VersionLink{}, "CreatedAt"), cmpopts.EquateEmpty()); d != "" || total != c.total {
			t.Errorf("%s: total %d, want %d; usage (-want +got):\n%s", c.name, total, c.total, d)
		}
	}
	produced, err := s.ProducedLinks(ctx, "model", "m", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(produced) != 1 || produced[0].RunID != a.ID {
		t.Errorf("producers of m@v1: %+v, want run %s's link", produced, a.ID)
	}
}
