package hpo

import (
	"encoding/xml"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

func rec(name string, state TrialState, v float64, reports ...float64) Record {
	r := Record{Name: name, State: state, Value: v, Params: Assignment{"x": name}, Metrics: map[string][]float64{}}
	if len(reports) > 0 {
		r.Metrics["loss"] = reports
	}
	return r
}

func TestDecideEndRules(t *testing.T) {
	space := Space{{Name: "x", Type: Discrete, List: []string{"1", "2", "3", "4"}}}
	base := Config{Name: "e", Algorithm: "grid", Space: space, Objective: "loss", MaxTrials: 4, Parallel: 3}
	tests := []struct {
		name      string
		cfg       func(Config) Config
		records   []Record
		phase     Phase
		reason    string
		suggested int
	}{
		{"first round suggests parallelTrialCount", nil, nil, Continue, ReasonRunning, 3},
		{"last round is cut to maxTrialCount", nil, []Record{rec("e-1", Succeeded, 3, 3), rec("e-2", Succeeded, 2, 2)}, Continue, ReasonRunning, 2},
		{"goal reached (minimize)", func(c Config) Config { c.Goal = ptr(0.5); return c },
			[]Record{rec("e-1", Succeeded, 3, 3), rec("e-2", Succeeded, 0.5, 0.5)}, Done, ReasonGoalReached, 0},
		{"goal not reached by a failed trial's value", func(c Config) Config { c.Goal = ptr(0.5); return c },
			[]Record{rec("e-1", Failed, 0.1, 0.1)}, Continue, ReasonRunning, 3},
		{"goal reached (maximize)", func(c Config) Config { c.Goal = ptr(0.9); c.Direction = Maximize; return c },
			[]Record{rec("e-1", Succeeded, 0.95, 0.95)}, Done, ReasonGoalReached, 0},
		{"failed trials at maxFailedTrialCount go on", func(c Config) Config { c.MaxFailed = ptr(2); return c },
			[]Record{rec("e-1", Failed, 0), rec("e-2", MetricMissing, 0)}, Continue, ReasonRunning, 2},
		{"failed trials exceeding maxFailedTrialCount fail it", func(c Config) Config { c.MaxFailed = ptr(1); return c },
			[]Record{rec("e-1", Failed, 0), rec("e-2", MetricMissing, 0)}, Fail, ReasonFailed, 0},
		{"goal comes before failures", func(c Config) Config { c.MaxFailed = ptr(0); c.Goal = ptr(1.0); return c },
			[]Record{rec("e-1", Failed, 0), rec("e-2", Succeeded, 1, 1)}, Done, ReasonGoalReached, 0},
		{"max trials", nil, []Record{rec("e-1", Succeeded, 3, 3), rec("e-2", Succeeded, 2, 2), rec("e-3", EarlyStopped, 9, 9), rec("e-4", Succeeded, 1, 1)},
			Done, ReasonMaxTrials, 0},
		{"search space exhausted", func(c Config) Config {
			c.MaxTrials = 10
			c.Space = Space{{Name: "x", Type: Discrete, List: []string{"1", "2"}}}
			return c
		},
			[]Record{{Name: "e-1", State: Succeeded, Params: Assignment{"x": "1"}}, {Name: "e-2", State: Succeeded, Params: Assignment{"x": "2"}}},
			Done, ReasonSuggestionEnd, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			if tc.cfg != nil {
				c = tc.cfg(c)
			}
			phase, next, st, err := Decide(c, tc.records)
			if err != nil {
				t.Fatal(err)
			}
			last := st.Conditions[len(st.Conditions)-1]
			if phase != tc.phase || last.Reason != tc.reason || len(next) != tc.suggested {
				t.Fatalf("got phase %d reason %s and %d suggestions, want %d %s %d", phase, last.Reason, len(next), tc.phase, tc.reason, tc.suggested)
			}
			if st.Trials != len(tc.records) {
				t.Fatalf("trials %d, want %d", st.Trials, len(tc.records))
			}
		})
	}
}

