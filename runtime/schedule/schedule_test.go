package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var (
	t0    = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	plus2 = time.FixedZone("+02", 2*60*60)
)

// at is t0 plus minutes and seconds.
func at(min, sec int) time.Time {
	return t0.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
}

func TestDue(t *testing.T) {
	type args struct {
		trigger                 Trigger
		created, lastFired, now time.Time
		noCatchup               bool
	}
	everyMinute := Trigger{Cron: "* * * * *"}
	twoMinutes := Trigger{IntervalSecond: 120}
	cases := map[string]struct {
		args args
		want []time.Time
	}{
		"cron every minute, 5 minutes": {args{everyMinute, t0, time.Time{}, at(5, 0), false},
			[]time.Time{at(1, 0), at(2, 0), at(3, 0), at(4, 0), at(5, 0)}},
		"cron every minute, no catchup": {args{everyMinute, t0, time.Time{}, at(5, 0), true}, []time.Time{at(5, 0)}},
		"6 fields, seconds first":       {args{Trigger{Cron: "0 * * * * *"}, t0, time.Time{}, at(3, 0), false}, []time.Time{at(1, 0), at(2, 0), at(3, 0)}},
		"6 fields, KFP hourly": {args{Trigger{Cron: "0 0 * * * *"}, t0, time.Time{}, at(210, 0), false},
			[]time.Time{at(60, 0), at(120, 0), at(180, 0)}},
		"6 fields, every 30 seconds": {args{Trigger{Cron: "*/30 * * * * *"}, t0, time.Time{}, at(2, 0), false},
			[]time.Time{at(0, 30), at(1, 0), at(1, 30), at(2, 0)}},
		"descriptor":             {args{Trigger{Cron: "@hourly"}, t0, time.Time{}, at(150, 0), false}, []time.Time{at(60, 0), at(120, 0)}},
		"after the last fire":    {args{everyMinute, t0, at(2, 0), at(5, 0), false}, []time.Time{at(3, 0), at(4, 0), at(5, 0)}},
		"off-grid last fire":     {args{everyMinute, t0, at(2, 30), at(5, 30), false}, []time.Time{at(3, 0), at(4, 0), at(5, 0)}},
		"nothing new":            {args{everyMinute, t0, at(5, 0), at(5, 59), false}, nil},
		"now is the last fire":   {args{everyMinute, t0, at(5, 0), at(5, 0), false}, nil},
		"now before creation":    {args{everyMinute, t0, time.Time{}, at(-3, 0), false}, nil},
		"start after creation":   {args{Trigger{Cron: "* * * * *", Start: at(2, 30)}, t0, time.Time{}, at(5, 0), false}, []time.Time{at(3, 0), at(4, 0), at(5, 0)}},
		"start after last fire":  {args{Trigger{Cron: "* * * * *", Start: at(3, 0)}, t0, at(1, 0), at(5, 0), false}, []time.Time{at(4, 0), at(5, 0)}},
		"start in the future":    {args{Trigger{Cron: "* * * * *", Start: at(10, 0)}, t0, time.Time{}, at(5, 0), false}, nil},
		"start before creation":  {args{Trigger{Cron: "* * * * *", Start: at(-3, 0)}, t0, time.Time{}, at(1, 0), false}, []time.Time{at(-2, 0), at(-1, 0), at(0, 0), at(1, 0)}},
		"backfill, no catchup":   {args{Trigger{Cron: "* * * * *", Start: at(-3, 0)}, t0, time.Time{}, at(1, 0), true}, []time.Time{at(1, 0)}},
		"end inclusive":          {args{Trigger{Cron: "* * * * *", End: at(3, 0)}, t0, time.Time{}, at(5, 0), false}, []time.Time{at(1, 0), at(2, 0), at(3, 0)}},
		"end, no catchup":        {args{Trigger{Cron: "* * * * *", End: at(3, 0)}, t0, time.Time{}, at(5, 0), true}, []time.Time{at(3, 0)}},
		"ended before last fire": {args{Trigger{Cron: "* * * * *", End: at(3, 0)}, t0, at(4, 0), at(5, 0), false}, nil},
		"start and end window": {args{Trigger{Cron: "* * * * *", Start: at(1, 0), End: at(3, 30)}, t0, time.Time{}, at(9, 0), false},
			[]time.Time{at(2, 0), at(3, 0)}},
		"periodic from creation":       {args{twoMinutes, t0, time.Time{}, at(5, 0), false}, []time.Time{at(2, 0), at(4, 0)}},
		"periodic, no catchup":         {args{twoMinutes, t0, time.Time{}, at(5, 0), true}, []time.Time{at(4, 0)}},
		"periodic at now":              {args{twoMinutes, t0, time.Time{}, at(4, 0), false}, []time.Time{at(2, 0), at(4, 0)}},
		"periodic from start":          {args{Trigger{IntervalSecond: 120, Start: at(0, 30)}, t0, time.Time{}, at(5, 0), false}, []time.Time{at(2, 30), at(4, 30)}},
		"periodic after last fire":     {args{twoMinutes, t0, at(2, 0), at(5, 0), false}, []time.Time{at(4, 0)}},
		"periodic keeps its grid":      {args{twoMinutes, t0, at(2, 10), at(6, 0), false}, []time.Time{at(4, 0), at(6, 0)}},
		"periodic end":                 {args{Trigger{IntervalSecond: 120, End: at(3, 0)}, t0, time.Time{}, at(9, 0), false}, []time.Time{at(2, 0)}},
		"periodic not yet":             {args{twoMinutes, t0, time.Time{}, at(1, 59), false}, nil},
		"@every is periodic":           {args{Trigger{Cron: "@every 2m"}, t0, time.Time{}, at(5, 0), false}, []time.Time{at(2, 0), at(4, 0)}},
		"@every from start, no catch":  {args{Trigger{Cron: "@every 2m", Start: at(1, 0)}, t0, at(3, 0), at(9, 0), true}, []time.Time{at(9, 0)}},
		"yearly, long backlog, latest": {args{Trigger{Cron: "0 0 1 1 *"}, t0.AddDate(-24, 0, 0), time.Time{}, t0, true}, []time.Time{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}},
		"leap day, latest": {args{Trigger{Cron: "59 23 29 2 *"}, t0.AddDate(-9, 0, 0), time.Time{}, t0, true},
			[]time.Time{time.Date(2024, 2, 29, 23, 59, 0, 0, time.UTC)}},
		"every second, 10 years behind": {args{Trigger{Cron: "* * * * * *"}, t0.AddDate(-10, 0, 0), time.Time{}, at(0, 0).Add(500 * time.Millisecond), true}, []time.Time{t0}},
		"fields match in now's location": {args{Trigger{Cron: "0 9 * * *"}, time.Date(2024, 4, 30, 22, 0, 0, 0, time.UTC), time.Time{}, t0.Add(24 * time.Hour).In(plus2), false},
			[]time.Time{time.Date(2024, 5, 1, 7, 0, 0, 0, time.UTC), time.Date(2024, 5, 2, 7, 0, 0, 0, time.UTC)}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Due(tc.args.trigger, tc.args.created, tc.args.lastFired, tc.args.now, tc.args.noCatchup)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestDueCatchupCap: a long backlog comes MaxDue at a time, oldest first,
// for cron and periodic triggers alike.
func TestDueCatchupCap(t *testing.T) {
	for _, trigger := range []Trigger{{Cron: "* * * * * *"}, {IntervalSecond: 1}} {
		got, err := Due(trigger, t0, time.Time{}, at(60, 0), false)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != MaxDue || !got[0].Equal(at(0, 1)) || !got[MaxDue-1].Equal(at(0, MaxDue)) {
			t.Errorf("%+v: %d times, %v .. %v", trigger, len(got), got[0], got[len(got)-1])
		}
		next, _ := Due(trigger, t0, got[len(got)-1], at(60, 0), false)
		if len(next) != MaxDue || !next[0].Equal(at(0, MaxDue+1)) {
			t.Errorf("%+v: the next call starts at %v", trigger, next[0])
		}
	}
}

func TestInvalid(t *testing.T) {
	cases := map[string]struct {
		trigger Trigger
		want    []string // in the message
	}{
		"neither":          {Trigger{}, []string{"one of cron_schedule and periodic_schedule is required"}},
		"both":             {Trigger{Cron: "* * * * *", IntervalSecond: 60}, []string{"exclusive"}},
		"not a cron":       {Trigger{Cron: "every day"}, []string{`cron_schedule.cron "every day"`}},
		"4 fields":         {Trigger{Cron: "* * * *"}, []string{"cron_schedule.cron"}},
		"7 fields":         {Trigger{Cron: "0 0 0 * * * *"}, []string{"cron_schedule.cron"}},
		"minute 61":        {Trigger{Cron: "61 * * * *"}, []string{"cron_schedule.cron"}},
		"time zone":        {Trigger{Cron: "CRON_TZ=Europe/Paris 0 9 * * *"}, []string{"time zone prefixes are not supported"}},
		"negative period":  {Trigger{IntervalSecond: -60}, []string{"periodic_schedule.interval_second"}},
		"period too long":  {Trigger{IntervalSecond: 1 << 62}, []string{"periodic_schedule.interval_second"}},
		"end before start": {Trigger{IntervalSecond: 60, Start: at(5, 0), End: at(1, 0)}, []string{"periodic_schedule.end_time"}},
		"all at once": {Trigger{Cron: "61 * * * *", Start: at(5, 0), End: at(1, 0)},
			[]string{"cron_schedule.cron", "cron_schedule.end_time"}},
	}
	for name, tc := range cases {
		for _, err := range []error{Validate(tc.trigger), dueErr(tc.trigger)} {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
				continue
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: %q does not say %q", name, err, w)
				}
			}
		}
	}
	if err := Validate(Trigger{Cron: "0 0 * * * *", Start: at(1, 0), End: at(1, 0)}); err != nil {
		t.Errorf("a valid trigger: %v", err)
	}
	if _, err := Due(Trigger{Cron: "* * * * *"}, time.Time{}, time.Time{}, t0, false); err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("no creation time: %v, want an error that is not the client's", err)
	}
}

func dueErr(t Trigger) error {
	_, err := Due(t, t0, time.Time{}, at(5, 0), false)
	return err
}

func TestAdmit(t *testing.T) {
	due := []time.Time{at(1, 0), at(2, 0), at(3, 0), at(4, 0), at(5, 0)}
	cases := map[string]struct {
		running, max int64
		due          []time.Time
		want         []time.Time
	}{
		"one at a time":         {0, 1, due, due[:1]},
		"busy":                  {1, 1, due, nil},
		"room for all":          {2, 10, due[:2], due[:2]},
		"room for some":         {2, 5, due, due[:3]},
		"unset max is 1":        {0, 0, due, due[:1]},
		"negative max is 1":     {0, -3, due, due[:1]},
		"more running than max": {4, 2, due, nil},
		"nothing due":           {0, 10, nil, nil},
	}
	for name, tc := range cases {
		got := Admit(tc.running, tc.max, tc.due)
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	got := Admit(0, 2, due)
	_ = append(got, at(9, 0))
	if !due[2].Equal(at(3, 0)) {
		t.Errorf("appending to Admit's result overwrote the due times: %v", due)
	}
}
