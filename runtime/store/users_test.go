package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// testUsers covers users, tokens, groups, pools and owners.
func testUsers(t *testing.T, s *Store) {
	ctx := context.Background()
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("a new store has %d users (%v)", n, err)
	}
	if err := s.CreateGroup(ctx, &Group{Name: "vision", Pool: "a100"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(ctx, &Group{Name: "vision", Pool: "x"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("second group vision: %v", err)
	}
	for _, u := range []*User{{Name: "ada", Roles: []string{"operator"}}, {Name: "bob", Roles: []string{"data-scientist", "ml-engineer"}, Groups: []string{"vision", "default"}}} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateUser(ctx, &User{Name: "eve", Groups: []string{"nope"}}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("user of a missing group: %v", err)
	}
	if _, err := s.GetUser(ctx, "eve"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed creation left user eve: %v", err)
	}
	if err := s.AddToken(ctx, "bob", "h1"); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByToken(ctx, "h1")
	want := User{Name: "bob", Roles: []string{"data-scientist", "ml-engineer"}, Groups: []string{"default", "vision"}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(User{}, "CreatedAt")); err != nil || diff != "" {
		t.Fatalf("by token (-want +got)\n%s %v", diff, err)
	}
	if _, err := s.UserByToken(ctx, "h2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	if err := s.UpdateUser(ctx, "bob", []string{"production-engineer"}, []string{"vision"}); err != nil {
		t.Fatal(err)
	}
	users, page, err := s.ListUsers(ctx, ListOptions{PageSize: 1, SortBy: "name"})
	if err != nil || len(users) != 1 || users[0].Name != "ada" || page.TotalSize != 2 || page.NextPageToken == "" {
		t.Fatalf("page 1: %+v %+v %v", users, page, err)
	}
	users, _, err = s.ListUsers(ctx, ListOptions{PageSize: 1, SortBy: "name", PageToken: page.NextPageToken})
	if err != nil || len(users) != 1 || cmp.Diff([]string{"vision"}, users[0].Groups) != "" || users[0].Roles[0] != "production-engineer" {
		t.Fatalf("page 2: %+v %v", users, err)
	}
	groups, _, err := s.ListGroups(ctx, ListOptions{SortBy: "name"})
	if err != nil || len(groups) != 2 || cmp.Diff([]string{"ada"}, groups[0].Members) != "" || cmp.Diff([]string{"bob"}, groups[1].Members) != "" {
		t.Fatalf("groups %+v %v", groups, err)
	}
	if err := s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByToken(ctx, "h1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a deleted user's token still works: %v", err)
	}
	if gp, err := s.GroupPools(ctx); err != nil || cmp.Diff(map[string]string{"default": "default", "vision": "a100"}, gp) != "" {
		t.Fatalf("group pools %v %v", gp, err)
	}

	p := &GPUPool{Name: "a100", GPUType: "a100", Nodes: []PoolNode{{"n1", 4}}}
	if err := s.CreatePool(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Nodes = []PoolNode{{"n1", 2}, {"n2", 1}}
	if err := s.UpdatePool(ctx, *p); err != nil {
		t.Fatal(err)
	}
	pools, err := s.ListPools(ctx)
	if err != nil || len(pools) != 1 || cmp.Diff(p.Nodes, pools[0].Nodes) != "" {
		t.Fatalf("pools %+v %v", pools, err)
	}
	if err := s.DeletePool(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete a missing pool: %v", err)
	}

	if err := s.SetOwner(ctx, "run", "r1", "ada"); err != nil {
		t.Fatal(err)
	}
	if o, err := s.Owner(ctx, "run", "r1"); err != nil || o != "ada" {
		t.Fatalf("owner %q %v", o, err)
	}
	if o, err := s.Owner(ctx, "run", "r2"); err != nil || o != "" {
		t.Fatalf("owner of an unowned run %q %v", o, err)
	}
}

// testAdmission covers runs' admission records, projects and leaderboards.
func testAdmission(t *testing.T, s *Store) {
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	for i, id := range []string{"a", "b", "c"} {
		if err := s.PutAdmission(ctx, &RunAdmission{RunID: id, Status: StatusQueued, Group: "default", GPUs: int64(i + 1), LargestStep: 1,
			Enqueued: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AdmitRun(ctx, "a", "default", map[string]int64{"n1": 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.AdmitRun(ctx, "a", "default", nil); !errors.Is(err, ErrConflict) {
		t.Fatalf("admit twice: %v", err)
	}
	if err := s.SetWaitReasons(ctx, map[string]string{"b": "needs 2", "a": "not queued"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRunStatus(ctx, "c", StatusStopped); err != nil {
		t.Fatal(err)
	}
	active, err := s.ActiveAdmissions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []RunAdmission{
		{RunID: "a", Kind: KindRun, Status: StatusStarting, Group: "default", GPUs: 1, LargestStep: 1, Enqueued: t0, Pool: "default", Nodes: map[string]int64{"n1": 1}},
		{RunID: "b", Kind: KindRun, Status: StatusQueued, Reason: "needs 2", Group: "default", GPUs: 2, LargestStep: 1, Enqueued: t0.Add(time.Second), Nodes: map[string]int64{}},
	}
	if diff := cmp.Diff(want, active, cmpopts.IgnoreFields(RunAdmission{}, "UpdatedAt")); diff != "" {
		t.Fatalf("active (-want +got)\n%s", diff)
	}

	p := &Project{Name: "mnist", Group: "default", Metric: "accuracy", Direction: "maximize"}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProject(ctx, &Project{Name: "mnist", Group: "default"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("second project mnist: %v", err)
	}
	runs := []struct {
		id, owner, state string
		acc              float64
	}{{"r1", "ada", "SUCCEEDED", 0.8}, {"r2", "ada", "SUCCEEDED", 0.9}, {"r3", "bob", "SUCCEEDED", 0.85}, {"r4", "bob", "FAILED", 0.99}}
	for _, r := range runs {
		run := &Run{ID: r.id, ExperimentID: p.ExperimentID, DisplayName: r.id, State: r.state}
		if err := s.CreateRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		if err := s.SetOwner(ctx, "run", r.id, r.owner); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMetrics(ctx, []Metric{{RunID: r.id, Task: "eval", Artifact: "metrics", Name: "accuracy", Value: r.acc}}); err != nil {
			t.Fatal(err)
		}
	}
	board, err := s.Leaderboard(ctx, *p)
	if err != nil {
		t.Fatal(err)
	}
	wantBoard := []LeaderboardEntry{{Owner: "ada", RunID: "r2", DisplayName: "r2", Value: 0.9}, {Owner: "bob", RunID: "r3", DisplayName: "r3", Value: 0.85}}
	if diff := cmp.Diff(wantBoard, board); diff != "" {
		t.Fatalf("leaderboard (-want +got)\n%s", diff)
	}
	p.Direction = "minimize"
	if board, _ := s.Leaderboard(ctx, *p); len(board) != 2 || board[0].RunID != "r1" {
		t.Fatalf("minimize: %+v", board)
	}
	m, err := s.MetricsOf(ctx, []string{"r1", "r3", "zz"})
	if diff := cmp.Diff(map[string]map[string]float64{"r1": {"accuracy": 0.8}, "r3": {"accuracy": 0.85}, "zz": {}}, m); err != nil || diff != "" {
		t.Fatalf("metrics (-want +got)\n%s %v", diff, err)
	}
	list, _, err := s.ListProjects(ctx, []string{"other"}, ListOptions{})
	if err != nil || len(list) != 0 {
		t.Fatalf("projects of another group: %+v %v", list, err)
	}
	if got, err := s.ProjectOfExperiment(ctx, p.ExperimentID); err != nil || got.Name != "mnist" {
		t.Fatalf("project of experiment: %+v %v", got, err)
	}
	if err := s.DeleteProject(ctx, *p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetExperiment(ctx, p.ExperimentID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the deleted project's experiment: %v", err)
	}
}
