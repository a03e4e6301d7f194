package monitor

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Type is how a feature's values compare: numbers or categories.
type Type string

// Feature types.
const (
	Numeric     Type = "numeric"
	Categorical Type = "categorical"
)

// Metric names.
const (
	MetricPSI       = "psi"
	MetricKS        = "ks"
	MetricErrorRate = "error_rate"
	// MetricLatency is "latency_pNN_ms" for percentile NN.
	metricLatency = "latency_p%g_ms"
)

// Feature is one input the model receives, or (Output) one prediction it
// makes.
type Feature struct {
	Name   string
	Type   Type
	Output bool
}

// Goal is a target value and how far above it a measure may go: a measure
// is violated when it exceeds Goal + Tolerance (every measure here is
// better lower).
type Goal struct {
	Goal      float64 `json:"goal"`
	Tolerance float64 `json:"tolerance"`
}

// Violated reports whether v is beyond the goal's tolerance.
func (g Goal) Violated(v float64) bool { return v > g.Goal+g.Tolerance }

// Drift is one drift metric (MetricPSI or MetricKS) measured on features
// (nil: every feature and prediction) against its goal.
type Drift struct {
	Metric   string
	Goal     Goal
	Features []string
}

// Latency is a percentile of the window's latencies, in milliseconds,
// against its goal.
type Latency struct {
	Percentile float64
	Goal       Goal
}

// Spec is what a monitor measures.
type Spec struct {
	Features  []Feature
	Drift     []Drift
	Latency   *Latency
	ErrorRate *Goal
	// Bins is the number of equal-count bins of a numeric feature's
	// baseline for PSI (10 when 0).
	Bins int
}

// Column is the values of one feature: numbers or labels by its type.
type Column struct {
	Numbers []float64
	Labels  []string
}

func (c Column) len() int { return len(c.Numbers) + len(c.Labels) }

// Sample is the values of each feature, by name.
type Sample map[string]Column

// Window is the predictions recorded in one window: their features, the
// requests' latencies (ms) and how many of the requests failed.
type Window struct {
	Sample    Sample
	Latencies []float64
	Requests  int
	Failed    int
}

// Measure is one metric of a window against its goal. N is how many values
// it was measured on; a measure of no values is never violated.
type Measure struct {
	Metric    string  `json:"metric"`
	Feature   string  `json:"feature,omitempty"`
	Value     float64 `json:"value"`
	Goal      float64 `json:"goal"`
	Tolerance float64 `json:"tolerance"`
	Violated  bool    `json:"violated"`
	N         int     `json:"n"`
}

// Bins is a feature's distribution in the baseline and in the window, bin
// by bin (the window level of the drilldown).
type Bins struct {
	Feature  string    `json:"feature"`
	Labels   []string  `json:"labels"`
	Baseline []float64 `json:"baseline"`
	Window   []float64 `json:"window"`
}

// Result is a window's measures, and its bins per feature.
type Result struct {
	Measures []Measure `json:"measures"`
	Bins     []Bins    `json:"bins"`
}

// Evaluate measures a window against the baseline: each drift metric on
// each of its features, the latency percentile and the error rate.
func Evaluate(s Spec, baseline Sample, w Window) Result {
	var r Result
	bins := s.Bins
	if bins == 0 {
		bins = 10
	}
	binned := map[string]Bins{}
	for _, f := range s.Features {
		b, cur := baseline[f.Name], w.Sample[f.Name]
		bs := binsOf(f, b, cur, bins)
		binned[f.Name] = bs
		r.Bins = append(r.Bins, bs)
		for _, d := range s.Drift {
			if (d.Features != nil && !contains(d.Features, f.Name)) || b.len() == 0 {
				continue // not asked for, or no baseline to compare with (a prediction the dataset lacks)
			}
			m := Measure{Metric: d.Metric, Feature: f.Name, Goal: d.Goal.Goal, Tolerance: d.Goal.Tolerance, N: cur.len()}
			if m.N > 0 {
				m.Value = drift(d.Metric, f, b, cur, bs)
				m.Violated = d.Goal.Violated(m.Value)
			}
			r.Measures = append(r.Measures, m)
		}
	}
	if l := s.Latency; l != nil {
		m := Measure{Metric: fmt.Sprintf(metricLatency, l.Percentile), Goal: l.Goal.Goal, Tolerance: l.Goal.Tolerance, N: len(w.Latencies)}
		if m.N > 0 {
			m.Value = Percentile(w.Latencies, l.Percentile)
			m.Violated = l.Goal.Violated(m.Value)
		}
		r.Measures = append(r.Measures, m)
	}
	if g := s.ErrorRate; g != nil {
		m := Measure{Metric: MetricErrorRate, Goal: g.Goal, Tolerance: g.Tolerance, N: w.Requests}
		if m.N > 0 {
			m.Value = float64(w.Failed) / float64(w.Requests)
			m.Violated = g.Violated(m.Value)
		}
		r.Measures = append(r.Measures, m)
	}
	return r
}

