package hpo

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
)

// Config is everything a compiled experiment's steps need to suggest,
// collect and judge trials: the Experiment reduced to values
// (ParseExperiment reads it from the compiled workflow).
type Config struct {
	Name       string
	Algorithm  string
	Settings   Settings
	Space      Space
	Direction  Direction
	Goal       *float64
	Objective  string
	Additional []string
	// Strategies maps a metric to min, max or latest (the objective defaults
	// to min when minimising, max when maximising; others to latest).
	Strategies  map[string]string
	MaxTrials   int
	MaxFailed   *int
	Parallel    int
	MedianStop  Settings
	EarlyStop   bool
	Collector   string // StdOut (default), File, Push
	MetricsFile string
	FileFormat  string   // TEXT (default) or JSON
	Formats     []string // regexes: (name)(value)
}

// DefaultMetricsFormat is Katib's default StdOut/TEXT metrics regex.
const DefaultMetricsFormat = `([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)`

// Katib's experiment conditions and reasons.
const (
	ConditionRunning   = "Running"
	ConditionSucceeded = "Succeeded"
	ConditionFailed    = "Failed"

	ReasonRunning       = "ExperimentRunning"
	ReasonGoalReached   = "ExperimentGoalReached"
	ReasonMaxTrials     = "ExperimentMaxTrialsReached"
	ReasonSuggestionEnd = "ExperimentSuggestionEndReached"
	ReasonFailed        = "ExperimentFailed"
)

// Condition is one Katib experiment condition.
type Condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// MetricObservation is one metric's min, max and latest report.
type MetricObservation struct {
	Name   string `json:"name"`
	Min    string `json:"min"`
	Max    string `json:"max"`
	Latest string `json:"latest"`
}

// ParameterAssignment is one name/value pair, as Katib writes them.
type ParameterAssignment struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// OptimalTrial is Katib's currentOptimalTrial.
type OptimalTrial struct {
	BestTrialName        string                `json:"bestTrialName,omitempty"`
	ParameterAssignments []ParameterAssignment `json:"parameterAssignments,omitempty"`
	Observation          struct {
		Metrics []MetricObservation `json:"metrics,omitempty"`
	} `json:"observation"`
}

// Status is an experiment's status in Katib's shape.
type Status struct {
	Conditions                  []Condition  `json:"conditions"`
	CurrentOptimalTrial         OptimalTrial `json:"currentOptimalTrial"`
	Trials                      int          `json:"trials"`
	TrialsSucceeded             int          `json:"trialsSucceeded"`
	TrialsFailed                int          `json:"trialsFailed"`
	TrialsKilled                int          `json:"trialsKilled"`
	TrialsPending               int          `json:"trialsPending"`
	TrialsRunning               int          `json:"trialsRunning"`
	TrialsEarlyStopped          int          `json:"trialsEarlyStopped"`
	TrialMetricsUnavailable     int          `json:"trialMetricsUnavailable"`
	SucceededTrialList          []string     `json:"succeededTrialList,omitempty"`
	FailedTrialList             []string     `json:"failedTrialList,omitempty"`
	EarlyStoppedTrialList       []string     `json:"earlyStoppedTrialList,omitempty"`
	MetricsUnavailableTrialList []string     `json:"metricsUnavailableTrialList,omitempty"`
}

// Record is a trial as the compiled experiment stores it: the assignment,
// every metric's reports, the state and the objective value.
type Record struct {
	Name    string               `json:"name"`
	Params  Assignment           `json:"params"`
	State   TrialState           `json:"state"`
	Value   float64              `json:"value,omitempty"`
	Metrics map[string][]float64 `json:"metrics,omitempty"`
	Message string               `json:"message,omitempty"`
}

// Trial is the record as the algorithms see it.
func (r Record) Trial(objective string) Trial {
	return Trial{Name: r.Name, Params: r.Params, State: r.State, Value: r.Value, Reports: r.Metrics[objective]}
}

