package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testRunListings: a kept listing is what ListRunSummaries returns (and no
// spec or workflow), it is found missing for ended runs only, a new
// workflow drops its task details (not its spec), a state change alone
// keeps them, and deleting the run deletes it.
func testRunListings(t *testing.T, s *Store) {
	ctx := context.Background()
	inline := &Run{DisplayName: "inline", PipelineSpec: "pipelineInfo: {name: x}", Workflow: `{"w":0}`}
	running := &Run{DisplayName: "running", PipelineSpec: "pipelineInfo: {name: y}"}
	for _, r := range []*Run{inline, running} {
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UpdateRun(ctx, running.ID, "RUNNING", "", `{"w":1}`, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRun(ctx, inline.ID, "SUCCEEDED", "", `{"w":2}`, time.Now()); err != nil {
		t.Fatal(err)
	}
	missing := func() []string {
		t.Helper()
		ids, err := s.EndedRunsWithoutListing(ctx, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if diff := cmp.Diff([]string{inline.ID}, missing()); diff != "" {
		t.Fatalf("ended runs without a listing (-want +got):\n%s", diff)
	}
	kept := RunListing{Spec: `{"pipelineInfo":{"name":"x"}}`, Tasks: `[{"task_id":"a"}]`}
	if err := s.SetRunListings(ctx, map[string]RunListing{inline.ID: kept, running.ID: {Spec: `{"y":1}`}}); err != nil {
		t.Fatal(err)
	}
	listings := func() map[string]RunListing {
		t.Helper()
		runs, _, err := s.ListRunSummaries(ctx, "", "", ListOptions{PageSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]RunListing{}
		for _, r := range runs {
			if r.Workflow != "" || r.PipelineSpec != "" || r.State == "" {
				t.Fatalf("summary of %s carries its spec or workflow or lacks its state: %+v", r.DisplayName, r)
			}
			out[r.DisplayName] = r.Listing
		}
		return out
	}
	want := map[string]RunListing{"inline": kept, "running": {Spec: `{"y":1}`}}
	if diff := cmp.Diff(want, listings()); diff != "" {
		t.Fatalf("listings (-want +got):\n%s", diff)
	}
	if ids := missing(); len(ids) != 0 {
		t.Fatalf("after keeping: runs without a listing %v", ids)
	}
	// Tasks given later keep the spec; an empty part keeps what is there.
	if err := s.SetRunListings(ctx, map[string]RunListing{running.ID: {Tasks: `[]`}}); err != nil {
		t.Fatal(err)
	}
	want["running"] = RunListing{Spec: `{"y":1}`, Tasks: `[]`}
	if diff := cmp.Diff(want, listings()); diff != "" {
		t.Fatalf("listings after tasks (-want +got):\n%s", diff)
	}
	// Archiving or a state without a new workflow keeps the task details
	// (retry sets PENDING first); a new workflow drops them.
	if err := s.SetRunStorage(ctx, inline.ID, "ARCHIVED"); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRun(ctx, inline.ID, "PENDING", "", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, listings()); diff != "" {
		t.Fatalf("listings after a state change (-want +got):\n%s", diff)
	}
	if err := s.UpdateRun(ctx, inline.ID, "FAILED", "boom", `{"w":3}`, time.Now()); err != nil {
		t.Fatal(err)
	}
	want["inline"] = RunListing{Spec: kept.Spec}
	if diff := cmp.Diff(want, listings()); diff != "" {
		t.Fatalf("listings after a new workflow (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{inline.ID}, missing()); diff != "" {
		t.Fatalf("ended runs without a listing after a new workflow (-want +got):\n%s", diff)
	}
	full, err := s.RunsByID(ctx, []string{inline.ID, "nope"})
	if err != nil || len(full) != 1 || full[0].Workflow != `{"w":3}` || full[0].PipelineSpec != inline.PipelineSpec {
		t.Fatalf("runs by id: %+v %v", full, err)
	}
	if err := s.DeleteRun(ctx, inline.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM run_listings WHERE run_id = ?"), inline.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("listings of a deleted run: %d %v", n, err)
	}
}
