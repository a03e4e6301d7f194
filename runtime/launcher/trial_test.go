package launcher

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/runtime/hpo"
)

// TestTrialCollectors runs real commands as a trial's step and checks the
// reports each Katib collector kind (and KFP metrics outputs) records.
func TestTrialCollectors(t *testing.T) {
	const metricsComp = `{"outputDefinitions":{"artifacts":{"metrics":{"artifactType":{"schemaTitle":"system.Metrics"}}}}}`
	tests := []struct {
		name string
		cfg  hpo.Config
		comp string
		cmd  func(o Options) []string
		want map[string][]float64
	}{
		{"StdOut with Katib's default format", hpo.Config{Objective: "loss", Additional: []string{"acc"}}, "{}",
			func(Options) []string {
				return []string{"sh", "-c", "echo 'epoch=1 loss=0.5 acc=0.7'; echo 'noise lr=3'; echo 'loss = 2.5e-1' >&2; echo loss=0.25"}
			},
			map[string][]float64{"loss": {0.5, 0.25}, "acc": {0.7}}},
		{"StdOut with a custom format", hpo.Config{Objective: "loss", Formats: []string{`(\w+): ([\d.]+)`}}, "{}",
			func(Options) []string { return []string{"sh", "-c", "echo 'loss: 0.4'; echo loss=0.1"} },
			map[string][]float64{"loss": {0.4}}},
		{"File TEXT", hpo.Config{Objective: "loss", Collector: "File", MetricsFile: "metrics.log"}, "{}",
			func(Options) []string {
				return []string{"sh", "-c", "echo loss=9; printf 'loss=0.3\\nloss=0.2\\n' > metrics.log"}
			},
			map[string][]float64{"loss": {0.3, 0.2}}},
		{"File JSON lines", hpo.Config{Objective: "loss", Additional: []string{"acc"}, Collector: "File", MetricsFile: "m.json", FileFormat: "JSON"}, "{}",
			func(Options) []string {
				return []string{"sh", "-c", `printf '{"loss": 0.3, "acc": "0.8"}\n{"step": 2}\n{"loss": 0.1}\n' > m.json`}
			},
			map[string][]float64{"loss": {0.3, 0.1}, "acc": {0.8}}},
		{"Push", hpo.Config{Objective: "loss", Collector: "Push"}, "{}",
			func(Options) []string {
				return []string{"sh", "-c", `echo loss=9; echo loss=0.05 >> "$KUBELINE_TRIAL_METRICS"`}
			},
			map[string][]float64{"loss": {0.05}}},
		{"KFP metrics output", hpo.Config{Objective: "loss", Collector: "Push"}, metricsComp,
			func(o Options) []string {
				return []string{"sh", "-c", `printf '{"artifacts":{"metrics":{"artifacts":[{"metadata":{"loss":0.125,"other":1}}]}}}' > "$0"`,
					filepath.Join(o.OutputsDir, ".kfp", "executor_output.json")}
			},
			map[string][]float64{"loss": {0.125}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, out := opts(t, tc.comp, nil)
			o.Command = tc.cmd(o)
			o.Trial = &Trial{Name: "e-1", Config: tc.cfg}
			if err := Run(context.Background(), o); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			got := readReport(t, o)
			if d := cmp.Diff(tc.want, got.Metrics); d != "" || got.EarlyStopped {
				t.Fatalf("reports (-want +got):\n%s (early stopped %v)", d, got.EarlyStopped)
			}
		})
	}
}

