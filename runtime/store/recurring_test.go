package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testRecurring runs in the suite, against SQLite and PostgreSQL.
func testRecurring(t *testing.T, s *Store) {
	ctx := context.Background()
	ids := seedRecurring(t, s)
	t.Run("get", func(t *testing.T) { testRecurringGet(t, s, ids) })
	t.Run("invalid", func(t *testing.T) { testRecurringInvalid(t, s, ids) })
	t.Run("list", func(t *testing.T) { testRecurringList(t, s) })
	t.Run("mode", func(t *testing.T) { testRecurringMode(t, s, ids) })
	t.Run("fired", func(t *testing.T) { testRecurringFired(t, s, ids) })
	if err := s.DeleteRecurringRun(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRecurringRun(ctx, ids[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	if _, err := s.GetRecurringRun(ctx, ids[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: %v, want ErrNotFound", err)
	}
}

var recurringStart = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// seedRecurring stores five recurring runs: cron-0..2 in experiment exp-a
// (cron-2 disabled), periodic-3..4 in exp-b in namespace team.
func seedRecurring(t *testing.T, s *Store) []string {
	t.Helper()
	var ids []string
	for i := 0; i < 5; i++ {
		r := &RecurringRun{DisplayName: fmt.Sprintf("cron-%d", i), ExperimentID: "exp-a", PipelineID: "p", PipelineVersionID: "v",
			RuntimeConfig: `{"parameters":{"n":1}}`, Trigger: Trigger{Cron: &CronSchedule{Cron: "0 0 * * * *", Start: recurringStart}}}
		if i == 2 {
			r.Mode = ModeDisable
		}
		if i >= 3 {
			r.DisplayName, r.ExperimentID, r.Namespace = fmt.Sprintf("periodic-%d", i), "exp-b", "team"
			r.Trigger = Trigger{Periodic: &PeriodicSchedule{IntervalSecond: 3600, End: recurringStart.Add(time.Hour)}}
			r.NoCatchup, r.MaxConcurrency = true, 3
		}
		if err := s.CreateRecurringRun(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
		time.Sleep(2 * time.Millisecond) // distinct created_at: lists and the scheduler go oldest first
	}
	return ids
}

func testRecurringGet(t *testing.T, s *Store, ids []string) {
	ctx := context.Background()
	got, err := s.GetRecurringRun(ctx, ids[3])
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.IsZero() || !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("created_at %v, updated_at %v", got.CreatedAt, got.UpdatedAt)
	}
	want := RecurringRun{ID: ids[3], DisplayName: "periodic-3", Namespace: "team", ExperimentID: "exp-b", PipelineID: "p",
		PipelineVersionID: "v", RuntimeConfig: `{"parameters":{"n":1}}`, Mode: ModeEnable, NoCatchup: true, MaxConcurrency: 3,
		Trigger:   Trigger{Periodic: &PeriodicSchedule{IntervalSecond: 3600, End: recurringStart.Add(time.Hour)}},
		CreatedAt: got.CreatedAt, UpdatedAt: got.UpdatedAt}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("periodic-3 (-want +got):\n%s", diff)
	}
	got, err = s.GetRecurringRun(ctx, ids[0])
	if err != nil || got.MaxConcurrency != 1 || got.NoCatchup || got.Trigger.Periodic != nil ||
		cmp.Diff(&CronSchedule{Cron: "0 0 * * * *", Start: recurringStart}, got.Trigger.Cron) != "" {
		t.Errorf("cron-0: %+v %v", got, err)
	}
	if _, err := s.GetRecurringRun(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v, want ErrNotFound", err)
	}
}

func testRecurringInvalid(t *testing.T, s *Store, ids []string) {
	cron := Trigger{Cron: &CronSchedule{Cron: "* * * * *"}}
	cases := map[string]struct {
		r    RecurringRun
		want error
	}{
		"no trigger":       {RecurringRun{}, ErrInvalid},
		"both schedules":   {RecurringRun{Trigger: Trigger{Cron: cron.Cron, Periodic: &PeriodicSchedule{IntervalSecond: 1}}}, ErrInvalid},
		"empty cron":       {RecurringRun{Trigger: Trigger{Cron: &CronSchedule{}}}, ErrInvalid},
		"zero interval":    {RecurringRun{Trigger: Trigger{Periodic: &PeriodicSchedule{}}}, ErrInvalid},
		"unknown mode":     {RecurringRun{Trigger: cron, Mode: "PAUSE"}, ErrInvalid},
		"negative max":     {RecurringRun{Trigger: cron, MaxConcurrency: -1}, ErrInvalid},
		"taken id":         {RecurringRun{ID: ids[1], Trigger: cron}, ErrConflict},
		"mode_unspecified": {RecurringRun{Trigger: cron, Mode: "MODE_UNSPECIFIED"}, ErrInvalid},
	}
	for name, tc := range cases {
		if err := s.CreateRecurringRun(context.Background(), &tc.r); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func testRecurringList(t *testing.T, s *Store) {
	ctx := context.Background()
	var names []string
	opts := ListOptions{PageSize: 2, SortBy: "display_name desc"}
	for pages := 1; ; pages++ {
		got, page, err := s.ListRecurringRuns(ctx, "", "", opts)
		if err != nil || page.TotalSize != 5 || pages > 3 {
			t.Fatalf("page %d: total %d, %v", pages, page.TotalSize, err)
		}
		for _, r := range got {
			names = append(names, r.DisplayName)
		}
		if page.NextPageToken == "" {
			break
		}
		opts.PageToken = page.NextPageToken
	}
	if diff := cmp.Diff([]string{"periodic-4", "periodic-3", "cron-2", "cron-1", "cron-0"}, names); diff != "" {
		t.Errorf("paged by display_name desc (-want +got):\n%s", diff)
	}
	disabled, _ := ParseFilter(`{"predicates":[{"operation":"EQUALS","key":"mode","string_value":"DISABLE"}]}`)
	substr, _ := ParseFilter(`{"predicates":[{"operation":9,"key":"name","stringValue":"cron-"}]}`)
	cases := []struct {
		namespace, experiment string
		filter                *Filter
		want                  []string
	}{
		{"", "exp-a", nil, []string{"cron-0", "cron-1", "cron-2"}},
		{"team", "", nil, []string{"periodic-3", "periodic-4"}},
		{"", "", disabled, []string{"cron-2"}},
		{"", "exp-b", substr, nil},
		{"", "", substr, []string{"cron-0", "cron-1", "cron-2"}},
	}
	for _, tc := range cases {
		got, page, err := s.ListRecurringRuns(ctx, tc.namespace, tc.experiment, ListOptions{Filter: tc.filter, SortBy: "name"})
		var names []string
		for _, r := range got {
			names = append(names, r.DisplayName)
		}
		if err != nil || page.TotalSize != len(tc.want) || cmp.Diff(tc.want, names) != "" {
			t.Errorf("%+v: %v (total %d) %v, want %v", tc, names, page.TotalSize, err, tc.want)
		}
	}
	if _, _, err := s.ListRecurringRuns(ctx, "", "", ListOptions{SortBy: "trigger_spec"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("sort by trigger_spec: %v, want ErrInvalid", err)
	}
}

func testRecurringMode(t *testing.T, s *Store, ids []string) {
	ctx := context.Background()
	enabledNames := func() []string {
		runs, err := s.EnabledRecurringRuns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range runs {
			names = append(names, r.DisplayName)
		}
		return names
	}
	if diff := cmp.Diff([]string{"cron-0", "cron-1", "periodic-3", "periodic-4"}, enabledNames()); diff != "" {
		t.Errorf("enabled (-want +got):\n%s", diff)
	}
	before, _ := s.GetRecurringRun(ctx, ids[1])
	time.Sleep(2 * time.Millisecond)
	if err := s.SetRecurringRunMode(ctx, ids[1], ModeDisable); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRecurringRunMode(ctx, ids[2], ModeEnable); err != nil {
		t.Fatal(err)
	}
	after, _ := s.GetRecurringRun(ctx, ids[1])
	if after.Mode != ModeDisable || !after.UpdatedAt.After(before.UpdatedAt) || !after.CreatedAt.Equal(before.CreatedAt) {
		t.Errorf("after disabling: mode %s, updated_at %v (was %v)", after.Mode, after.UpdatedAt, before.UpdatedAt)
	}
	if diff := cmp.Diff([]string{"cron-0", "cron-2", "periodic-3", "periodic-4"}, enabledNames()); diff != "" {
		t.Errorf("enabled after toggling (-want +got):\n%s", diff)
	}
	if err := s.SetRecurringRunMode(ctx, ids[1], "MODE_UNSPECIFIED"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown mode: %v, want ErrInvalid", err)
	}
	if err := s.SetRecurringRunMode(ctx, "nope", ModeEnable); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v, want ErrNotFound", err)
	}
}

func testRecurringFired(t *testing.T, s *Store, ids []string) {
	ctx := context.Background()
	t1 := recurringStart.Add(time.Hour)
	steps := []struct {
		id   string
		at   time.Time
		want error
	}{
		{ids[0], t1, nil},
		{ids[0], t1, ErrConflict},                      // another server fired t1 first
		{ids[0], t1.Add(-time.Hour), ErrConflict},      // never backwards
		{ids[0], t1.Add(time.Millisecond), nil},        // forwards by any step
		{ids[0], time.Time{}, ErrInvalid},              // a zero time
		{"nope", t1.Add(time.Hour), ErrNotFound},       // a missing recurring run
		{ids[4], t1.In(time.FixedZone("", 3600)), nil}, // stored as the same instant
	}
	for i, st := range steps {
		if err := s.MarkFired(ctx, st.id, st.at); !errors.Is(err, st.want) || (err != nil) != (st.want != nil) {
			t.Errorf("step %d: %v, want %v", i, err, st.want)
		}
	}
	for id, want := range map[string]time.Time{ids[0]: t1.Add(time.Millisecond), ids[4]: t1, ids[3]: {}} {
		got, err := s.GetRecurringRun(ctx, id)
		if err != nil || !got.LastFiredAt.Equal(want) || got.LastFiredAt.Location() != time.UTC {
			t.Errorf("%s: last fired %v %v, want %v", got.DisplayName, got.LastFiredAt, err, want)
		}
	}
}