// Finished reports whether the trial has ended.
func (r Record) Finished() bool { return r.State != Running && r.State != "" }

// Phase is the state an experiment's next step moves it to.
type Phase int

// What Decide tells the suggest step to do.
const (
	Continue Phase = iota // run the returned assignments
	Done                  // the experiment succeeded
	Fail                  // the experiment failed
)

// Decide applies Katib's end rules, in order, to the finished records and
// otherwise asks the algorithm for the next round of up to Parallel trials:
// goal reached → Succeeded; failed + metrics-unavailable trials exceeding
// maxFailedTrialCount → Failed (Katib's controller compares with >); maxTrialCount trials finished → Succeeded;
// search space exhausted → Succeeded. It is pure.
func Decide(c Config, records []Record) (Phase, []Assignment, Status, error) {
	st := Summarise(c, records)
	set := func(typ, reason, msg string) {
		st.Conditions = append(st.Conditions, Condition{Type: typ, Status: "True", Reason: reason, Message: msg})
	}
	set("Created", "ExperimentCreated", "Experiment is created")
	if best, ok := bestRecord(c, records); ok && c.Goal != nil && reached(c.Direction, best.Value, *c.Goal) {
		set(ConditionSucceeded, ReasonGoalReached, fmt.Sprintf("Experiment has succeeded because Objective goal has reached: %s %s = %g", best.Name, c.Objective, best.Value))
		return Done, nil, st, nil
	}
	failed := st.TrialsFailed + st.TrialMetricsUnavailable
	if c.MaxFailed != nil && failed > *c.MaxFailed {
		set(ConditionFailed, ReasonFailed, fmt.Sprintf("Experiment has failed because max failed count has reached: %d failed or metrics-unavailable trials > maxFailedTrialCount %d", failed, *c.MaxFailed))
		return Fail, nil, st, nil
	}
	if st.Trials >= c.MaxTrials {
		set(ConditionSucceeded, ReasonMaxTrials, fmt.Sprintf("Experiment has succeeded because max trial count has reached: %d", c.MaxTrials))
		return Done, nil, st, nil
	}
	s, err := New(c.Algorithm, c.Space, c.Settings, c.Direction)
	if err != nil {
		return Fail, nil, st, err
	}
	history := make([]Trial, len(records))
	for i, r := range records {
		history[i] = r.Trial(c.Objective)
	}
	n := min(max(c.Parallel, 1), c.MaxTrials-st.Trials)
	next, err := s.Suggest(history, n)
	if err != nil {
		return Fail, nil, st, fmt.Errorf("suggest with %s: %w", c.Algorithm, err)
	}
	if len(next) == 0 {
		set(ConditionSucceeded, ReasonSuggestionEnd, "Experiment has succeeded because suggestion service has reached the end: the search space is exhausted")
		return Done, nil, st, nil
	}
	set(ConditionRunning, ReasonRunning, "Experiment is running")
	return Continue, next, st, nil
}

func reached(dir Direction, v, goal float64) bool {
	if dir == Maximize {
		return v >= goal
	}
	return v <= goal
}

// bestRecord is the succeeded record with the best objective value (the
// earliest on ties).
func bestRecord(c Config, records []Record) (Record, bool) {
	var best Record
	found := false
	for _, r := range records {
		if r.State != Succeeded || math.IsNaN(r.Value) {
			continue
		}
		if !found || (c.Direction == Minimize && r.Value < best.Value) || (c.Direction == Maximize && r.Value > best.Value) {
			best, found = r, true
		}
	}
	return best, found
}

