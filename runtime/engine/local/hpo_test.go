package local_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/launcher"
)

// failingPut is a store whose n-th Put of one key fails as a store that
// cannot be reached would. A fault injected in a wrapper, not a real
// outage: it has to hit exactly the observe step's write of one trial
// record, and a real server cannot be stopped that precisely.
type failingPut struct {
	artifact.Store
	key string
	n   int

	mu    sync.Mutex
	calls int
}

func (s *failingPut) Put(ctx context.Context, key string, r io.Reader, size int64) (artifact.Object, error) {
	if strings.HasSuffix(key, s.key) {
		s.mu.Lock()
		s.calls++
		fail := s.calls == s.n
		s.mu.Unlock()
		if fail {
			return artifact.Object{}, fmt.Errorf("put %s: injected: the store could not be reached", key)
		}
	}
	return s.Store.Put(ctx, key, r, size)
}

// TestExperimentStopsOnALostObservation: examples/hpo's trial pipeline in a
// grid experiment of two rounds of two trials, compiled and run on this
// engine, whose observe step of trial grid-2 cannot write the trial's
// record (the suggest step's Put of trials/grid-2.json is the first, the
// observe step's the second). The experiment must end there, failed, with
// the observe step's error — not go on to suggest the next round from a
// history where grid-2 is still Running (TestParityHPO on the real node
// diverged so when a pod's connection to S3 failed: the next round's
// suggestions differed and the final status counted the trial as running).
func TestExperimentStopsOnALostObservation(t *testing.T) {
	dir := t.TempDir()
	experiment := `apiVersion: kubeline.io/v1alpha1
kind: Experiment
metadata: {name: grid}
spec:
  objective: {type: minimize, objectiveMetricName: loss}
  algorithm: {algorithmName: grid}
  parallelTrialCount: 2
  maxTrialCount: 4
  parameters:
  - {name: x, parameterType: discrete, feasibleSpace: {list: ["1", "2", "3", "4"]}}
  trialTemplate:
    pipelineFile: pipeline.yaml
    trialParameters: [{name: x, reference: x}]
    parameters: {x: "${trialParameters.x}", epochs: "1"}
`
	wf, err := compiler.Compile("experiment.yaml", []byte(experiment), compiler.Options{BaseDir: "../../../examples/hpo"})
	if err != nil {
		t.Fatal(err)
	}
	objects := &failingPut{Store: artifact.Dir{Root: dir}, key: "/trials/grid-2.json", n: 2}
	done, logs := runWFWith(t, wf, local.Options{Home: t.TempDir(), Store: objects})

	var suggests []string
	var lost *wfv1.NodeStatus
	for _, n := range done.Status.Nodes {
		if n.Type == wfv1.NodeTypePod && n.TemplateName == "hpo-suggest" {
			suggests = append(suggests, n.Name)
		}
		if n.Type == wfv1.NodeTypePod && n.TemplateName == "hpo-observe" && strings.Contains(n.Name, "grid-2") {
			lost = &n
		}
	}
	// Error here, Failed on Argo (the pod's launcher exits 1): either ends
	// the experiment.
	if !done.Status.Phase.Completed() || done.Status.Phase == wfv1.WorkflowSucceeded || len(suggests) != 1 {
		t.Errorf("the experiment went on after grid-2's observation was lost: phase %s, suggest steps %q\n%s\n%s", done.Status.Phase, suggests, summary(done), logs)
	}
	if lost == nil || !lost.Phase.FailedOrError() || !strings.Contains(lost.Message, "injected: the store could not be reached") {
		t.Errorf("grid-2's observe step: %+v, want Failed with the store's error", lost)
	}
	records, err := launcher.ReadRecords(context.Background(), objects, string(done.UID))
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, r := range records {
		states = append(states, r.Name+" "+string(r.State))
	}
	if d := cmp.Diff([]string{"grid-1 Succeeded", "grid-2 Running"}, states); d != "" {
		t.Errorf("trial records (-want +got):\n%s", d)
	}
}