func drift(metric string, f Feature, base, cur Column, bs Bins) float64 {
	switch {
	case metric == MetricPSI:
		return PSI(bs.Baseline, bs.Window)
	case f.Type == Categorical:
		return KSCategorical(bs.Baseline, bs.Window)
	}
	return KS(base.Numbers, cur.Numbers)
}

// binsOf bins a feature: equal-count bins of the baseline for numbers,
// the categories for labels.
func binsOf(f Feature, base, cur Column, n int) Bins {
	if f.Type == Categorical {
		cats := Categories(base.Labels, cur.Labels)
		return Bins{Feature: f.Name, Labels: cats, Baseline: Shares(base.Labels, cats), Window: Shares(cur.Labels, cats)}
	}
	cuts := Cuts(base.Numbers, n)
	labels := make([]string, len(cuts)+1)
	for i := range labels {
		lo, hi := "-inf", "+inf"
		if i > 0 {
			lo = fmtNum(cuts[i-1])
		}
		if i < len(cuts) {
			hi = fmtNum(cuts[i])
		}
		labels[i] = "[" + lo + ", " + hi + ")"
	}
	return Bins{Feature: f.Name, Labels: labels, Baseline: Histogram(base.Numbers, cuts), Window: Histogram(cur.Numbers, cuts)}
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of values.
func Percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := append([]float64(nil), values...)
	sort.Float64s(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// Add appends one row's value of each feature to the sample: a row is an
// object (values by feature name), an array (by position among the inputs,
// or among the outputs when output), or a scalar (the only one). Values
// that do not fit the feature's type are left out.
func (s Sample) Add(features []Feature, output bool, row any) {
	var mine []Feature
	for _, f := range features {
		if f.Output == output {
			mine = append(mine, f)
		}
	}
	switch r := row.(type) {
	case map[string]any:
		for _, f := range mine {
			if v, ok := r[f.Name]; ok {
				s.put(f, v)
			}
		}
	case []any:
		for i, f := range mine {
			if i < len(r) {
				s.put(f, r[i])
			}
		}
	default:
		if len(mine) == 1 {
			s.put(mine[0], row)
		}
	}
}

func (s Sample) put(f Feature, v any) {
	c := s[f.Name]
	if f.Type == Categorical {
		if l, ok := label(v); ok {
			c.Labels = append(c.Labels, l)
		}
	} else if n, ok := number(v); ok {
		c.Numbers = append(c.Numbers, n)
	}
	s[f.Name] = c
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case int:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func label(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case nil, map[string]any, []any:
		return "", false
	}
	if n, ok := number(v); ok {
		return strconv.FormatFloat(n, 'g', -1, 64), true
	}
	return "", false
}

// FromTable reads a baseline from a table whose first row names the
// columns (a CSV file): one column per feature, by name. An input without
// a column is an error naming it and the columns there are; a prediction
// without one has no baseline (its drift is not measured).
func FromTable(features []Feature, rows [][]string) (Sample, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("the table is empty: want a header row naming the features")
	}
	at := map[string]int{}
	for i, h := range rows[0] {
		at[strings.TrimSpace(h)] = i
	}
	s := Sample{}
	var missing []string
	for _, f := range features {
		i, ok := at[f.Name]
		if !ok && !f.Output {
			missing = append(missing, f.Name)
		}
		if !ok {
			continue
		}
		for _, r := range rows[1:] {
			if i < len(r) {
				s.put(f, r[i])
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no column for feature %s (the header has %s)", strings.Join(missing, ", "), strings.Join(rows[0], ", "))
	}
	return s, nil
}
