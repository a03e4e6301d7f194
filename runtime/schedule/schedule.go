package schedule

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// ErrInvalid marks a trigger that cannot be scheduled: the client's mistake.
var ErrInvalid = errors.New("invalid trigger")

// MaxDue caps how many fire times Due returns when it catches up: the
// oldest come first, the rest on a later call once those are marked fired.
const MaxDue = 100

// Trigger says when a recurring run fires: Cron or IntervalSecond, not both.
type Trigger struct {
	// Cron is a cron expression: 5 fields (minute first), 6 with seconds
	// first, or a descriptor (@hourly; @every 90s, which is periodic).
	Cron string
	// IntervalSecond is the period of a periodic trigger.
	IntervalSecond int64
	// Start and End bound the fire times when set: the first is after
	// Start, the last at or before End.
	Start, End time.Time
}

// plan is a parsed trigger: a cron schedule, or else a fixed period.
type plan struct {
	cron  cron.Schedule
	every time.Duration
}

var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Validate reports every problem of t, each wrapping ErrInvalid.
func Validate(t Trigger) error {
	_, err := parse(t)
	return err
}

func parse(t Trigger) (plan, error) {
	var p plan
	var errs []error
	field := "periodic_schedule"
	switch {
	case t.Cron == "" && t.IntervalSecond == 0:
		return p, fmt.Errorf("trigger: %w: one of cron_schedule and periodic_schedule is required", ErrInvalid)
	case t.Cron != "" && t.IntervalSecond != 0:
		return p, fmt.Errorf("trigger: %w: cron_schedule and periodic_schedule are exclusive", ErrInvalid)
	case t.Cron != "":
		field = "cron_schedule"
		p, errs = parseCron(t.Cron)
	case t.IntervalSecond < 0 || t.IntervalSecond > math.MaxInt64/int64(time.Second):
		errs = append(errs, fmt.Errorf("periodic_schedule.interval_second: %w: %d is out of range", ErrInvalid, t.IntervalSecond))
	default:
		p.every = time.Duration(t.IntervalSecond) * time.Second
	}
	if !t.Start.IsZero() && !t.End.IsZero() && t.End.Before(t.Start) {
		errs = append(errs, fmt.Errorf("%s.end_time: %w: %s is before start_time %s", field, ErrInvalid,
			t.End.Format(time.RFC3339), t.Start.Format(time.RFC3339)))
	}
	return p, errors.Join(errs...)
}

func parseCron(expr string) (plan, []error) {
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return plan{}, []error{fmt.Errorf("cron_schedule.cron %q: %w: time zone prefixes are not supported "+
			"(fields match in the location of now, UTC from the store)", expr, ErrInvalid)}
	}
	s, err := parser.Parse(expr)
	if err != nil {
		return plan{}, []error{fmt.Errorf("cron_schedule.cron %q: %w: %w", expr, ErrInvalid, err)}
	}
	if d, ok := s.(cron.ConstantDelaySchedule); ok {
		return plan{every: d.Delay}, nil
	}
	return plan{cron: s}, nil
}

// Due returns the fire times of t due in (from, now], oldest first. from is
// lastFired, or for a trigger that never fired (zero lastFired) its start
// time, or else created; a start time later than lastFired wins. Nothing is
// due after t.End. Cron fields match in now's location, and the times
// returned are in it. With noCatchup only the latest due time is returned (KFP:
// "only schedule the latest interval if behind schedule"); without, at most
// MaxDue.
//
// A periodic trigger fires at start + k×interval (k ≥ 1), or at created +
// k×interval without a start time, like KFP's ScheduledWorkflow.
func Due(t Trigger, created, lastFired, now time.Time, noCatchup bool) ([]time.Time, error) {
	p, err := parse(t)
	if err != nil {
		return nil, err
	}
	from := lastFired
	if from.IsZero() {
		from = t.Start
	}
	if from.IsZero() {
		from = created
	}
	if from.IsZero() {
		return nil, errors.New("schedule: due times: a creation time is required for a trigger without a start time that never fired")
	}
	if t.Start.After(from) {
		from = t.Start
	}
	from = from.In(now.Location())
	until := now
	if !t.End.IsZero() && t.End.Before(until) {
		until = t.End
	}
	if !until.After(from) {
		return nil, nil
	}
	if p.cron == nil {
		base := t.Start
		if base.IsZero() {
			base = created
		}
		return periodic(base.In(now.Location()), p.every, from, until, noCatchup), nil
	}
	if noCatchup {
		if last := latest(p.cron, from, until); !last.IsZero() {
			return []time.Time{last}, nil
		}
		return nil, nil
	}
	var out []time.Time
	for next := p.cron.Next(from); !next.IsZero() && !next.After(until) && len(out) < MaxDue; next = p.cron.Next(next) {
		out = append(out, next)
	}
	return out, nil
}

// periodic returns the times base + k×every (k ≥ 1) in (from, until].
func periodic(base time.Time, every time.Duration, from, until time.Time, noCatchup bool) []time.Time {
	first := int64(1)
	if from.After(base) {
		first = int64(from.Sub(base)/every) + 1
	}
	last := int64(until.Sub(base) / every)
	if last < first {
		return nil
	}
	if noCatchup {
		first = last
	}
	var out []time.Time
	for k := first; k <= last && len(out) < MaxDue; k++ {
		out = append(out, base.Add(time.Duration(k)*every))
	}
	return out
}

// latest returns the last time s fires in (from, until], or zero. It looks
// back from until in doubling windows, so a long backlog costs no more than
// the cron's own gaps.
func latest(s cron.Schedule, from, until time.Time) time.Time {
	span := until.Sub(from)
	for w := time.Minute; ; w *= 2 {
		lo := from
		if w < span && w < math.MaxInt64/2 {
			lo = until.Add(-w)
		}
		var last time.Time
		for next := s.Next(lo); !next.IsZero() && !next.After(until); next = s.Next(next) {
			last = next
		}
		if !last.IsZero() || lo.Equal(from) {
			return last
		}
	}
}

// Admit returns the due times that may start now, oldest first: as many as
// maxConcurrency leaves room for beside the running runs. A maxConcurrency
// below 1 counts as 1, KFP's default.
func Admit(running, maxConcurrency int64, due []time.Time) []time.Time {
	if maxConcurrency < 1 {
		maxConcurrency = 1
	}
	free := maxConcurrency - running
	if free <= 0 || len(due) == 0 {
		return nil
	}
	if int64(len(due)) > free {
		due = due[:free]
	}
	return due[:len(due):len(due)]
}
