package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testRunCounts: the total_size of every runs list — by namespace,
// experiment and filters on the counted columns (summed from run_counts on
// SQLite) or on others (counted) — is the number of runs that match, as
// runs are created, change state, are archived one by one and by
// experiment, restored and deleted; on SQLite run_counts equals a count of
// the runs by its columns, also after the migration fills it from runs
// that were there before it.
func testRunCounts(t *testing.T, s *Store) {
	ctx := context.Background()
	var exps []string
	for _, name := range []string{"e1", "e2"} {
		e := &Experiment{Name: name, Namespace: "g1"}
		if err := s.CreateExperiment(ctx, e); err != nil {
			t.Fatal(err)
		}
		exps = append(exps, e.ID)
	}
	runs := map[string]bool{} // ids of the runs there are
	for i := 0; i < 24; i++ {
		r := &Run{DisplayName: fmt.Sprintf("run %d", i), Namespace: []string{"", "g1", "g2"}[i%3]}
		if i%4 > 0 {
			r.ExperimentID = exps[i%4%2]
		}
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		runs[r.ID] = true
		switch i % 5 {
		case 1, 2:
			must(t, s.UpdateRun(ctx, r.ID, "RUNNING", "", "", time.Time{}))
			must(t, s.UpdateRun(ctx, r.ID, "RUNNING", "", `{"w":1}`, time.Time{})) // no state change
		case 3:
			must(t, s.UpdateRun(ctx, r.ID, "RUNNING", "", "", time.Time{}))
			must(t, s.UpdateRun(ctx, r.ID, "FAILED", "x", "", time.Now()))
		case 4:
			must(t, s.SetRunStorage(ctx, r.ID, "ARCHIVED"))
		}
		if i == 9 {
			must(t, s.SetRunStorage(ctx, r.ID, "AVAILABLE")) // archived at i%5 == 4, restored
		}
		if i%7 == 6 {
			must(t, s.DeleteRun(ctx, r.ID))
			delete(runs, r.ID)
		}
	}
	must(t, s.SetExperimentStorage(ctx, exps[1], "ARCHIVED"))

	var all []Run
	for id := range runs {
		r, err := s.GetRun(ctx, id)
		must(t, err)
		all = append(all, r)
	}
	pred := func(key string, op Op, v any) Predicate { return Predicate{Key: key, Op: op, Value: v} }
	for _, c := range []struct {
		name, namespace, experiment string
		preds                       []Predicate
		match                       func(Run) bool
	}{
		{"all", "", "", nil, func(Run) bool { return true }},
		{"namespace", "g1", "", nil, func(r Run) bool { return r.Namespace == "g1" }},
		{"experiment", "", exps[0], nil, func(r Run) bool { return r.ExperimentID == exps[0] }},
		{"not archived (the UI)", "", "", []Predicate{pred("storage_state", OpNotEquals, "ARCHIVED")},
			func(r Run) bool { return r.StorageState != "ARCHIVED" }},
		{"archived in an experiment", "", exps[1], []Predicate{pred("storage_state", OpEquals, "ARCHIVED")},
			func(r Run) bool { return r.ExperimentID == exps[1] && r.StorageState == "ARCHIVED" }},
		{"groups and state", "", "", []Predicate{{Key: "namespace", Op: OpIn, Values: []any{"", "g2"}}, pred("state", OpIsSubstring, "ING")},
			func(r Run) bool {
				return (r.Namespace == "" || r.Namespace == "g2") && (r.State == "PENDING" || r.State == "RUNNING")
			}},
		{"state above", "g2", "", []Predicate{pred("state", OpGreater, "PENDING")},
			func(r Run) bool { return r.Namespace == "g2" && r.State > "PENDING" }},
		{"a column not counted", "", "", []Predicate{pred("storage_state", OpNotEquals, "ARCHIVED"), pred("display_name", OpIsSubstring, "1")},
			func(r Run) bool { return r.StorageState != "ARCHIVED" && strings.Contains(r.DisplayName, "1") }},
	} {
		want := 0
		for _, r := range all {
			if c.match(r) {
				want++
			}
		}
		opts := ListOptions{PageSize: 2}
		if c.preds != nil {
			opts.Filter = &Filter{Predicates: c.preds}
		}
		_, page, err := s.ListRunSummaries(ctx, c.namespace, c.experiment, opts)
		must(t, err)
		_, fullPage, err := s.ListRuns(ctx, c.namespace, c.experiment, opts)
		must(t, err)
		if page.TotalSize != want || fullPage.TotalSize != want {
			t.Errorf("%s: total_size %d (summaries) and %d (runs), want %d", c.name, page.TotalSize, fullPage.TotalSize, want)
		}
		// A page past the end counts on its own.
		if page.NextPageToken != "" {
			opts.PageToken, opts.PageSize = page.NextPageToken, 200
			_, last, err := s.ListRunSummaries(ctx, c.namespace, c.experiment, opts)
			must(t, err)
			if last.TotalSize != want {
				t.Errorf("%s: last page's total_size %d, want %d", c.name, last.TotalSize, want)
			}
		}
	}
	if s.postgres {
		return
	}
	checkRunCounts(t, s, "kept by the triggers")
	// The migration fills run_counts from the runs there are.
	v := 0
	for i, m := range migrations {
		if m == runCountsMigration {
			v = i + 1
		}
	}
	for _, stmt := range []string{"DROP TABLE run_counts", "DROP TRIGGER run_counts_insert", "DROP TRIGGER run_counts_delete",
		"DROP TRIGGER run_counts_update", fmt.Sprintf("DELETE FROM schema_migrations WHERE version = %d", v)} {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	must(t, s.migrate(ctx))
	checkRunCounts(t, s, "filled by the migration")
}

// checkRunCounts compares run_counts with a count of the runs.
func checkRunCounts(t *testing.T, s *Store, when string) {
	t.Helper()
	read := func(query string) map[string]int {
		rows, err := s.db.Query(query)
		must(t, err)
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var ns, exp, storage, state string
			var n int
			must(t, rows.Scan(&ns, &exp, &storage, &state, &n))
			out[ns+"|"+exp+"|"+storage+"|"+state] += n
		}
		must(t, rows.Err())
		return out
	}
	want := read("SELECT namespace, experiment_id, storage_state, state, COUNT(*) FROM runs GROUP BY namespace, experiment_id, storage_state, state")
	got := read("SELECT namespace, experiment_id, storage_state, state, n FROM run_counts")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("run_counts %s (-runs counted +run_counts):\n%s", when, d)
	}
	if len(want) < 8 {
		t.Errorf("only %d kinds of runs: the test makes too few to tell", len(want))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
