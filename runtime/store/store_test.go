package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"
)

// The same suite runs against SQLite and a real PostgreSQL server that the
// test starts from the installed server binaries (.ci/run installs them).

func TestSQLite(t *testing.T) {
	suite(t, func(t *testing.T) *Store {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "kubeline.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestPostgres(t *testing.T) {
	dsn := startPostgres(t)
	n := 0
	suite(t, func(t *testing.T) *Store {
		n++
		db := fmt.Sprintf("kubeline_%d", n)
		admin, err := Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.db.Exec("CREATE DATABASE " + db); err != nil {
			t.Fatal(err)
		}
		admin.Close()
		u, _ := url.Parse(dsn)
		u.Path = "/" + db
		s, err := Open(context.Background(), u.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// startPostgres starts a throwaway PostgreSQL cluster on a free port and a
// private socket directory, and returns its DSN.
func startPostgres(t *testing.T) string {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		t.Fatal("PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install postgresql (.ci/run does)")
	}
	sort.Strings(bins)
	bin := filepath.Dir(bins[len(bins)-1])
	dir, err := os.MkdirTemp("", "kubeline-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var prefix []string
	if os.Geteuid() == 0 { // PostgreSQL refuses to run as root
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal("running as root needs the postgres user: ", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		os.Chmod(dir, 0o755)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		prefix = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(args ...string) {
		cmd := exec.Command(append(append([]string{}, prefix...), args...)[0], append(append([]string{}, prefix...), args...)[1:]...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	data := filepath.Join(dir, "data")
	run(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
	run(filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir), "start")
	t.Cleanup(func() { run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop") })
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}

func suite(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("pipelines", func(t *testing.T) { testPipelines(t, open(t)) })
	t.Run("pagination", func(t *testing.T) { testPagination(t, open(t)) })
	t.Run("filters", func(t *testing.T) { testFilters(t, open(t)) })
	t.Run("runs", func(t *testing.T) { testRuns(t, open(t)) })
	t.Run("run listings", func(t *testing.T) { testRunListings(t, open(t)) })
	t.Run("run counts", func(t *testing.T) { testRunCounts(t, open(t)) })
	t.Run("recurring", func(t *testing.T) { testRecurring(t, open(t)) })
	t.Run("artifact versions", func(t *testing.T) { testArtifactVersions(t, open(t)) })
	t.Run("catalog", func(t *testing.T) { testCatalog(t, open(t)) })
	t.Run("featuresets", func(t *testing.T) { testFeatureSets(t, open(t)) })
	t.Run("clusters", func(t *testing.T) { testClusters(t, open(t)) })
	t.Run("ownership", func(t *testing.T) { testOwnership(t, open(t)) })
	t.Run("users", func(t *testing.T) { testUsers(t, open(t)) })
	t.Run("admission", func(t *testing.T) { testAdmission(t, open(t)) })
	t.Run("mlmd ids", func(t *testing.T) { testMLMDIDs(t, open(t)) })
	t.Run("images", func(t *testing.T) { testImages(t, open(t)) })
	t.Run("ides", func(t *testing.T) { testIDEs(t, open(t)) })
	t.Run("predictions", func(t *testing.T) { testPredictions(t, open(t)) })
	t.Run("predictions migration", func(t *testing.T) { testPredictionsMigration(t, open(t)) })
	t.Run("hpo experiments", func(t *testing.T) { testHPOExperiments(t, open(t)) })
	t.Run("pool usage", func(t *testing.T) { testPoolUsage(t, open(t)) })
	t.Run("reads see writes", func(t *testing.T) { testReadsSeeWrites(t, open(t)) })
	t.Run("version link runs", func(t *testing.T) { testVersionLinkRuns(t, open(t)) })
}

func testPipelines(t *testing.T, s *Store) {
	ctx := context.Background()
	p := &Pipeline{Name: "train"}
	v := &PipelineVersion{Name: "v1", Spec: "pipelineInfo: {name: train}"}
	if err := s.CreatePipeline(ctx, p, v); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePipeline(ctx, &Pipeline{Name: "train"}, nil); !errors.Is(err, ErrConflict) {
		t.Fatalf("a second pipeline named train: %v, want ErrConflict", err)
	}
	got, err := s.GetPipelineByName(ctx, "", "train")
	if err != nil || got.ID != p.ID || got.DisplayName != "train" || got.CreatedAt.IsZero() {
		t.Fatalf("by name: %+v %v", got, err)
	}
	time.Sleep(2 * time.Millisecond)
	v2 := &PipelineVersion{PipelineID: p.ID, Name: "v2", Spec: "x"}
	if err := s.CreateVersion(ctx, v2); err != nil {
		t.Fatal(err)
	}
	if latest, err := s.LatestVersion(ctx, p.ID); err != nil || latest.ID != v2.ID {
		t.Fatalf("latest %+v %v, want v2", latest, err)
	}
	if err := s.CreateVersion(ctx, &PipelineVersion{PipelineID: "nope", Name: "x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("version of a missing pipeline: %v", err)
	}
	if err := s.DeletePipeline(ctx, p.ID, false); !errors.Is(err, ErrConflict) {
		t.Fatalf("delete without cascade: %v, want ErrConflict", err)
	}
	if err := s.DeletePipeline(ctx, p.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetVersion(ctx, v.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("version after cascade delete: %v", err)
	}
	if _, err := s.GetPipeline(ctx, p.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pipeline after delete: %v", err)
	}
}

func testPagination(t *testing.T, s *Store) {
	ctx := context.Background()
	for i := 0; i < 25; i++ {
		if err := s.CreatePipeline(ctx, &Pipeline{Name: fmt.Sprintf("p%02d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, sortBy := range []string{"name", "name desc", "created_at", ""} {
		var names []string
		opts := ListOptions{PageSize: 10, SortBy: sortBy}
		pages := 0
		for {
			got, page, err := s.ListPipelines(ctx, "", opts)
			if err != nil {
				t.Fatalf("%q: %v", sortBy, err)
			}
			pages++
			if page.TotalSize != 25 {
				t.Fatalf("total_size %d", page.TotalSize)
			}
			for _, p := range got {
				names = append(names, p.Name)
			}
			if page.NextPageToken == "" {
				break
			}
			opts.PageToken = page.NextPageToken
		}
		if pages != 3 || len(names) != 25 {
			t.Fatalf("%q: %d pages, %d rows", sortBy, pages, len(names))
		}
		sorted := sort.StringsAreSorted(names)
		if sortBy == "name desc" {
			sorted = sort.SliceIsSorted(names, func(i, j int) bool { return names[i] > names[j] })
		}
		if !sorted && sortBy != "created_at" && sortBy != "" {
			t.Fatalf("%q: rows out of order: %v", sortBy, names)
		}
		seen := map[string]bool{}
		for _, n := range names {
			if seen[n] {
				t.Fatalf("%q: %s listed twice", sortBy, n)
			}
			seen[n] = true
		}
	}
	_, page, _ := s.ListPipelines(ctx, "", ListOptions{PageSize: 10, SortBy: "name"})
	if _, _, err := s.ListPipelines(ctx, "", ListOptions{PageSize: 10, SortBy: "name desc", PageToken: page.NextPageToken}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("token with another sort_by: %v, want ErrInvalid", err)
	}
	for _, bad := range []ListOptions{{PageSize: -1}, {SortBy: "colour"}, {SortBy: "name sideways"}, {PageToken: "garbage!"}} {
		if _, _, err := s.ListPipelines(ctx, "", bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%+v: %v, want ErrInvalid", bad, err)
		}
	}
	if got, _, _ := s.ListPipelines(ctx, "", ListOptions{PageSize: 500}); len(got) != 25 {
		t.Fatalf("page_size 500 gave %d rows", len(got))
	}
}

func testFilters(t *testing.T, s *Store) {
	ctx := context.Background()
	for _, n := range []string{"alpha", "alphabet", "beta", "gamma_1", "gamma%2"} {
		if err := s.CreatePipeline(ctx, &Pipeline{Name: n, DisplayName: n}, nil); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		filter string
		want   []string
	}{
		// The SDK: numeric operations, camelCase, encoded once.
		{`{"predicates":[{"operation":9,"key":"display_name","stringValue":"alpha"}]}`, []string{"alpha", "alphabet"}},
		// The UI: names, snake_case, URL-encoded twice (decoded once by net/url).
		{url.QueryEscape(`{"predicates":[{"operation":"EQUALS","key":"name","string_value":"beta"}]}`), []string{"beta"}},
		{`{"predicates":[{"operation":"IN","key":"name","string_values":{"values":["beta","gamma_1"]}}]}`, []string{"beta", "gamma_1"}},
		{`{"predicates":[{"operation":"IS_SUBSTRING","key":"name","string_value":"_"}]}`, []string{"gamma_1"}},
		{`{"predicates":[{"operation":"IS_SUBSTRING","key":"name","string_value":"%"}]}`, []string{"gamma%2"}},
		{`{"predicates":[{"operation":"NOT_EQUALS","key":"name","string_value":"beta"},{"operation":"LESS_THAN","key":"name","string_value":"b"}]}`, []string{"alpha", "alphabet"}},
		{`{"predicates":[{"operation":"GREATER_THAN","key":"created_at","timestamp_value":"2000-01-01T00:00:00Z"}]}`, []string{"alpha", "alphabet", "beta", "gamma%2", "gamma_1"}},
	}
	for _, tc := range cases {
		f, err := ParseFilter(tc.filter)
		if err != nil {
			t.Fatalf("%s: %v", tc.filter, err)
		}
		got, page, err := s.ListPipelines(ctx, "", ListOptions{Filter: f, SortBy: "name"})
		if err != nil {
			t.Fatalf("%s: %v", tc.filter, err)
		}
		var names []string
		for _, p := range got {
			names = append(names, p.Name)
		}
		if fmt.Sprint(names) != fmt.Sprint(tc.want) || page.TotalSize != len(tc.want) {
			t.Errorf("%s: %v (total %d), want %v", tc.filter, names, page.TotalSize, tc.want)
		}
	}
	for _, bad := range []string{`{`, `{"predicates":[{"operation":"LIKE","key":"name","string_value":"x"}]}`,
		`{"predicates":[{"operation":1,"key":"colour","string_value":"x"}]}`, `{"predicates":[{"operation":1,"key":"name"}]}`} {
		f, err := ParseFilter(bad)
		if err == nil {
			_, _, err = s.ListPipelines(ctx, "", ListOptions{Filter: f})
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", bad, err)
		}
	}
}

func testRuns(t *testing.T, s *Store) {
	ctx := context.Background()
	e := &Experiment{Name: "default"}
	if err := s.CreateExperiment(ctx, e); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < 3; i++ {
		r := &Run{ExperimentID: e.ID, DisplayName: fmt.Sprintf("run-%d", i), Workflow: `{"kind":"Workflow"}`}
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	if err := s.UpdateRun(ctx, ids[0], "RUNNING", "", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	done := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.UpdateRun(ctx, ids[0], "SUCCEEDED", "", `{"status":{"phase":"Succeeded"}}`, done); err != nil {
		t.Fatal(err)
	}
	r, err := s.GetRun(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, ev := range r.StateHistory {
		states = append(states, ev.State)
	}
	if fmt.Sprint(states) != "[PENDING RUNNING SUCCEEDED]" || !r.FinishedAt.Equal(done) || r.Workflow != `{"status":{"phase":"Succeeded"}}` {
		t.Fatalf("run %+v", r)
	}
	unfinished, err := s.UnfinishedRuns(ctx)
	if err != nil || len(unfinished) != 2 {
		t.Fatalf("unfinished %d %v", len(unfinished), err)
	}
	f, _ := ParseFilter(`{"predicates":[{"operation":"EQUALS","key":"state","string_value":"SUCCEEDED"}]}`)
	got, page, err := s.ListRuns(ctx, "", e.ID, ListOptions{Filter: f})
	if err != nil || len(got) != 1 || page.TotalSize != 1 || got[0].ID != ids[0] {
		t.Fatalf("runs with state SUCCEEDED: %d %v", len(got), err)
	}
	if err := s.SetExperimentStorage(ctx, e.ID, "ARCHIVED"); err != nil {
		t.Fatal(err)
	}
	f, _ = ParseFilter(`{"predicates":[{"operation":"NOT_EQUALS","key":"storage_state","string_value":"ARCHIVED"}]}`)
	if got, _, _ := s.ListRuns(ctx, "", "", ListOptions{Filter: f}); len(got) != 0 {
		t.Fatalf("archiving the experiment left %d runs available", len(got))
	}
	if err := s.DeleteRun(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRun(ctx, ids[1]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	ex, _ := s.GetExperiment(ctx, e.ID)
	if ex.LastRunCreatedAt.IsZero() || ex.StorageState != "ARCHIVED" {
		t.Fatalf("experiment %+v", ex)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	for i := 0; i < 2; i++ {
		s, err := Open(context.Background(), path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		var n int
		s.db.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n)
		if n != len(migrations) {
			t.Fatalf("open %d: %d migrations recorded, want %d", i, n, len(migrations))
		}
		s.Close()
	}
}