func TestSummariseKatibShape(t *testing.T) {
	c := Config{Objective: "loss", Additional: []string{"acc"}}
	best := rec("e-2", Succeeded, 0.2, 0.9, 0.2, 0.4)
	best.Metrics["acc"] = []float64{0.5, 0.7}
	st := Summarise(c, []Record{rec("e-1", Succeeded, 0.3, 0.3), best, rec("e-3", Failed, 0), rec("e-4", EarlyStopped, 5, 5),
		rec("e-5", MetricMissing, 0), {Name: "e-6", State: Running}})
	want := Status{Trials: 6, TrialsSucceeded: 2, TrialsFailed: 1, TrialsEarlyStopped: 1, TrialMetricsUnavailable: 1, TrialsRunning: 1,
		SucceededTrialList: []string{"e-1", "e-2"}, FailedTrialList: []string{"e-3"}, EarlyStoppedTrialList: []string{"e-4"},
		MetricsUnavailableTrialList: []string{"e-5"}}
	want.CurrentOptimalTrial.BestTrialName = "e-2"
	want.CurrentOptimalTrial.ParameterAssignments = []ParameterAssignment{{Name: "x", Value: "e-2"}}
	want.CurrentOptimalTrial.Observation.Metrics = []MetricObservation{{Name: "loss", Min: "0.2", Max: "0.9", Latest: "0.4"}, {Name: "acc", Min: "0.5", Max: "0.7", Latest: "0.7"}}
	if d := cmp.Diff(want, st); d != "" {
		t.Fatal(d)
	}
}

func TestObserve(t *testing.T) {
	c := Config{Objective: "loss"}
	tests := []struct {
		name        string
		cfg         Config
		reports     []float64
		ok, stopped bool
		state       TrialState
		value       float64
	}{
		{"minimize takes the min", c, []float64{0.9, 0.2, 0.4}, true, false, Succeeded, 0.2},
		{"maximize takes the max", Config{Objective: "loss", Direction: Maximize}, []float64{0.9, 0.2, 0.4}, true, false, Succeeded, 0.9},
		{"latest strategy", Config{Objective: "loss", Strategies: map[string]string{"loss": "latest"}}, []float64{0.9, 0.2, 0.4}, true, false, Succeeded, 0.4},
		{"no report", c, nil, true, false, MetricMissing, 0},
		{"pipeline failed", c, []float64{0.1}, false, false, Failed, 0.1},
		{"stopped early", c, []float64{5, 6}, false, true, EarlyStopped, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Observe(tc.cfg, Record{Name: "t", Metrics: map[string][]float64{"loss": tc.reports}}, tc.ok, tc.stopped)
			if r.State != tc.state || r.Value != tc.value {
				t.Fatalf("got %s %g, want %s %g", r.State, r.Value, tc.state, tc.value)
			}
		})
	}
}

