package launcher

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	artstore "github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/artifact/s3test"
	"github.com/kubeline/kubeline/runtime/hpo"
)

func trialStates(t *testing.T, o Options) []string {
	t.Helper()
	rs, err := o.records()
	if err != nil {
		t.Fatal(err)
	}
	records, err := ReadRecords(context.Background(), rs.objects, o.Pipeline.JobUID)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, r := range records {
		states = append(states, r.Name+" "+string(r.State))
	}
	return states
}

var gridOfThree = hpo.Config{Name: "e", Algorithm: "grid", Objective: "loss", MaxTrials: 3, Parallel: 2,
	Space: hpo.Space{{Name: "x", Type: hpo.Discrete, List: []string{"1", "2", "3"}}}}

// TestSuggestRefusesAnUnobservedTrial: a suggest step that finds a trial
// of an earlier round still Running (its observation was lost) fails
// naming it, creates no trial and leaves the status as it was, instead of
// suggesting from a history where an ended trial is running.
func TestSuggestRefusesAnUnobservedTrial(t *testing.T) {
	o, _ := opts(t, "{}", nil)
	if err := RunSuggest(gridOfThree, o); err != nil {
		t.Fatal(err)
	}
	rs, _ := o.records()
	ctx := context.Background()
	if err := rs.put(ctx, "tasks/e-1/train-1.json", TaskReport{Metrics: map[string][]float64{"loss": {0.5}}}); err != nil {
		t.Fatal(err)
	}
	if err := RunObserve(gridOfThree, "e-1", "Succeeded", o); err != nil {
		t.Fatal(err)
	}
	err := RunSuggest(gridOfThree, o)
	if err == nil || !strings.Contains(err.Error(), "trial e-2 has no observation") {
		t.Fatalf("suggest with e-2 unobserved: %v", err)
	}
	if d := cmp.Diff([]string{"e-1 Succeeded", "e-2 Running"}, trialStates(t, o)); d != "" {
		t.Errorf("trial records (-want +got):\n%s", d)
	}
	st, err := ReadStatus(ctx, rs.objects, o.Pipeline.JobUID)
	if err != nil || st.Trials != 0 {
		t.Errorf("status after the refused suggest: %+v, %v (want the first suggest's, 0 trials)", st, err)
	}
}

// TestObserveWhileTheStoreRestarts: an observe step whose S3 server (a real
// versitygw) is down when it starts still records the trial once the
// server is back, as a pod's observe step must when its first connections
// are dropped (TestParityHPO lost an observation to one dial timeout).
func TestObserveWhileTheStoreRestarts(t *testing.T) {
	gw := s3test.Start(t)
	s3, err := artstore.NewS3(artstore.S3Config{Endpoint: gw.Endpoint, Bucket: "records", AccessKey: gw.Access,
		SecretKey: gw.Secret, Region: gw.Region})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s3.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	o, _ := opts(t, "{}", nil)
	o.Objects = s3
	if err := RunSuggest(gridOfThree, o); err != nil {
		t.Fatal(err)
	}
	rs, _ := o.records()
	for _, trial := range []string{"e-1", "e-2"} {
		if err := rs.put(ctx, "tasks/"+trial+"/train-1.json", TaskReport{Metrics: map[string][]float64{"loss": {0.5}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := RunObserve(gridOfThree, "e-1", "Succeeded", o); err != nil {
		t.Fatal(err)
	}
	gw.Stop()
	done := make(chan error, 1)
	go func() { done <- RunObserve(gridOfThree, "e-2", "Failed", o) }()
	time.Sleep(time.Second)
	gw.Restart()
	if err := <-done; err != nil {
		t.Fatalf("observe while the server restarts: %v", err)
	}
	if d := cmp.Diff([]string{"e-1 Succeeded", "e-2 Failed"}, trialStates(t, o)); d != "" {
		t.Errorf("trial records (-want +got):\n%s", d)
	}
}