// Summarise counts the records by state and finds the current optimal trial.
func Summarise(c Config, records []Record) Status {
	var st Status
	for _, r := range records {
		st.Trials++
		switch r.State {
		case Succeeded:
			st.TrialsSucceeded++
			st.SucceededTrialList = append(st.SucceededTrialList, r.Name)
		case Failed:
			st.TrialsFailed++
			st.FailedTrialList = append(st.FailedTrialList, r.Name)
		case EarlyStopped:
			st.TrialsEarlyStopped++
			st.EarlyStoppedTrialList = append(st.EarlyStoppedTrialList, r.Name)
		case MetricMissing:
			st.TrialMetricsUnavailable++
			st.MetricsUnavailableTrialList = append(st.MetricsUnavailableTrialList, r.Name)
		default:
			st.TrialsRunning++
		}
	}
	if best, ok := bestRecord(c, records); ok {
		o := &st.CurrentOptimalTrial
		o.BestTrialName = best.Name
		for _, k := range slices.Sorted(maps.Keys(best.Params)) {
			o.ParameterAssignments = append(o.ParameterAssignments, ParameterAssignment{Name: k, Value: best.Params[k]})
		}
		for _, m := range append([]string{c.Objective}, c.Additional...) {
			vs := best.Metrics[m]
			if len(vs) == 0 {
				continue
			}
			lo, hi := vs[0], vs[0]
			for _, v := range vs {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
			o.Observation.Metrics = append(o.Observation.Metrics, MetricObservation{Name: m,
				Min: formatFloat(lo), Max: formatFloat(hi), Latest: formatFloat(vs[len(vs)-1])})
		}
	}
	return st
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Observe ends a trial: from its metric reports and whether its pipeline
// succeeded or was stopped early, the state and objective value Katib would
// give it. A trial whose pipeline failed is Failed; one that never reported
// the objective is MetricsUnavailable.
func Observe(c Config, r Record, pipelineSucceeded, earlyStopped bool) Record {
	vs := r.Metrics[c.Objective]
	switch {
	case earlyStopped:
		r.State = EarlyStopped
	case !pipelineSucceeded:
		r.State = Failed
	case len(vs) == 0:
		r.State = MetricMissing
		r.Message = fmt.Sprintf("metric %q was never reported", c.Objective)
	default:
		r.State = Succeeded
	}
	if len(vs) > 0 {
		r.Value = pick(c.strategy(c.Objective), vs)
	}
	return r
}

func (c Config) strategy(metric string) string {
	if s := c.Strategies[metric]; s != "" {
		return s
	}
	if metric != c.Objective {
		return "latest"
	}
	if c.Direction == Maximize {
		return "max"
	}
	return "min"
}

func pick(strategy string, vs []float64) float64 {
	v := vs[len(vs)-1]
	for _, x := range vs {
		switch strategy {
		case "min":
			v = math.Min(v, x)
		case "max":
			v = math.Max(v, x)
		}
	}
	return v
}

// Collector reads metric reports out of a trial's output lines with Katib's
// StdOut/TEXT rule: every match of a format regex whose name is one of the
// experiment's metrics is a report.
type Collector struct {
	formats []*regexp.Regexp
	metrics map[string]bool
}

// NewCollector compiles the config's formats (Katib's default when none).
func NewCollector(c Config) (*Collector, error) {
	fs := c.Formats
	if len(fs) == 0 {
		fs = []string{DefaultMetricsFormat}
	}
	col := &Collector{metrics: map[string]bool{c.Objective: true}}
	for _, m := range c.Additional {
		col.metrics[m] = true
	}
	for _, f := range fs {
		re, err := regexp.Compile(f)
		if err != nil || re.NumSubexp() < 2 {
			return nil, fmt.Errorf("%w: metrics format %q needs to be a regex with two groups (name, value)", ErrInvalid, f)
		}
		col.formats = append(col.formats, re)
	}
	return col, nil
}

// Line returns the metric reports in one line, in order.
func (col *Collector) Line(line string) []ParameterAssignment {
	var out []ParameterAssignment
	for _, re := range col.formats {
		for _, m := range re.FindAllStringSubmatch(line, -1) {
			if !col.metrics[m[1]] {
				continue
			}
			if _, err := strconv.ParseFloat(m[2], 64); err != nil {
				continue
			}
			out = append(out, ParameterAssignment{Name: m[1], Value: m[2]})
		}
	}
	return out
}