func readReport(t *testing.T, o Options) TaskReport {
	t.Helper()
	rs, err := o.records()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := rs.objects.List(context.Background(), rs.prefix+"tasks/"+o.Trial.Name+"/")
	if err != nil || len(objs) != 1 {
		t.Fatalf("want one task report, found %v (%v)", objs, err)
	}
	var r TaskReport
	if err := rs.get(context.Background(), objs[0].Key, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestTrialMedianStop: with three completed trials on record, a step whose
// loss is far above their median is stopped at start_step and succeeds as
// EarlyStopped; the same step without early stopping runs to its end.
func TestTrialMedianStop(t *testing.T) {
	for _, early := range []bool{true, false} {
		o, out := opts(t, "{}", nil, "sh", "-c", "for i in 1 2 3 4 5 6; do echo loss=50; sleep 0.1; done; echo done > finished")
		rs, err := o.records()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range []float64{1, 2, 3} {
			r := hpo.Record{Name: "e-" + string(rune('1'+i)), State: hpo.Succeeded, Value: v, Metrics: map[string][]float64{"loss": {v + 1, v + 1, v}}}
			if err := rs.put(context.Background(), "trials/"+r.Name+".json", r); err != nil {
				t.Fatal(err)
			}
		}
		o.Trial = &Trial{Name: "e-4", Config: hpo.Config{Objective: "loss", EarlyStop: early, MedianStop: hpo.Settings{"start_step": "2"}}}
		if err := Run(context.Background(), o); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		r := readReport(t, o)
		_, statErr := os.Stat(filepath.Join(o.WorkDir, "finished"))
		if early && (!r.EarlyStopped || len(r.Metrics["loss"]) != 2 || statErr == nil) {
			t.Fatalf("not stopped at step 2: %+v (finished: %v)", r, statErr == nil)
		}
		if !early && (r.EarlyStopped || len(r.Metrics["loss"]) != 6 || statErr != nil) {
			t.Fatalf("stopped without early stopping: %+v", r)
		}
	}
}

// TestSuggestAndObserve walks an experiment's records through its steps:
// suggest creates the trials and the withParam items, observe ends them.
func TestSuggestAndObserve(t *testing.T) {
	o, _ := opts(t, "{}", nil)
	c := hpo.Config{Name: "e", Algorithm: "grid", Objective: "loss", MaxTrials: 3, Parallel: 2,
		Space: hpo.Space{{Name: "x", Type: hpo.Discrete, List: []string{"1", "2", "3"}}}}
	if err := RunSuggest(c, o); err != nil {
		t.Fatal(err)
	}
	var items []map[string]string
	if err := json.Unmarshal([]byte(readOut(t, o, SuggestTrials)), &items); err != nil {
		t.Fatal(err)
	}
	want := []map[string]string{{TrialItem: "e-1", "x": "1"}, {TrialItem: "e-2", "x": "2"}}
	if d := cmp.Diff(want, items); d != "" || readOut(t, o, SuggestDone) != "false" {
		t.Fatalf("items (-want +got):\n%s", d)
	}
	ctx := context.Background()
	rs, _ := o.records()
	report := func(trial string, v float64) {
		if err := rs.put(ctx, "tasks/"+trial+"/train-1.json", TaskReport{Metrics: map[string][]float64{"loss": {v}}}); err != nil {
			t.Fatal(err)
		}
	}
	report("e-1", 0.5)
	report("e-2", 0.25)
	if err := RunObserve(c, "e-1", "Succeeded", o); err != nil {
		t.Fatal(err)
	}
	if err := RunObserve(c, "e-2", "Failed", o); err != nil {
		t.Fatal(err)
	}
	if err := RunSuggest(c, o); err != nil {
		t.Fatal(err)
	}
	records, err := ReadRecords(ctx, rs.objects, o.Pipeline.JobUID)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, r := range records {
		states = append(states, r.Name+" "+string(r.State))
	}
	if d := cmp.Diff([]string{"e-1 Succeeded", "e-2 Failed", "e-3 Running"}, states); d != "" {
		t.Fatal(d)
	}
	report("e-3", 0.1)
	if err := RunObserve(c, "e-3", "Succeeded", o); err != nil {
		t.Fatal(err)
	}
	if err := RunSuggest(c, o); err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatus(ctx, rs.objects, o.Pipeline.JobUID)
	if err != nil {
		t.Fatal(err)
	}
	if readOut(t, o, SuggestDone) != "true" || st.CurrentOptimalTrial.BestTrialName != "e-3" || st.Conditions[len(st.Conditions)-1].Reason != hpo.ReasonMaxTrials {
		t.Fatalf("final status %+v", st)
	}
}
