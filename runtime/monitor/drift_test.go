package monitor

import (
	"encoding/xml"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var approx = cmpopts.EquateApprox(0, 1e-6)

// The expected values below are computed by hand (each case says how).
func TestPSINumeric(t *testing.T) {
	cases := []struct {
		name       string
		base, cur  []float64
		bins       int
		cuts, e, a []float64
		psi        float64
	}{
		// 1..10 in 2 bins: cut at the 5th-ranked value 6; the window has
		// 2 of 8 below 6. PSI = (.25-.5)ln(.25/.5) + (.75-.5)ln(.75/.5)
		// = .173287 + .101366.
		{"two bins", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, []float64{1, 2, 6, 7, 8, 9, 10, 11}, 2,
			[]float64{6}, []float64{.5, .5}, []float64{.25, .75}, 0.274653072},
		// 1..8 in 4 bins: cuts 3, 5, 7, a quarter each; the window's 10
		// values fall 1, 2, 3, 4. PSI = -.15 ln .4 - .05 ln .8 + .05 ln 1.2
		// + .15 ln 1.6 = .137444 + .011157 + .009116 + .070501.
		{"four bins", []float64{1, 2, 3, 4, 5, 6, 7, 8}, []float64{1, 3, 4, 5, 6, 6, 7, 8, 8, 9}, 4,
			[]float64{3, 5, 7}, []float64{.25, .25, .25, .25}, []float64{.1, .2, .3, .4}, 0.228217410},
		// The same distribution twice: 0.
		{"no drift", []float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, 2, []float64{3}, []float64{.5, .5}, []float64{.5, .5}, 0},
		// Repeated values make fewer bins: 1,1,1,2 in 4 bins cuts only at 2.
		{"repeats", []float64{1, 1, 1, 2}, []float64{2, 2}, 4, []float64{2}, []float64{.75, .25}, []float64{0, 1},
			// (1e-4-.75)ln(1e-4/.75) + (1-.25)ln(1/.25) = 6.686609 + 1.039721
			(1e-4-.75)*math.Log(1e-4/.75) + .75*math.Log(4)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cuts := Cuts(c.base, c.bins)
			e, a := Histogram(c.base, cuts), Histogram(c.cur, cuts)
			if d := cmp.Diff(c.cuts, cuts, approx); d != "" {
				t.Errorf("cuts (-want +got)\n%s", d)
			}
			if d := cmp.Diff(c.e, e, approx); d != "" {
				t.Errorf("baseline shares (-want +got)\n%s", d)
			}
			if d := cmp.Diff(c.a, a, approx); d != "" {
				t.Errorf("window shares (-want +got)\n%s", d)
			}
			if got := PSI(e, a); math.Abs(got-c.psi) > 1e-6 {
				t.Errorf("PSI %.9f, want %.9f", got, c.psi)
			}
		})
	}
}

func TestPSICategorical(t *testing.T) {
	base, cur := []string{"a", "a", "b", "b"}, []string{"a", "a", "a", "c"}
	cats := Categories(base, cur)
	if d := cmp.Diff([]string{"a", "b", "c"}, cats); d != "" {
		t.Fatalf("categories (-want +got)\n%s", d)
	}
	e, a := Shares(base, cats), Shares(cur, cats)
	if d := cmp.Diff([]float64{.5, .5, 0}, e, approx); d != "" {
		t.Errorf("baseline (-want +got)\n%s", d)
	}
	if d := cmp.Diff([]float64{.75, 0, .25}, a, approx); d != "" {
		t.Errorf("window (-want +got)\n%s", d)
	}
	// a: (.75-.5)ln 1.5 = .101366; b (empty in the window, floored at
	// 1e-4): (1e-4-.5)ln(1e-4/.5) = 4.257745; c (new): (.25-1e-4)ln 2500
	// = 1.955229.
	if got := PSI(e, a); math.Abs(got-6.314340252) > 1e-6 {
		t.Errorf("PSI %.9f, want 6.314340252", got)
	}
	// Categorical KS: half the L1 distance: (.25 + .5 + .25)/2.
	if got := KSCategorical(e, a); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("KS %v, want 0.5", got)
	}
}

