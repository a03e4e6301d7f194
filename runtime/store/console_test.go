package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testHPOExperiments: runs marked as HPO experiments list newest first,
// by group ("" is the default group's), with their run's name and state;
// a run not marked is not one.
func testHPOExperiments(t *testing.T, s *Store) {
	ctx := context.Background()
	var ids []string
	for i, ns := range []string{"", "a", "b", "a"} {
		r := &Run{DisplayName: "exp-" + string(rune('0'+i)), Namespace: ns, Workflow: "{}"}
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
		if i < 3 {
			if err := s.MarkHPOExperiment(ctx, r.ID, "e"+string(rune('0'+i))); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond) // distinct creation times
		}
	}
	names := func(groups []string) []string {
		es, err := s.ListHPOExperiments(ctx, groups, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Name+"/"+e.DisplayName+"/"+e.State)
		}
		return out
	}
	if d := cmp.Diff([]string{"e2/exp-2/PENDING", "e1/exp-1/PENDING", "e0/exp-0/PENDING"}, names(nil)); d != "" {
		t.Errorf("every group (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"e1/exp-1/PENDING", "e0/exp-0/PENDING"}, names([]string{"a", DefaultGroup})); d != "" {
		t.Errorf("groups a and default (-want +got):\n%s", d)
	}
	if got := names([]string{}); len(got) != 0 {
		t.Errorf("no groups: %v", got)
	}
	if name, err := s.HPOExperimentOf(ctx, ids[1]); err != nil || name != "e1" {
		t.Errorf("HPOExperimentOf: %q %v", name, err)
	}
	if _, err := s.HPOExperimentOf(ctx, ids[3]); !errors.Is(err, ErrNotFound) {
		t.Errorf("a plain run: %v", err)
	}
	if err := s.MarkHPOExperiment(ctx, ids[0], "again"); !errors.Is(err, ErrConflict) {
		t.Errorf("marked twice: %v", err)
	}
}

// testPoolUsage: samples come back per pool, oldest first, led by the
// last one before the period; samples older than PoolUsageKept go.
func testPoolUsage(t *testing.T, s *Store) {
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	err := s.RecordPoolUsage(ctx, []PoolSample{
		{Pool: "default", At: base.Add(-PoolUsageKept - time.Hour), Total: 8},
		{Pool: "default", At: at(0), Total: 8, Used: 2},
		{Pool: "default", At: at(10), Total: 8, Used: 4, Queued: 1},
		{Pool: "train", At: at(5), Total: 2, Used: 2},
		{Pool: "default", At: at(20), Total: 6, Used: 6},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.PoolUsage(ctx, at(8))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]PoolSample{
		"default": {{Pool: "default", At: at(0), Total: 8, Used: 2}, {Pool: "default", At: at(10), Total: 8, Used: 4, Queued: 1},
			{Pool: "default", At: at(20), Total: 6, Used: 6}},
		"train": {{Pool: "train", At: at(5), Total: 2, Used: 2}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("usage since minute 8 (-want +got):\n%s", d)
	}
	all, err := s.PoolUsage(ctx, time.Time{}.Add(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if len(all["default"]) != 3 {
		t.Errorf("the sample older than %s is kept: %v", PoolUsageKept, all["default"])
	}
	// The same moment again replaces its sample.
	if err := s.RecordPoolUsage(ctx, []PoolSample{{Pool: "train", At: at(5), Total: 2, Used: 1}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PoolUsage(ctx, at(0)); len(got["train"]) != 1 || got["train"][0].Used != 1 {
		t.Errorf("replaced sample: %v", got["train"])
	}
}