func TestCollectorKatibDefaultFormat(t *testing.T) {
	col, err := NewCollector(Config{Objective: "loss", Additional: []string{"val-acc"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		line string
		want []ParameterAssignment
	}{
		{"loss=0.123", []ParameterAssignment{{"loss", "0.123"}}},
		{"epoch 3: loss = 1.5e-3 val-acc=0.91 lr=0.01", []ParameterAssignment{{"loss", "1.5e-3"}, {"val-acc", "0.91"}}},
		{"loss=-2", []ParameterAssignment{{"loss", "-2"}}},
		{"accuracy=0.9", nil},
		{"loss=abc", nil},
	}
	for _, tc := range tests {
		if d := cmp.Diff(tc.want, col.Line(tc.line)); d != "" {
			t.Errorf("%q: %s", tc.line, d)
		}
	}
	if _, err := NewCollector(Config{Objective: "loss", Formats: []string{`loss (\d+)`}}); err == nil {
		t.Fatal("a format with one group was accepted")
	}
	custom, err := NewCollector(Config{Objective: "loss", Formats: []string{`"(loss)": ([\d.]+)`}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]ParameterAssignment{{"loss", "0.5"}}, custom.Line(`{"loss": 0.5}`)); d != "" {
		t.Fatal(d)
	}
}

func TestPlotSVG(t *testing.T) {
	c := Config{Name: "e<1>", Objective: "loss"}
	records := []Record{rec("e-1", Succeeded, 3, 3), rec("e-2", Failed, 0), rec("e-3", Succeeded, 1, 1),
		rec("e-4", EarlyStopped, 7, 7), rec("e-5", Succeeded, 2, 2), {Name: "e-6", State: Running}}
	svg := PlotSVG(c, records)
	var doc struct {
		Circles []struct {
			Class string  `xml:"class,attr"`
			CY    float64 `xml:"cy,attr"`
			Title string  `xml:"title"`
		} `xml:"circle"`
		Lines []struct {
			Points string `xml:"points,attr"`
		} `xml:"polyline"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, svg)
	}
	// e-2 reported nothing and e-6 runs: 3 succeeded + 1 early stopped.
	if len(doc.Circles) != 4 || !strings.Contains(doc.Circles[2].Title, "EarlyStopped") {
		t.Fatalf("circles %+v", doc.Circles)
	}
	if len(doc.Lines) != 1 {
		t.Fatalf("want one best-so-far line, got %d", len(doc.Lines))
	}
	// Best so far of 3, 1, 2: y never goes up the value axis (SVG y grows down).
	var ys []float64
	for _, p := range strings.Fields(doc.Lines[0].Points) {
		var x, y float64
		if _, err := fmt.Sscanf(p, "%g,%g", &x, &y); err != nil {
			t.Fatal(err)
		}
		ys = append(ys, y)
	}
	for i := 1; i < len(ys); i++ {
		if ys[i] < ys[i-1]-1e-9 {
			t.Fatalf("best-so-far line gets worse: %v", ys)
		}
	}
	if math.Abs(ys[len(ys)-1]-doc.Circles[1].CY) > 0.1 {
		t.Fatalf("the line ends at %g, not at the best trial's %g", ys[len(ys)-1], doc.Circles[1].CY)
	}
}

// TestPlotScaleGoalAndTicks: values over four orders of magnitude get a
// log axis with a tick per decade; the goal is a dashed line at its value;
// trials are numbered on x; values within one order stay linear.
func TestPlotScaleGoalAndTicks(t *testing.T) {
	type svg struct {
		Texts []struct {
			Class string  `xml:"class,attr"`
			Y     float64 `xml:"y,attr"`
			Body  string  `xml:",chardata"`
		} `xml:"text"`
		Paths []struct {
			Class string `xml:"class,attr"`
			D     string `xml:"d,attr"`
		} `xml:"path"`
		Circles []struct {
			CY float64 `xml:"cy,attr"`
		} `xml:"circle"`
	}
	parse := func(b []byte) svg {
		var doc svg
		if err := xml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("not XML: %v\n%s", err, b)
		}
		return doc
	}
	goal := 0.002
	var records []Record
	for i, v := range []float64{5, 0.3, 0.01, 0.004, 0.0015} {
		records = append(records, rec(fmt.Sprintf("e-%d", i), Succeeded, v, v))
	}
	for i := len(records); i < 30; i++ {
		records = append(records, Record{Name: fmt.Sprintf("e-%d", i), State: Running})
	}
	doc := parse(PlotSVG(Config{Name: "e", Objective: "loss", Goal: &goal}, records))
	var title string
	var xlabels []string
	for _, tx := range doc.Texts {
		switch {
		case strings.HasPrefix(tx.Body, "e: loss"):
			title = tx.Body
		case tx.Class == "xtick":
			xlabels = append(xlabels, tx.Body)
		}
	}
	if !strings.Contains(title, "log scale") {
		t.Errorf("title %q: want a log scale for 0.0015..5", title)
	}
	ticks := 0
	var goalPath string
	for _, p := range doc.Paths {
		if p.Class == "ytick" {
			ticks++
		}
		if p.Class == "goal" {
			goalPath = p.D
		}
	}
	if ticks != 5 { // 0.001, 0.01, 0.1, 1, 10
		t.Errorf("%d ticks on the log axis, want one per decade from 0.001 to 10", ticks)
	}
	if d := cmp.Diff([]string{"1", "5", "10", "15", "20", "25", "30"}, xlabels); d != "" {
		t.Errorf("x ticks (-want +got):\n%s", d)
	}
	// On a log axis the circles of 0.3 and 0.01 are 1.477 decades apart,
	// those of 5 and 0.3 1.222.
	c := doc.Circles
	if r := (c[2].CY - c[1].CY) / (c[1].CY - c[0].CY); math.Abs(r-math.Log10(30)/math.Log10(5/0.3)) > 0.01 {
		t.Errorf("spacing ratio %g: not logarithmic", r)
	}
	var gy float64
	if _, err := fmt.Sscanf(goalPath, "M64 %gH", &gy); err != nil {
		t.Fatalf("goal line %q: %v", goalPath, err)
	}
	// The goal 0.002 lies between the circles of 0.004 and 0.0015.
	if !(gy > c[3].CY && gy < c[4].CY) {
		t.Errorf("goal line at y=%g, not between 0.004 (y=%g) and 0.0015 (y=%g)", gy, c[3].CY, c[4].CY)
	}

	lin := parse(PlotSVG(Config{Name: "e", Objective: "loss"}, records[:2]))
	for _, tx := range lin.Texts {
		if strings.Contains(tx.Body, "log scale") {
			t.Errorf("5 and 0.3 drawn on a log scale")
		}
	}
	for _, p := range lin.Paths {
		if p.Class == "goal" {
			t.Errorf("a goal line without a goal")
		}
	}
}