func TestKSNumeric(t *testing.T) {
	cases := []struct {
		name string
		a, b []float64
		d    float64
	}{
		// ECDFs at 5: F_a = 1, F_b = 3/6: the largest gap, 0.5 (at 4 it is
		// .8 - 2/6 = .4667).
		{"shifted", []float64{1, 2, 3, 4, 5}, []float64{3, 4, 5, 6, 7, 8}, 0.5},
		// Ties step together: at 1, 2/3 against 1/3; at 2 both reach 1.
		{"ties", []float64{1, 1, 2}, []float64{1, 2, 2}, 1.0 / 3},
		{"same", []float64{3, 1, 2}, []float64{1, 2, 3}, 0},
		{"disjoint", []float64{1, 2}, []float64{3, 4, 5}, 1},
		{"empty", nil, []float64{1}, 0},
	}
	for _, c := range cases {
		if got := KS(c.a, c.b); math.Abs(got-c.d) > 1e-12 {
			t.Errorf("%s: KS %v, want %v", c.name, got, c.d)
		}
		if got := KS(c.b, c.a); math.Abs(got-c.d) > 1e-12 {
			t.Errorf("%s: KS is not symmetric: %v, want %v", c.name, got, c.d)
		}
	}
}

func TestPercentile(t *testing.T) {
	var hundred []float64
	for i := 100; i >= 1; i-- {
		hundred = append(hundred, float64(i))
	}
	for _, c := range []struct {
		vs   []float64
		p, v float64
	}{{hundred, 99, 99}, {hundred, 50, 50}, {hundred, 100, 100}, {[]float64{30, 10, 20}, 50, 20}, {[]float64{7}, 99, 7}, {nil, 99, 0}} {
		if got := Percentile(c.vs, c.p); got != c.v {
			t.Errorf("p%v of %d values: %v, want %v", c.p, len(c.vs), got, c.v)
		}
	}
}

// TestEvaluate: one window of a numeric and a categorical input and a
// numeric prediction, against PSI, KS, latency and error-rate goals; every
// value is one of the hand-computed tables above.
func TestEvaluate(t *testing.T) {
	spec := Spec{
		Features: []Feature{{Name: "x", Type: Numeric}, {Name: "color", Type: Categorical}, {Name: "y", Type: Numeric, Output: true}},
		Drift: []Drift{{Metric: MetricPSI, Goal: Goal{0, 0.25}, Features: []string{"x", "color"}},
			{Metric: MetricKS, Goal: Goal{0, 0.4}}},
		Latency: &Latency{Percentile: 99, Goal: Goal{50, 10}}, ErrorRate: &Goal{0, 0.1}, Bins: 2,
	}
	base := Sample{}
	for i := 1; i <= 10; i++ {
		base.Add(spec.Features, false, map[string]any{"x": float64(i), "color": []string{"a", "b"}[i%2]})
		base.Add(spec.Features, true, float64(i))
	}
	w := Window{Sample: Sample{}, Requests: 8, Failed: 1}
	for i, x := range []float64{1, 2, 6, 7, 8, 9, 10, 11} {
		w.Sample.Add(spec.Features, false, []any{x, []string{"a", "b"}[i%2]}) // by position
		w.Sample.Add(spec.Features, true, map[string]any{"y": x})
		w.Latencies = append(w.Latencies, float64(10*(i+1))) // 10..80 ms
	}
	got := Evaluate(spec, base, w)
	// x: the "two bins" PSI case (.2747 > .25) and KS of 1..10 against
	// {1,2,6..11}: at 5, F_base = .5 and F_win = 2/8 → .25; colors
	// alternate in both (PSI 0, KS 0); y is 1..10 against x's window
	// values: KS .25; p99 of 10..80 is 80 > 60; 1 of 8 failed = .125 > .1.
	want := []Measure{
		{Metric: "psi", Feature: "x", Value: 0.274653072, Tolerance: .25, Violated: true, N: 8},
		{Metric: "ks", Feature: "x", Value: 0.25, Tolerance: .4, N: 8},
		{Metric: "psi", Feature: "color", Value: 0, Tolerance: .25, N: 8},
		{Metric: "ks", Feature: "color", Value: 0, Tolerance: .4, N: 8},
		{Metric: "ks", Feature: "y", Value: 0.25, Tolerance: .4, N: 8},
		{Metric: "latency_p99_ms", Value: 80, Goal: 50, Tolerance: 10, Violated: true, N: 8},
		{Metric: "error_rate", Value: 0.125, Tolerance: .1, Violated: true, N: 8},
	}
	if d := cmp.Diff(want, got.Measures, approx); d != "" {
		t.Errorf("measures (-want +got)\n%s", d)
	}
	if d := cmp.Diff(Bins{Feature: "x", Labels: []string{"[-inf, 6)", "[6, +inf)"}, Baseline: []float64{.5, .5}, Window: []float64{.25, .75}}, got.Bins[0], approx); d != "" {
		t.Errorf("x's bins (-want +got)\n%s", d)
	}
}

func TestEvaluateNothingRecorded(t *testing.T) {
	spec := Spec{Features: []Feature{{Name: "x", Type: Numeric}}, Drift: []Drift{{Metric: MetricPSI, Goal: Goal{0, 0.1}}}, ErrorRate: &Goal{0, 0}}
	got := Evaluate(spec, Sample{"x": {Numbers: []float64{1, 2}}}, Window{Sample: Sample{}})
	want := []Measure{{Metric: "psi", Feature: "x", Tolerance: .1}, {Metric: "error_rate"}}
	if d := cmp.Diff(want, got.Measures); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

func TestChanges(t *testing.T) {
	psiX := func(v bool) Measure { return Measure{Metric: "psi", Feature: "x", Violated: v, N: 5} }
	cases := []struct {
		name            string
		active          map[Key]bool
		ms              []Measure
		raised, cleared []Measure
	}{
		{"raise", nil, []Measure{psiX(true), {Metric: "psi", Feature: "z", N: 5}}, []Measure{psiX(true)}, nil},
		{"stays raised", map[Key]bool{{"psi", "x"}: true}, []Measure{psiX(true)}, nil, nil},
		{"clears", map[Key]bool{{"psi", "x"}: true}, []Measure{psiX(false)}, nil, []Measure{psiX(false)}},
		{"nothing measured keeps it", map[Key]bool{{"psi", "x"}: true}, []Measure{{Metric: "psi", Feature: "x"}}, nil, nil},
	}
	for _, c := range cases {
		r, cl := Changes(c.active, c.ms)
		if d := cmp.Diff(c.raised, r); d != "" {
			t.Errorf("%s: raised (-want +got)\n%s", c.name, d)
		}
		if d := cmp.Diff(c.cleared, cl); d != "" {
			t.Errorf("%s: cleared (-want +got)\n%s", c.name, d)
		}
	}
}

func TestFromTable(t *testing.T) {
	fs := []Feature{{Name: "x", Type: Numeric}, {Name: "c", Type: Categorical}}
	s, err := FromTable(fs, [][]string{{"c", " x"}, {"red", "1.5"}, {"blue", "oops"}, {"red", "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(Sample{"x": {Numbers: []float64{1.5, 2}}, "c": {Labels: []string{"red", "blue", "red"}}}, s); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if _, err := FromTable(append(fs, Feature{Name: "z"}), [][]string{{"x", "c"}}); err == nil || !strings.Contains(err.Error(), "no column for feature z (the header has x, c)") {
		t.Errorf("a missing column: %v", err)
	}
	// A prediction the table lacks has no baseline, and no drift measure.
	s, err = FromTable(append(fs, Feature{Name: "y", Output: true}), [][]string{{"x", "c"}, {"1", "a"}})
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{Features: append(fs, Feature{Name: "y", Output: true}), Drift: []Drift{{Metric: MetricKS, Goal: Goal{0, .1}}}}
	w := Window{Sample: Sample{"x": {Numbers: []float64{1}}, "c": {Labels: []string{"a"}}, "y": {Numbers: []float64{5}}}}
	var got []string
	for _, m := range Evaluate(spec, s, w).Measures {
		got = append(got, m.Metric+" "+m.Feature)
	}
	if d := cmp.Diff([]string{"ks x", "ks c"}, got); d != "" {
		t.Errorf("measures (-want +got)\n%s", d)
	}
}

// TestCharts: each level's SVG is well-formed XML, names what it shows,
// and colours what is beyond tolerance.
func TestCharts(t *testing.T) {
	charts := map[string]string{
		"model":   BarChart("m-serve: drift <newest>", []Bar{{Label: "x", Value: .3, Limit: .2, Violated: true}, {Label: "c", Value: .01, Limit: .2}}),
		"feature": LineChart("x: psi", []Point{{1, .01, false}, {2, .4, true}}, .2),
		"window":  HistogramChart("x in window 2", Bins{Labels: []string{"[-inf, 6)", "[6, +inf)"}, Baseline: []float64{.5, .5}, Window: []float64{.25, .75}}),
	}
	for level, s := range charts {
		d := xml.NewDecoder(strings.NewReader(s))
		for {
			_, err := d.Token()
			if err != nil {
				if err.Error() != "EOF" {
					t.Errorf("%s: not XML: %v\n%s", level, err, s)
				}
				break
			}
		}
	}
	if !strings.Contains(charts["model"], "&lt;newest&gt;") || !strings.Contains(charts["model"], badColor) || !strings.Contains(charts["model"], "x: 0.3 (limit 0.2)") {
		t.Errorf("model chart:\n%s", charts["model"])
	}
	if !strings.Contains(charts["feature"], "window 2: 0.4") || strings.Count(charts["feature"], badColor) != 1 {
		t.Errorf("feature chart:\n%s", charts["feature"])
	}
	if !strings.Contains(charts["window"], "window [6, +inf): 0.75") {
		t.Errorf("window chart:\n%s", charts["window"])
	}
}
